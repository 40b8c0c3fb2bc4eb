import { api } from '../api.js';
import { badge, errorBox, fmt, h, label, loading, mount, pager, showFieldErrors, toast } from '../ui.js';

// Mensajes (issue 13 §8): what clients wrote to the bot that was not a command ("no tengo internet
// desde ayer"). Staff answer from here: the answer goes to the client's chat through the send
// queue, at once. A chat linked with the cédula alone is marked: whoever writes may not be the client.

const ESTADOS = ['nuevo', 'respondido', 'archivado'];

export async function render(root, { signal, query, go }) {
  document.title = 'Mensajes — TelTec Notificaciones';
  const estado = ESTADOS.includes(query.get('estado')) ? query.get('estado') : 'nuevo';
  const pagina = Number(query.get('pagina')) || 1;
  const list = h('div', { id: 'mensajes-lista' }, loading());
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
          onclick: () => go('/mensajes', { estado: e }),
        },
        label('mensaje_estado', e),
      ),
    ),
  );
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Mensajes de los clientes'),
      h('p', { class: 'muted' }, 'Lo que escribieron al bot. Su respuesta les llega por el mismo chat.'),
    ),
    tabs,
    list,
  );
  let r;
  try {
    r = await api(`/api/mensajes?estado=${estado}&pagina=${pagina}&por_pagina=30`, { signal });
  } catch (err) {
    mount(list, errorBox(err));
    return;
  }
  const reload = () => go('/mensajes', { estado, pagina }, { replace: true });
  mount(
    list,
    h('p', null, h('strong', { dataset: { cifra: 'mensajes-nuevos' } }, fmt.n(r.nuevos)), ' sin responder.'),
    r.mensajes.length
      ? r.mensajes.map((m) => messageCard(m, reload))
      : h('p', { class: 'muted card', id: 'mensajes-vacio' }, 'No hay mensajes en este estado.'),
    pager({
      pagina,
      porPagina: 30,
      total: r.total,
      onPage: (p) => go('/mensajes', { estado, pagina: p }),
    }),
  );
}

function messageCard(m, reload) {
  const who = m.cliente_id
    ? h('a', { href: `#/clientes/${m.cliente_id}` }, m.cliente ?? `Cliente ${m.cliente_id}`)
    : h('span', null, `Chat ${m.chat_id ?? '—'} (sin vincular)`);
  const warn =
    m.vinculo_verificado === false
      ? h(
          'p',
          { class: 'notice warn' },
          'Chat vinculado solo con la cédula: quien escribe puede no ser el cliente. No comparta datos de la cuenta.',
        )
      : null;
  const answers = m.respuestas.map((a) =>
    h(
      'div',
      { class: 'respuesta', dataset: { respuesta: a.id } },
      h('small', { class: 'muted' }, `${a.autor ?? 'personal'} · ${fmt.dateTime(a.creado_en)} · `),
      a.notificacion_estado ? badge('notif_estado', a.notificacion_estado) : null,
      h('p', null, a.texto),
    ),
  );
  // WhatsApp: answered inside the client's 24-hour window; outside it the API says when it closed.
  const canReply =
    (m.canal === 'telegram' && (m.cliente_id !== null || m.chat_id !== null)) ||
    (m.canal === 'whatsapp' && m.cliente_id !== null);
  const form = canReply
    ? h(
        'form',
        {
          class: 'section',
          async onsubmit(ev) {
            ev.preventDefault();
            const f = ev.target;
            const texto = f.elements.namedItem('texto').value.trim();
            const button = f.querySelector('button[type=submit]');
            button.disabled = true;
            try {
              await api(`/api/mensajes/${m.id}/responder`, { method: 'POST', body: { texto } });
              toast(
                m.canal === 'whatsapp'
                  ? 'Respuesta enviada a la cola: llega al WhatsApp del cliente en segundos.'
                  : 'Respuesta enviada a la cola: llega al chat del cliente en segundos.',
                'ok',
              );
              reload();
            } catch (err) {
              if (!showFieldErrors(f, err)) f.append(errorBox(err));
            } finally {
              button.disabled = false;
            }
          },
        },
        h('textarea', {
          name: 'texto',
          rows: 2,
          required: true,
          maxlength: 4000,
          placeholder: 'Escriba la respuesta…',
          'aria-label': 'Respuesta',
        }),
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'submit', class: 'primary' }, 'Responder'),
          m.estado === 'nuevo'
            ? h(
                'button',
                {
                  type: 'button',
                  async onclick() {
                    try {
                      await api(`/api/mensajes/${m.id}/archivar`, { method: 'POST' });
                      toast('Mensaje archivado.', 'ok');
                      reload();
                    } catch (err) {
                      toast(err.message, 'error');
                    }
                  },
                },
                'Archivar',
              )
            : null,
        ),
      )
    : h('p', { class: 'muted' }, `Llegó por ${m.canal}: responda por teléfono por ahora.`);
  return h(
    'div',
    { class: 'card mensaje', dataset: { id: m.id } },
    h(
      'div',
      { class: 'row' },
      h('strong', null, who),
      h('small', { class: 'muted' }, ` ${fmt.dateTime(m.creado_en)} · ${m.canal} `),
      badge('mensaje_estado', m.estado),
    ),
    warn,
    h('blockquote', null, m.texto),
    answers,
    form,
  );
}
