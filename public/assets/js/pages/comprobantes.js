import { api } from '../api.js';
import {
  badge,
  confirmDialog,
  dataTable,
  errorBox,
  field,
  fmt,
  h,
  label,
  loading,
  mount,
  showFieldErrors,
  toast,
} from '../ui.js';

// Comprobantes (issue 13 §3): receipts clients sent from the chat after "✅ Ya pagué". The image
// or PDF beside the client (amount owed, plan, history); approve (amount, date, bank reference —
// prefilled) registers the payment; reject tells the client why. Below: today's promises to pay.

const ESTADOS = ['pendiente', 'aprobado', 'rechazado'];

export async function render(root, { signal, query, go }) {
  document.title = 'Comprobantes — TelTec Notificaciones';
  const estado = ESTADOS.includes(query.get('estado')) ? query.get('estado') : 'pendiente';
  const selected = Number(query.get('id')) || null;
  const list = h('div', { class: 'card', id: 'comprobantes-lista' }, loading());
  const detail = h(
    'div',
    { class: 'card', id: 'comprobante' },
    h('p', { class: 'muted' }, 'Elija un comprobante.'),
  );
  const promises = h(
    'div',
    { class: 'card', id: 'promesas' },
    h('h2', null, 'Promesas de pago de hoy'),
    loading(),
  );
  const tabs = h(
    'div',
    { class: 'row', role: 'tablist' },
    ESTADOS.map((e) =>
      h(
        'button',
        {
          type: 'button',
          class: e === estado ? 'primary' : '',
          dataset: { estado: e },
          'aria-pressed': String(e === estado),
          onclick: () => go('/comprobantes', { estado: e }),
        },
        label('comprobante_estado', e),
      ),
    ),
  );
  mount(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Comprobantes de pago')),
    tabs,
    h('div', { class: 'grid-2 section' }, list, detail),
    promises,
  );
  renderPromises(promises, signal).catch((err) => mount(promises, errorBox(err)));

  let r;
  try {
    r = await api(`/api/comprobantes?estado=${estado}`, { signal });
  } catch (err) {
    mount(list, errorBox(err));
    return;
  }
  mount(
    list,
    h(
      'p',
      null,
      h('strong', { dataset: { cifra: 'comprobantes-pendientes' } }, fmt.n(r.pendientes)),
      ' por revisar.',
    ),
    r.comprobantes.length
      ? dataTable(
          ['Recibido', 'Cliente', 'Debe', 'Estado'],
          r.comprobantes.map((c) =>
            h(
              'tr',
              {
                dataset: { id: c.id },
                class: c.id === selected ? 'selected' : '',
                style: 'cursor:pointer',
                onclick: () => go('/comprobantes', { estado, id: c.id }),
              },
              h('td', { 'data-label': 'Recibido' }, fmt.dateTime(c.recibido_en)),
              h(
                'td',
                { 'data-label': 'Cliente' },
                h('a', { href: `#/comprobantes?estado=${estado}&id=${c.id}` }, c.nombre),
              ),
              h('td', { 'data-label': 'Debe' }, fmt.money(c.monto_adeudado_hoy ?? c.monto_adeudado)),
              h('td', { 'data-label': 'Estado' }, badge('comprobante_estado', c.estado)),
            ),
          ),
        )
      : h('p', { class: 'muted', id: 'comprobantes-vacio' }, 'No hay comprobantes en este estado.'),
  );
  if (selected)
    await renderDetail(detail, selected, signal, () => go('/comprobantes', { estado }, { replace: true }));
}

async function renderDetail(el, id, signal, reload) {
  mount(el, loading());
  let d;
  try {
    d = await api(`/api/comprobantes/${id}`, { signal });
  } catch (err) {
    mount(el, errorBox(err));
    return;
  }
  const c = d.comprobante;
  const viewer = h('div', { id: 'comprobante-archivo', class: 'section' }, loading('Cargando el archivo…'));
  // The file is served only with authentication: fetched, then shown from a local (blob) URL.
  api(`/api/comprobantes/${id}/archivo`, { signal, raw: true })
    .then((res) => res.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      mount(
        viewer,
        c.tipo_mime === 'application/pdf'
          ? h(
              'a',
              { href: url, target: '_blank', rel: 'noopener', id: 'comprobante-pdf' },
              '📄 Abrir el PDF del comprobante',
            )
          : h('img', {
              src: url,
              alt: `Comprobante de ${c.nombre}`,
              id: 'comprobante-imagen',
              style: 'max-width:100%;max-height:70vh;border:1px solid #ddd',
            }),
      );
    })
    .catch((err) => mount(viewer, errorBox(err)));

  const monto = h('input', {
    name: 'monto',
    type: 'number',
    step: '0.01',
    min: '0.01',
    value: d.sugerido.monto ?? '',
  });
  const fecha = h('input', { name: 'fecha', type: 'date', value: d.sugerido.fecha });
  const referencia = h('input', {
    name: 'referencia',
    type: 'text',
    maxlength: 100,
    value: d.sugerido.referencia ?? '',
  });
  const motivo = h('input', {
    name: 'motivo',
    type: 'text',
    maxlength: 300,
    placeholder: 'Ej.: la foto no se lee',
  });
  const status = h('div', { role: 'status', id: 'comprobante-resultado' });
  const form = h('form', { id: 'comprobante-aprobar', class: 'section' });

  async function approve(confirmar_referencia = false) {
    const body = {
      monto: Number(monto.value),
      fecha: fecha.value,
      referencia: referencia.value.trim() || null,
      ...(confirmar_referencia && { confirmar_referencia: true }),
    };
    try {
      const r = await api(`/api/comprobantes/${id}/aprobar`, { method: 'POST', body });
      toast(r.nuevo ? 'Pago registrado: se avisó al cliente.' : 'Este comprobante ya estaba aprobado.', 'ok');
      reload();
    } catch (err) {
      if (err.code === 'REFERENCIA_DUPLICADA') {
        const ok = await confirmDialog('Referencia repetida', err.message, {
          ok: 'Registrar de todas formas',
        });
        if (ok) return approve(true);
        return;
      }
      if (!showFieldErrors(form, err)) mount(status, errorBox(err));
    }
  }
  async function reject() {
    try {
      await api(`/api/comprobantes/${id}/rechazar`, { method: 'POST', body: { motivo: motivo.value } });
      toast('Comprobante rechazado: se avisó al cliente.', 'ok');
      reload();
    } catch (err) {
      if (!showFieldErrors(form, err)) mount(status, errorBox(err));
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    approve();
  });
  mount(
    form,
    field('Monto', monto, 'Lo que el cliente debe hoy, si no lo cambia'),
    field('Fecha del pago', fecha),
    field('Referencia bancaria', referencia, 'Se avisa si ya está en otro pago'),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary', id: 'btn-aprobar' }, '✅ Aprobar y registrar el pago'),
    ),
    field('Motivo del rechazo (lo lee el cliente)', motivo),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', class: 'danger', id: 'btn-rechazar', onclick: reject }, 'Rechazar'),
    ),
  );

  mount(
    el,
    h('h2', null, `Comprobante n.º ${c.id} `, badge('comprobante_estado', c.estado)),
    h(
      'dl',
      { class: 'kv', id: 'comprobante-cliente' },
      h('dt', null, 'Cliente'),
      h('dd', null, h('a', { href: `#/clientes/${c.cliente_id}` }, c.nombre), ` · ${c.cedula}`),
      h('dt', null, 'Plan'),
      h('dd', null, c.plan ? `${c.plan} (${fmt.money(c.precio)})` : '—'),
      h('dt', null, 'Debe hoy'),
      h('dd', { dataset: { cifra: 'monto-adeudado' } }, fmt.money(c.monto_adeudado_hoy)),
      h('dt', null, 'Vencimiento del período'),
      h('dd', null, fmt.date(c.ciclo)),
      h('dt', null, 'Recibido'),
      h('dd', null, fmt.dateTime(c.recibido_en)),
      c.estado !== 'pendiente' ? h('dt', null, 'Revisado') : null,
      c.estado !== 'pendiente'
        ? h(
            'dd',
            null,
            `${fmt.dateTime(c.revisado_en)} por ${c.revisado_por ?? '—'}` +
              (c.estado === 'aprobado'
                ? ` · ${fmt.money(c.monto)} · ref. ${c.referencia ?? '—'}`
                : ` · ${c.motivo_rechazo}`),
          )
        : null,
    ),
    c.estado === 'pendiente' && c.ciclo && c.vencimiento_hoy && c.vencimiento_hoy > c.ciclo
      ? h(
          'div',
          { class: 'notice warn', id: 'comprobante-ya-pagado' },
          `El período que vencía el ${fmt.date(c.ciclo)} ya figura pagado (ahora vence el ${fmt.date(c.vencimiento_hoy)}). ` +
            'Si este comprobante es de ese pago, rechácelo para no registrarlo dos veces.',
        )
      : null,
    viewer,
    c.estado === 'pendiente' ? form : null,
    status,
    h('h3', null, 'Pagos recientes'),
    d.pagos.length
      ? dataTable(
          ['Fecha', 'Monto', 'Referencia'],
          d.pagos.map((p) =>
            h(
              'tr',
              null,
              h('td', { 'data-label': 'Fecha' }, fmt.date(p.fecha)),
              h('td', { 'data-label': 'Monto' }, fmt.money(p.monto), p.anulado ? ' (anulado)' : ''),
              h('td', { 'data-label': 'Referencia' }, p.referencia ?? '—'),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Sin pagos registrados.'),
    d.otros_comprobantes.length || d.promesas.length
      ? h(
          'p',
          { class: 'small muted' },
          `Otros comprobantes: ${d.otros_comprobantes.map((o) => `${fmt.date(o.recibido_en)} ${label('comprobante_estado', o.estado)}`).join(', ') || 'ninguno'}. ` +
            `Promesas: ${d.promesas.map((p) => `${fmt.date(p.fecha_prometida)} ${label('promesa_estado', p.estado)}`).join(', ') || 'ninguna'}.`,
        )
      : null,
  );
}

async function renderPromises(el, signal) {
  const r = await api('/api/promesas', { signal });
  mount(
    el,
    h('h2', null, 'Promesas de pago de hoy'),
    h(
      'p',
      null,
      'Cumplidas en los últimos 90 días: ',
      h(
        'strong',
        { dataset: { cifra: 'promesas-cumplidas' } },
        fmt.pct(r.tasa_cumplimiento === null ? null : r.tasa_cumplimiento * 100),
      ),
      ` (${fmt.n(r.cumplidas)} cumplidas, ${fmt.n(r.incumplidas)} incumplidas).`,
    ),
    r.promesas.length
      ? dataTable(
          ['Cliente', 'Prometió pagar', 'Estado'],
          r.promesas.map((p) =>
            h(
              'tr',
              { dataset: { id: p.id } },
              h('td', { 'data-label': 'Cliente' }, h('a', { href: `#/clientes/${p.cliente_id}` }, p.nombre)),
              h('td', { 'data-label': 'Prometió pagar' }, fmt.date(p.fecha_prometida)),
              h('td', { 'data-label': 'Estado' }, badge('promesa_estado', p.estado)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nadie prometió pagar hoy.'),
  );
}

/** The client page's card (issue 13): the client's receipts and whether their payment notices pause. */
export function clientReceiptsCard(clientId, signal) {
  const el = h(
    'div',
    { class: 'card', id: 'comprobantes-cliente' },
    h('h2', null, 'Comprobantes y pausas'),
    loading(),
  );
  api(`/api/comprobantes?cliente_id=${clientId}`, { signal })
    .then((r) =>
      mount(
        el,
        h('h2', null, 'Comprobantes y pausas'),
        r.pausas.length
          ? r.pausas.map((p) =>
              h(
                'div',
                { class: 'notice info', dataset: { pausa: p.motivo } },
                `Avisos de pago en pausa hasta el ${fmt.date(p.hasta)}: ${label('pausa_motivo', p.motivo).toLowerCase()}.`,
              ),
            )
          : h('p', { class: 'muted small' }, 'Los avisos de pago no están en pausa.'),
        r.comprobantes.length
          ? h(
              'ul',
              null,
              r.comprobantes.map((c) =>
                h(
                  'li',
                  null,
                  h('a', { href: `#/comprobantes?estado=${c.estado}&id=${c.id}` }, `n.º ${c.id}`),
                  ` · ${fmt.dateTime(c.recibido_en)} · `,
                  badge('comprobante_estado', c.estado),
                ),
              ),
            )
          : h('p', { class: 'muted small' }, 'No ha enviado comprobantes por el chat.'),
      ),
    )
    .catch((err) => {
      if (err?.name !== 'AbortError') mount(el, errorBox(err));
    });
  return el;
}
