import { api, qs } from '../api.js';
import { badge, dataTable, dueIn, errorBox, fmt, h, label, loading, mount } from '../ui.js';

// Hoja de llamadas: every due or overdue client no channel reaches (no working Telegram, no
// WhatsApp with consent), the very list Resumen counts (same API, same order: overdue first,
// longest first), ready to print and call.

const PAGE = 500; // the API's largest page

export async function render(root, { signal }) {
  document.title = 'Hoja de llamadas — TelTec Notificaciones';
  const box = h('div', { id: 'hoja-llamadas' }, loading());
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        h('a', { href: '#/', class: 'small no-print' }, '← Resumen'),
        h('h1', null, 'Hoja de llamadas'),
      ),
      h(
        'button',
        { type: 'button', class: 'primary no-print', id: 'imprimir', onclick: () => window.print() },
        'Imprimir',
      ),
    ),
    h('div', { class: 'card call-sheet' }, box),
  );
  let all;
  let ajustes;
  try {
    [all, ajustes] = await Promise.all([fetchAll(signal), api('/api/ajustes', { signal }).catch(() => null)]);
  } catch (err) {
    mount(box, errorBox(err));
    return;
  }
  const today = ajustes?.ahora ? fmt.date(ajustes.ahora.slice(0, 10)) : null;
  mount(
    box,
    h(
      'p',
      null,
      h('strong', { dataset: { cifra: 'llamadas', valor: all.total } }, fmt.n(all.total)),
      ' clientes por vencer o vencidos a los que no llega Telegram ni WhatsApp',
      today ? ` (al ${today})` : '',
      '. Vencidos primero, los más antiguos arriba.',
    ),
    all.clientes.length
      ? dataTable(
          ['Cliente', 'Teléfono', 'Sector', 'Plan', 'Vence', 'Pago', 'Por qué', 'Resultado de la llamada'],
          all.clientes.map((c) =>
            h(
              'tr',
              { dataset: { id: c.id } },
              h(
                'td',
                { class: 'primary-cell', 'data-label': 'Cliente' },
                h('a', { href: `#/clientes/${c.id}` }, c.nombre),
              ),
              h('td', { class: 'mono', 'data-label': 'Teléfono' }, c.telefono ?? 'sin teléfono'),
              h('td', { 'data-label': 'Sector' }, c.sector ?? '—'),
              h('td', { 'data-label': 'Plan' }, c.plan ?? '—'),
              h('td', { 'data-label': 'Vence' }, fmt.date(c.fecha_vencimiento)),
              h(
                'td',
                { 'data-label': 'Pago' },
                badge('estado_pago', c.estado_pago),
                ' ',
                h('span', { class: 'small muted' }, dueIn(c)),
              ),
              h('td', { 'data-label': 'Por qué' }, label('motivo_inalcanzable', c.motivo)),
              h('td', { class: 'write-in', 'data-label': 'Resultado' }),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Ninguno. ¡Bien!'),
  );
}

/** Every page of the list (a call sheet is the whole list, not its first page). */
async function fetchAll(signal) {
  const first = await api(`/api/notificaciones/sin-telegram/${qs({ por_pagina: PAGE })}`, { signal });
  const clientes = [...first.clientes];
  for (let pagina = 2; clientes.length < first.total; pagina++) {
    const r = await api(`/api/notificaciones/sin-telegram/${qs({ por_pagina: PAGE, pagina })}`, { signal });
    if (r.clientes.length === 0) break;
    clientes.push(...r.clientes);
  }
  return { total: first.total, clientes };
}
