import { api } from '../api.js';
import { dataTable, errorBox, fmt, h, loading, mount } from '../ui.js';

// Alertas para el personal (issue 15 §5): the incidents (open first), the staff chats that
// receive them, and a one-time code to link one more chat (/staff CÓDIGO in the bot).

export async function render(root, { signal }) {
  document.title = 'Alertas — TelTec Notificaciones';
  const list = h('div', { id: 'alertas-lista' }, loading());
  const chats = h('div', { id: 'alertas-chats' });
  const code = h('div', { id: 'alertas-codigo', role: 'status' });
  const button = h('button', { type: 'button', class: 'primary', id: 'alertas-generar' }, 'Generar código');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const r = await api('/api/alertas/codigo', { method: 'POST', body: {} });
      mount(
        code,
        h(
          'div',
          { class: 'notice ok' },
          h('strong', { class: 'mono', dataset: { codigo: r.codigo } }, r.codigo),
          ` — ${r.instrucciones}. Vence a las ${fmt.time(r.expira_en)}.`,
        ),
      );
    } catch (err) {
      mount(code, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  mount(
    root,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Alertas para el personal'))),
    h('div', { class: 'card' }, list),
    h(
      'div',
      { class: 'card' },
      h('h2', null, 'Chats que reciben las alertas'),
      chats,
      h(
        'p',
        { class: 'small muted' },
        'Para agregar un chat: genere un código y envíelo al bot desde ese chat.',
      ),
      button,
      code,
      h('p', { class: 'small muted' }, 'Las alertas por correo electrónico aún no están disponibles.'),
    ),
  );
  let r;
  try {
    r = await api('/api/alertas', { signal });
  } catch (err) {
    mount(list, errorBox(err));
    return;
  }
  mount(
    list,
    h(
      'p',
      null,
      h('strong', { dataset: { cifra: 'alertas-activas' } }, fmt.n(r.activas)),
      ' alertas abiertas.',
    ),
    r.alertas.length
      ? dataTable(
          ['Estado', 'Alerta', 'Desde', 'Resuelta', 'Avisos'],
          r.alertas.map((a) =>
            h(
              'tr',
              { dataset: { clave: a.clave, estado: a.estado } },
              h(
                'td',
                { 'data-label': 'Estado' },
                h(
                  'span',
                  { class: `badge ${a.estado === 'activa' ? 'bad' : 'ok'}` },
                  a.estado === 'activa' ? 'Abierta' : 'Resuelta',
                ),
              ),
              h(
                'td',
                { class: 'primary-cell', 'data-label': 'Alerta' },
                h('strong', null, a.titulo),
                h('div', { class: 'small' }, a.detalle),
              ),
              h('td', { 'data-label': 'Desde' }, fmt.dateTime(a.abierta_en)),
              h('td', { 'data-label': 'Resuelta' }, fmt.dateTime(a.resuelta_en)),
              h('td', { 'data-label': 'Avisos' }, fmt.n(a.avisos)),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Ninguna alerta todavía.'),
  );
  mount(
    chats,
    r.chats_personal.length
      ? h(
          'ul',
          null,
          ...r.chats_personal.map((c) =>
            h(
              'li',
              null,
              `${c.nombre || 'Sin nombre'} (chat ${c.chat_id}), desde ${fmt.dateTime(c.vinculado_en)}`,
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Ningún chat vinculado: las alertas solo se ven aquí.'),
  );
}
