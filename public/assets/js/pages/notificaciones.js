import { api, qs } from '../api.js';
import {
  badge,
  dataTable,
  deliveryMark,
  errorBox,
  fmt,
  h,
  label,
  loading,
  mount,
  options,
  pager,
  select,
  sendWait,
  toast,
} from '../ui.js';

// Notificaciones: the outbox, filtered by state, type, client, campaign and dates; each row opens to
// the exact text and the last error, and each attempt on a channel (✓ enviado, ✓✓ entregado,
// leído); a failed one can be retried, a pending one cancelled.

const LIST = '/api/notificaciones/';
const POR_PAGINA = 25;

export async function render(root, { query, signal }) {
  document.title = 'Notificaciones — TelTec Notificaciones';
  const wanted = ['estado', 'tipo', 'motivo', 'cliente_id', 'campana_id', 'desde', 'hasta'];
  const state = { pagina: Number(query.get('pagina')) || 1 };
  for (const k of wanted) state[k] = query.get(k) ?? '';
  const box = h('div', { id: 'tabla-notificaciones' }, loading());
  const controls = {
    estado: select('estado', options('notif_estado'), state.estado, 'Todos los estados'),
    tipo: select('tipo', options('tipo'), state.tipo, 'Todos los tipos'),
    motivo: select('motivo', options('motivo'), state.motivo, 'Cualquier motivo'),
    campana_id: h('input', {
      type: 'number',
      name: 'campana_id',
      min: 1,
      value: state.campana_id,
      placeholder: 'Nº',
    }),
    desde: h('input', { type: 'date', name: 'desde', value: state.desde }),
    hasta: h('input', { type: 'date', name: 'hasta', value: state.hasta }),
  };
  const labels = {
    estado: 'Estado',
    tipo: 'Tipo',
    motivo: 'Motivo',
    campana_id: 'Campaña',
    desde: 'Desde',
    hasta: 'Hasta',
  };
  mount(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Notificaciones')),
    h(
      'form',
      { class: 'card filters', onsubmit: (e) => e.preventDefault() },
      Object.entries(controls).map(([k, el]) => {
        el.id = `n-${k}`;
        return h('div', { class: 'field' }, h('label', { for: el.id }, labels[k]), el);
      }),
      state.cliente_id
        ? h(
            'div',
            { class: 'field' },
            h('label', null, 'Cliente'),
            h('a', { href: `#/clientes/${state.cliente_id}` }, `Nº ${state.cliente_id}`),
            ' ',
            h('a', { href: '#/notificaciones', class: 'small' }, 'quitar'),
          )
        : null,
    ),
    h('div', { class: 'card' }, box),
  );

  // The service's clock and send window: when a pending notice really goes out.
  const settings = api('/api/ajustes', { signal }).catch(() => null);
  let seq = 0;
  const load = async () => {
    const my = ++seq;
    const keep = {};
    for (const k of wanted) if (state[k]) keep[k] = state[k];
    history.replaceState(
      null,
      '',
      `#/notificaciones${qs({ ...keep, pagina: state.pagina > 1 ? state.pagina : '' })}`,
    );
    try {
      const r = await api(`${LIST}${qs({ ...keep, pagina: state.pagina, por_pagina: POR_PAGINA })}`, {
        signal,
      });
      const s = await settings;
      if (my !== seq) return;
      mount(box, list(r, state, load, s));
    } catch (err) {
      if (err?.name !== 'AbortError') mount(box, errorBox(err));
    }
  };
  for (const [k, el] of Object.entries(controls)) {
    el.addEventListener('change', () => {
      state[k] = el.value;
      state.pagina = 1;
      load();
    });
  }
  await load();
}

function list(r, state, reload, settings) {
  if (r.total === 0)
    return h('p', { class: 'muted', dataset: { total: 0 } }, 'No hay notificaciones con estos filtros.');
  const rows = [];
  for (const n of r.notificaciones) {
    const detail = h(
      'tr',
      { class: 'detail', hidden: true },
      h('td', { colspan: 6 }, detailView(n, reload, settings)),
    );
    rows.push(
      h(
        'tr',
        {
          class: 'clickable',
          dataset: { id: n.id, estado: n.estado },
          onclick: () => {
            detail.hidden = !detail.hidden;
            if (!detail.hidden) loadAttempts(detail, n);
          },
        },
        h('td', { 'data-label': 'Creada' }, fmt.dateTime(n.creado_en)),
        h('td', { class: 'primary-cell', 'data-label': 'Cliente' }, n.cliente_nombre ?? '—'),
        h(
          'td',
          { 'data-label': 'Tipo' },
          label('tipo', n.tipo),
          n.urgente ? [' ', h('span', { class: 'badge warn' }, 'urgente')] : null,
        ),
        h(
          'td',
          { 'data-label': 'Estado' },
          badge('notif_estado', n.estado),
          n.canal
            ? h(
                'span',
                { class: 'small muted canal', dataset: { canal: n.canal } },
                ` ${label('canal', n.canal)}`,
              )
            : null,
        ),
        h('td', { class: 'num', 'data-label': 'Intentos' }, n.intentos),
        h('td', { 'data-label': 'Enviada' }, fmt.dateTime(n.enviado_en)),
      ),
      detail,
    );
  }
  return h(
    'div',
    null,
    dataTable(['Creada', 'Cliente', 'Tipo', 'Estado', 'Intentos', 'Enviada'], rows),
    pager({
      pagina: state.pagina,
      porPagina: POR_PAGINA,
      total: r.total,
      onPage: (p) => {
        state.pagina = p;
        reload();
      },
    }),
  );
}

/** When a pending notice goes out, said from the service's clock (never a time already past). */
function nextAttempt(n, settings) {
  if (n.estado !== 'pendiente') return '—';
  const wait = sendWait(settings, n);
  if (wait) return wait;
  if (settings?.ahora && n.proximo_intento > settings.ahora) return `a las ${fmt.time(n.proximo_intento)}`;
  return 'en cola: sale en cuanto le toque';
}

/** The notice's attempts (`envios` of GET /api/notificaciones/{id}/), loaded when the row opens. */
async function loadAttempts(detail, n) {
  const box = detail.querySelector('.envios');
  if (!box || box.dataset.cargado) return;
  box.dataset.cargado = '1';
  try {
    const full = await api(`/api/notificaciones/${n.id}/`);
    // A service without attempts per channel answers no `envios`: then there is nothing to show.
    if (!full.envios) {
      box.previousElementSibling?.remove();
      box.remove();
      return;
    }
    mount(box, attemptsView(full.envios));
  } catch (err) {
    delete box.dataset.cargado;
    mount(box, errorBox(err));
  }
}

const at = (e, k) => e[`${k}_en`] ?? e[`${k}_at`] ?? null;

/** One line per attempt: channel, ✓/✓✓/leído, when each step happened, the provider's error. */
function attemptsView(envios) {
  if (envios.length === 0)
    return h('p', { class: 'small muted' }, 'Aún no se ha intentado por ningún canal.');
  return h(
    'table',
    { class: 'small envios-tabla' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Canal', 'Estado', 'Enviado', 'Entregado', 'Leído', 'Error'].map((t) => h('th', null, t)),
      ),
    ),
    h(
      'tbody',
      null,
      envios.map((e) =>
        h(
          'tr',
          { dataset: { canal: e.canal, estado: e.estado } },
          h('td', null, label('canal', e.canal)),
          h('td', null, deliveryMark(e.estado)),
          h('td', null, fmt.dateTime(at(e, 'enviado'))),
          h('td', null, fmt.dateTime(at(e, 'entregado'))),
          h('td', null, fmt.dateTime(at(e, 'leido'))),
          h(
            'td',
            { class: 'muted' },
            e.error ? `${e.error_codigo ? `${e.error_codigo}: ` : ''}${e.error}` : '—',
          ),
        ),
      ),
    ),
  );
}

function detailView(n, reload, settings) {
  const act = async (action, verb) => {
    try {
      await api(`/api/notificaciones/${n.id}/${action}/`, { method: 'POST', body: {} });
      toast(`Notificación ${verb}.`, 'ok');
      reload();
    } catch (err) {
      toast(err.message, 'bad');
    }
  };
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'message-text', dataset: { mensaje: '' } },
      n.mensaje ?? 'El texto se escribe con la plantilla en el momento de enviar.',
    ),
    h(
      'dl',
      { class: 'kv small' },
      n.ultimo_error
        ? [h('dt', null, 'Último error'), h('dd', { class: 'ultimo-error' }, n.ultimo_error)]
        : null,
      n.motivo ? [h('dt', null, 'Motivo'), h('dd', null, label('motivo', n.motivo))] : null,
      h('dt', null, 'Sale'),
      h('dd', { class: 'proximo-intento' }, nextAttempt(n, settings)),
      n.campana_id
        ? [
            h('dt', null, 'Campaña'),
            h('dd', null, h('a', { href: `#/campanas/${n.campana_id}` }, `Nº ${n.campana_id}`)),
          ]
        : null,
      n.telegram_message_id
        ? [h('dt', null, 'Mensaje de Telegram'), h('dd', { class: 'mono' }, n.telegram_message_id)]
        : null,
    ),
    h('h3', { class: 'small' }, 'Envíos por canal'),
    h('div', { class: 'envios' }, loading()),
    h(
      'div',
      { class: 'row' },
      n.estado === 'fallido'
        ? h(
            'button',
            { class: 'small primary', onclick: () => act('reintentar', 'reintentada') },
            'Reintentar',
          )
        : null,
      n.estado === 'pendiente'
        ? h(
            'button',
            { class: 'small danger', onclick: () => act('cancelar', 'cancelada') },
            'Cancelar envío',
          )
        : null,
    ),
  );
}
