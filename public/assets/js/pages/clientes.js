import { api, download, qs } from '../api.js';
import {
  badge,
  dataTable,
  debounce,
  errorBox,
  fmt,
  h,
  loading,
  mount,
  options,
  pager,
  select,
  telegramBadge,
  toast,
} from '../ui.js';

// Clientes: server-side search, filters and pagination (the table stays fast with 100,000 clients:
// only one page ever travels). The filters live in the URL hash, so a view can be bookmarked.

const FILTERS = ['buscar', 'plan', 'sector', 'estado', 'estado_pago', 'telegram'];
const POR_PAGINA = 25;

export async function render(root, { query, signal }) {
  document.title = 'Clientes — TelTec Notificaciones';
  const state = { pagina: Number(query.get('pagina')) || 1 };
  for (const k of FILTERS) state[k] = query.get(k) ?? '';

  const tableBox = h('div', { id: 'tabla-clientes' }, loading());
  const exportBtn = h('button', { type: 'button', onclick: () => exportCsv(state) }, 'Exportar CSV');
  const form = h('form', { class: 'filters card', role: 'search', onsubmit: (e) => e.preventDefault() });
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Clientes'),
      h(
        'div',
        { class: 'row' },
        h('a', { class: 'btn', href: '#/clientes/importar' }, 'Importar CSV'),
        h('a', { class: 'btn', href: '#/clientes/invitaciones' }, 'Invitaciones'),
        exportBtn,
        h('a', { class: 'btn primary', href: '#/clientes/nuevo' }, 'Nuevo cliente'),
      ),
    ),
    form,
    h('div', { class: 'card' }, tableBox),
  );

  const [planes, sectores] = await Promise.all([
    api('/api/planes', { signal }).catch(() => ({ planes: [] })),
    api('/api/sectores', { signal }).catch(() => ({ sectores: [] })),
  ]);
  const planList = Array.isArray(planes) ? planes : (planes.planes ?? []);

  const search = h('input', {
    type: 'search',
    name: 'buscar',
    value: state.buscar,
    placeholder: 'Nombre, cédula o teléfono',
    autocomplete: 'off',
    'aria-label': 'Buscar',
  });
  const controls = {
    plan: select(
      'plan',
      planList.map((p) => [p.nombre, p.nombre]),
      state.plan,
      'Todos los planes',
    ),
    sector: select(
      'sector',
      sectores.sectores.map((s) => [s.nombre, `${s.nombre} (${fmt.n(s.clientes)})`]),
      state.sector,
      'Todos los sectores',
    ),
    estado: select('estado', options('estado'), state.estado, 'Todos los estados'),
    estado_pago: select('estado_pago', options('estado_pago'), state.estado_pago, 'Cualquier pago'),
    telegram: select(
      'telegram',
      [
        ['si', 'Vinculados'],
        ['no', 'Sin vincular'],
      ],
      state.telegram,
      'Con y sin Telegram',
    ),
  };
  mount(
    form,
    h(
      'div',
      { class: 'field wide' },
      h('label', { for: 'f-buscar' }, 'Buscar'),
      Object.assign(search, { id: 'f-buscar' }),
    ),
    Object.entries(controls).map(([k, el]) => {
      el.id = `f-${k}`;
      return h('div', { class: 'field' }, h('label', { for: el.id }, filterLabel[k]), el);
    }),
  );

  let seq = 0;
  let inflight;
  const load = async () => {
    const my = ++seq;
    inflight?.abort();
    inflight = new AbortController();
    const keep = {};
    for (const k of FILTERS) if (state[k]) keep[k] = state[k];
    if (state.pagina > 1) keep.pagina = state.pagina;
    history.replaceState(null, '', `#/clientes${qs(keep)}`);
    tableBox.setAttribute('aria-busy', 'true');
    try {
      const r = await api(`/api/clientes${qs({ ...keep, pagina: state.pagina, por_pagina: POR_PAGINA })}`, {
        signal: AbortSignal.any([signal, inflight.signal]),
      });
      if (my !== seq) return;
      mount(tableBox, table(r, state, load));
    } catch (err) {
      if (err?.name === 'AbortError') return;
      mount(tableBox, errorBox(err));
    } finally {
      if (my === seq) tableBox.removeAttribute('aria-busy');
    }
  };

  const onFilter = () => {
    state.pagina = 1;
    load();
  };
  search.addEventListener(
    'input',
    debounce(() => {
      state.buscar = search.value.trim();
      onFilter();
    }, 250),
  );
  for (const [k, el] of Object.entries(controls)) {
    el.addEventListener('change', () => {
      state[k] = el.value;
      onFilter();
    });
  }
  await load();
}

const filterLabel = {
  plan: 'Plan',
  sector: 'Sector',
  estado: 'Estado',
  estado_pago: 'Pago',
  telegram: 'Telegram',
};

function table(r, state, reload) {
  if (r.total === 0) {
    return h(
      'div',
      { class: 'muted', dataset: { total: 0 } },
      'Ningún cliente coincide. ',
      h('a', { href: '#/clientes/importar' }, 'Importe un CSV'),
      ' o cree uno nuevo.',
    );
  }
  const open = (id) => {
    location.hash = `#/clientes/${id}`;
  };
  return h(
    'div',
    null,
    dataTable(
      ['Nombre', 'Cédula', 'Plan', 'Sector', 'Pago', 'Vence', 'Telegram'],
      r.clientes.map((c) =>
        h(
          'tr',
          { class: 'clickable', dataset: { id: c.id, cedula: c.cedula }, onclick: () => open(c.id) },
          h(
            'td',
            { class: 'primary-cell', 'data-label': 'Nombre' },
            h('a', { href: `#/clientes/${c.id}`, onclick: (e) => e.stopPropagation() }, c.nombre),
          ),
          h('td', { class: 'mono', 'data-label': 'Cédula' }, c.cedula),
          h('td', { 'data-label': 'Plan' }, c.plan ?? '—'),
          h('td', { 'data-label': 'Sector' }, c.sector ?? '—'),
          h(
            'td',
            { 'data-label': 'Pago' },
            h(
              'span',
              null,
              badge('estado_pago', c.estado_pago),
              c.estado !== 'activo' ? [' ', badge('estado', c.estado)] : null,
            ),
          ),
          h('td', { 'data-label': 'Vence' }, fmt.date(c.fecha_vencimiento)),
          h('td', { 'data-label': 'Telegram', dataset: { telegram: '' } }, telegramBadge(c.telegram)),
        ),
      ),
    ),
    pager({
      pagina: r.pagina,
      porPagina: r.por_pagina,
      total: r.total,
      onPage: (p) => {
        state.pagina = p;
        reload();
        window.scrollTo({ top: 0 });
      },
    }),
  );
}

async function exportCsv(state) {
  const keep = {};
  for (const k of FILTERS) if (state[k]) keep[k] = state[k];
  try {
    await download(`/api/clientes/exportar${qs(keep)}`, 'clientes.csv');
  } catch (err) {
    toast(err.message, 'bad');
  }
}
