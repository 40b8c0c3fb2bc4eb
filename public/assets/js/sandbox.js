import { api, qs, session } from './api.js';
import { loginForm } from './login.js';
import { debounce, field, fmt, h, mount, timeFmt, toast } from './ui.js';

// The sandbox chat: a person plays a client of TelTec in a Telegram simulated inside the service,
// and (issue 10) on a WhatsApp phone beside it, powered by the Cloud API stand-in. Messages go
// through /api/sandbox/chats/<chat>/… and /api/sandbox/whatsapp/<number>/… (admin token), replies
// arrive by long polling.

const view = document.getElementById('view');
const salir = document.getElementById('salir');
const CHAT_KEY = 'teltec.sandbox.chat';
const PERSONA_KEY = 'teltec.sandbox.persona';
const WA_KEY = 'teltec.sandbox.whatsapp';

salir.addEventListener('click', () => {
  session.clear();
  start();
});
window.addEventListener('teltec:sesion-terminada', () => start());

let stopPolling = () => {};

function newChatId() {
  // 15 digits starting with 8: never a real Telegram user, and distinct from the demo clients (9…).
  return 800_000_000_000_000 + Math.floor(Math.random() * 1_000_000_000);
}

function persona() {
  try {
    return JSON.parse(sessionStorage.getItem(PERSONA_KEY) ?? '') ?? {};
  } catch {
    return {};
  }
}
function savePersona(p) {
  sessionStorage.setItem(PERSONA_KEY, JSON.stringify(p));
}

async function start() {
  stopPolling();
  if (!session.token) {
    salir.hidden = true;
    mount(view, loginForm(start));
    return;
  }
  salir.hidden = false;
  let status;
  try {
    status = await api('/api/sandbox');
  } catch (err) {
    if (err.status !== 401) mount(view, h('div', { class: 'notice bad' }, err.message));
    return;
  }
  if (!status.activo) {
    mount(
      view,
      h(
        'div',
        { class: 'card' },
        h('h1', null, 'El sandbox no está activo'),
        h(
          'p',
          null,
          'Este servicio usa un bot de Telegram real (TELEGRAM_BOT_TOKEN), así que no hay chat de prueba: escriba al bot desde Telegram.',
        ),
        h('a', { href: '/#/' }, 'Volver a la administración'),
      ),
    );
    return;
  }
  let chatId = Number(sessionStorage.getItem(CHAT_KEY));
  if (!chatId) {
    chatId = newChatId();
    sessionStorage.setItem(CHAT_KEY, String(chatId));
  }
  renderPage(status.bot, chatId, status.whatsapp, status.sms || status.correo);
}

function renderPage(bot, initialChat, withWhatsApp, withInboxes) {
  let chatId = initialChat;
  let version = -1;
  const p = persona();
  const messages = h('div', { class: 'messages', id: 'mensajes', role: 'log', 'aria-live': 'polite' });
  const replyKb = h('div', { class: 'reply-kb', id: 'teclado', hidden: true });
  const input = h('input', {
    type: 'text',
    name: 'texto',
    id: 'texto',
    placeholder: 'Mensaje',
    autocomplete: 'off',
    'aria-label': 'Mensaje',
  });
  const nameInput = h('input', {
    type: 'text',
    name: 'nombre',
    value: p.nombre ?? 'Cliente de prueba',
    maxlength: 64,
  });
  const phoneInput = h('input', {
    type: 'tel',
    name: 'telefono',
    id: 'mi-telefono',
    value: p.telefono ?? '',
    placeholder: '0987654321',
  });
  const chatLabel = h('span', { class: 'mono', id: 'chat-id' }, String(chatId));
  const remember = () => savePersona({ nombre: nameInput.value, telefono: phoneInput.value });
  nameInput.addEventListener('change', remember);
  phoneInput.addEventListener('change', remember);

  const act = async (path, body) => {
    try {
      const conv = await api(`/api/sandbox/chats/${chatId}/${path}`, {
        method: 'POST',
        body: { ...body, nombre: nameInput.value || undefined },
      });
      show(conv);
    } catch (err) {
      toast(err.message, 'bad');
    }
  };
  const sendText = (text) => act('mensajes', { texto: text });
  const shareContact = () => {
    const tel = phoneInput.value.trim();
    if (!tel) {
      toast('Escriba primero su número en «Su teléfono» (panel de la derecha).', 'bad');
      phoneInput.focus();
      return;
    }
    act('contacto', { telefono: tel });
  };

  // Issue 13: a receipt photo or PDF, sent as the client.
  const fileInput = h('input', {
    type: 'file',
    id: 'archivo',
    accept: 'image/*,application/pdf',
    hidden: true,
    onchange: () => {
      const f = fileInput.files?.[0];
      fileInput.value = '';
      if (!f) return;
      if (f.size > 3 * 1024 * 1024) {
        toast('En el sandbox el archivo puede pesar hasta 3 MB.', 'bad');
        return;
      }
      const reader = new FileReader();
      reader.onload = () => {
        const base64 = String(reader.result).split(',')[1] ?? '';
        act('archivo', {
          nombre_archivo: f.name,
          tipo: f.type || 'application/octet-stream',
          contenido_base64: base64,
        });
      };
      reader.readAsDataURL(f);
    },
  });

  const composer = h(
    'form',
    {
      class: 'composer',
      id: 'composer',
      onsubmit(e) {
        e.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        input.value = '';
        sendText(text);
      },
    },
    fileInput,
    h(
      'button',
      {
        type: 'button',
        id: 'adjuntar',
        title: 'Enviar una foto o un PDF (por ejemplo, el comprobante de pago)',
        'aria-label': 'Adjuntar',
        onclick: () => fileInput.click(),
      },
      '📎',
    ),
    input,
    h('button', { type: 'submit', class: 'primary', 'aria-label': 'Enviar' }, 'Enviar'),
  );

  const phone = h(
    'section',
    { class: 'phone', 'aria-label': 'Chat con el bot' },
    h(
      'div',
      { class: 'phone-head' },
      h('div', { class: 'avatar' }, 'T'),
      h(
        'div',
        { class: 'who' },
        h('strong', null, bot.nombre),
        h('br'),
        h('small', null, `@${bot.username} · bot`),
      ),
    ),
    messages,
    replyKb,
    composer,
  );

  let refreshLists = () => {};
  function show(conv) {
    if (conv.chat_id !== chatId || conv.version === version) return;
    const first = version < 0;
    version = conv.version;
    if (!first) refreshLists();
    mount(
      messages,
      conv.mensajes.length === 0
        ? h('div', { class: 'system-line' }, 'Escriba /start para empezar.')
        : conv.mensajes.map((m) => bubble(m, (data) => act('botones', { data, message_id: m.message_id }))),
    );
    if (conv.teclado?.length) {
      replyKb.hidden = false;
      mount(
        replyKb,
        conv.teclado.map((row) =>
          h(
            'div',
            { class: 'kb-row' },
            row.map((b) =>
              h(
                'button',
                {
                  type: 'button',
                  class: b.contacto ? 'contact' : '',
                  dataset: { contacto: b.contacto ? '1' : '' },
                  onclick: () => (b.contacto ? shareContact() : sendText(b.texto)),
                },
                b.contacto ? `📞 ${b.texto}` : b.texto,
              ),
            ),
          ),
        ),
      );
    } else {
      replyKb.hidden = true;
      replyKb.replaceChildren();
    }
    messages.scrollTop = messages.scrollHeight;
  }

  // Long polling: the server answers when the chat changes, or after 20 s with nothing new.
  let stopped = false;
  let round = new AbortController();
  const controller = new AbortController();
  stopPolling = () => {
    stopped = true;
    controller.abort();
  };
  (async () => {
    while (!stopped) {
      const current = chatId;
      round = new AbortController();
      const wait = version < 0 ? 0 : 20;
      try {
        const conv = await api(
          `/api/sandbox/chats/${current}${qs({ version: wait ? version : '', esperar: wait })}`,
          {
            signal: AbortSignal.any([controller.signal, round.signal]),
          },
        );
        if (current === chatId) show(conv);
      } catch (err) {
        if (stopped || err?.status === 401) return;
        if (err?.name === 'AbortError') continue;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();

  const switchChat = (id, who) => {
    chatId = id;
    version = -1;
    chatLabel.textContent = String(id);
    sessionStorage.setItem(CHAT_KEY, String(id));
    if (who) {
      nameInput.value = who.nombre;
      phoneInput.value = who.telefono ?? '';
      remember();
    }
    mount(messages, h('div', { class: 'system-line' }, 'Cargando…'));
    // Wake the poll: it is waiting on the old chat.
    round.abort();
  };

  // Issue 11 §7: the SMS inbox and mailbox of the client being played.
  const boxes = withInboxes ? clientInboxes(controller.signal) : null;
  const guide = h(
    'div',
    null,
    h(
      'div',
      { class: 'card' },
      h('h2', null, 'Usted es un cliente'),
      h(
        'ol',
        { class: 'small' },
        h('li', null, 'Escriba ', h('code', null, '/start'), '.'),
        h('li', null, 'Envíe la cédula de un cliente de prueba (lista de abajo).'),
        h('li', null, 'Si el bot lo pide, toque «Compartir contacto»: se envía el número de «Su teléfono».'),
        h(
          'li',
          null,
          'Pruebe ',
          h('code', null, '/status'),
          ', ',
          h('code', null, '/preferencias'),
          ', ',
          h('code', null, '/contact'),
          ' y los botones.',
        ),
        h(
          'li',
          null,
          'En la administración, el cliente aparece como «Vinculado»; las campañas y avisos llegan aquí.',
        ),
        h(
          'li',
          null,
          'En el teléfono de WhatsApp (si está), escriba Hola desde el número de un cliente: SI acepta los avisos por WhatsApp; ESTADO, MIS DATOS y BAJA también funcionan.',
        ),
        withInboxes
          ? h(
              'li',
              null,
              'Quien no tiene Telegram ni WhatsApp recibe sus avisos por SMS o por correo: vea lo que le llegó en «SMS y correo del cliente».',
            )
          : null,
      ),
      h(
        'div',
        { class: 'form-grid' },
        field('Su nombre en Telegram', nameInput),
        field('Su teléfono', phoneInput, 'El que se comparte con «Compartir contacto»'),
      ),
      h(
        'p',
        { class: 'small muted' },
        'Chat nº ',
        chatLabel,
        ' · ',
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => switchChat(newChatId(), { nombre: 'Cliente de prueba', telefono: '' }),
          },
          'Empezar otro chat',
        ),
      ),
    ),
    boxes?.el ?? null,
    h(
      'div',
      { class: 'card', id: 'clientes-prueba' },
      h('h2', null, 'Clientes de prueba sin Telegram'),
      h('div', { class: 'loading' }, 'Cargando…'),
    ),
    h(
      'div',
      { class: 'card', id: 'clientes-vinculados' },
      h('h2', null, 'Chats de clientes ya vinculados'),
      h('div', { class: 'loading' }, 'Cargando…'),
    ),
    h('div', { class: 'card', id: 'motor' }, h('h2', null, 'Hacer que lleguen avisos'), engineButtons()),
  );

  const wa = withWhatsApp ? whatsappPhone(controller.signal) : null;
  mount(view, h('div', { class: `sandbox-layout${wa ? ' two-phones' : ''}` }, phone, wa?.el ?? null, guide));
  // On a phone the on-screen keyboard would cover the chat: focus only on wide screens.
  if (matchMedia('(min-width: 821px)').matches) input.focus({ preventScroll: true });

  // Who to play: unlinked clients (to register) and linked ones (to watch their notices arrive).
  // Refreshed when the conversation changes: a client who just linked moves from one list to the other.
  const loadLists = () => {
    api(`/api/clientes${qs({ telegram: 'no', estado: 'activo', por_pagina: 6 })}`).then(
      (r) => {
        mount(
          guide.querySelector('#clientes-prueba'),
          h('h2', null, 'Clientes de prueba sin Telegram'),
          r.clientes.length
            ? h(
                'ul',
                { class: 'list-plain persona-list' },
                r.clientes.map((c) =>
                  h(
                    'li',
                    { dataset: { cedula: c.cedula } },
                    h(
                      'div',
                      { class: 'who' },
                      h('strong', null, c.nombre),
                      h(
                        'div',
                        { class: 'small muted' },
                        'cédula ',
                        h('span', { class: 'mono' }, c.cedula),
                        ' · tel. ',
                        h('span', { class: 'mono' }, c.telefono ?? 'ninguno'),
                      ),
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        onclick() {
                          nameInput.value = c.nombre.split(' ')[0];
                          phoneInput.value = c.telefono ?? '';
                          remember();
                          if (c.whatsapp) wa?.use(c.whatsapp);
                          boxes?.use(c);
                          input.value = c.cedula;
                          input.focus();
                          toast(`Ahora usted es ${c.nombre}. Envíe la cédula cuando el bot la pida.`);
                        },
                      },
                      'Ser este cliente',
                    ),
                  ),
                ),
              )
            : h(
                'p',
                { class: 'muted' },
                'Todos los clientes tienen Telegram. Cree uno nuevo en la administración.',
              ),
        );
      },
      () => {},
    );
    api(`/api/clientes${qs({ telegram: 'si', por_pagina: 5 })}`).then(
      (r) => {
        mount(
          guide.querySelector('#clientes-vinculados'),
          h('h2', null, 'Chats de clientes ya vinculados'),
          r.clientes.length
            ? h(
                'ul',
                { class: 'list-plain persona-list' },
                r.clientes.map((c) =>
                  h(
                    'li',
                    null,
                    h(
                      'div',
                      { class: 'who' },
                      h('strong', null, c.nombre),
                      h(
                        'div',
                        { class: 'small muted' },
                        `${c.sector ?? ''} · vence ${fmt.date(c.fecha_vencimiento)}`,
                      ),
                    ),
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        onclick: () => {
                          switchChat(Number(c.telegram.chat_id), {
                            nombre: c.nombre.split(' ')[0],
                            telefono: c.telefono,
                          });
                          boxes?.use(c);
                        },
                      },
                      'Abrir su chat',
                    ),
                  ),
                ),
              )
            : h('p', { class: 'muted' }, 'Nadie se ha vinculado todavía.'),
        );
      },
      () => {},
    );
  };
  loadLists();
  refreshLists = debounce(loadLists, 1500);
}

function engineButtons() {
  const out = h('div', { class: 'small section', id: 'resultado-motor', 'aria-live': 'polite' });
  const run = (path, label, describe) => async () => {
    mount(out, h('div', { class: 'loading' }, `${label}…`));
    try {
      const r = await api(path, { method: 'POST', body: {} });
      mount(out, h('div', { class: 'notice ok' }, describe(r)));
    } catch (err) {
      mount(out, h('div', { class: 'notice bad' }, err.message));
    }
  };
  const generated = (r) => {
    const t = r.por_tipo ?? {};
    return `Se crearon ${fmt.n(r.total_creadas)} avisos: ${fmt.n(t.recordatorio_pago?.creadas ?? 0)} recordatorios y ${fmt.n(t.pago_vencido?.creadas ?? 0)} de pago vencido (${fmt.n((t.recordatorio_pago?.ya_notificadas ?? 0) + (t.pago_vencido?.ya_notificadas ?? 0))} ya se habían avisado). Salen en la ventana de envío.`;
  };
  const processed = (r) =>
    `Enviadas ${fmt.n(r.enviadas)}, fallidas ${fmt.n(r.fallidas)}, por reintentar ${fmt.n(r.reintentos)}.${r.en_ventana === false ? ' Fuera del horario de envío: los avisos automáticos esperan; los urgentes salen igual.' : ''}`;
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'small muted' },
      'Los avisos de pago se generan solos una vez al día y se envían continuamente; aquí puede pedirlos ya. Las campañas se lanzan desde la administración (Campañas).',
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          onclick: run('/api/notificaciones/generar-automaticas/', 'Generar avisos de pago', generated),
        },
        'Generar avisos de pago',
      ),
      h(
        'button',
        { type: 'button', onclick: run('/api/notificaciones/procesar/', 'Enviar lo pendiente', processed) },
        'Enviar lo pendiente',
      ),
      h('a', { class: 'btn', href: '/#/campanas' }, 'Nueva campaña'),
    ),
    out,
  );
}

/** One message bubble, with Telegram's formatting entities as elements (never as HTML). */
function bubble(m, press) {
  if (m.de === 'sistema') return h('div', { class: 'system-line' }, m.texto);
  const time = timeFmt.format(new Date(m.fecha));
  const box = h(
    'div',
    { class: `bubble ${m.de}`, dataset: { de: m.de, id: m.id } },
    formatEntities(m.texto, m.entidades),
    h('span', { class: 'time' }, m.editado ? `editado ${time}` : time),
  );
  if (!m.botones?.length) return box;
  return [
    box,
    h(
      'div',
      { class: 'inline-kb', dataset: { mensaje: m.id } },
      m.botones.map((row) =>
        h(
          'div',
          { class: 'kb-row' },
          row.map((b) =>
            b.url
              ? h('a', { href: b.url, target: '_blank', rel: 'noopener noreferrer' }, `${b.texto} ↗`)
              : h(
                  'button',
                  { type: 'button', dataset: { data: b.data ?? '' }, onclick: () => press(b.data) },
                  b.texto,
                ),
          ),
        ),
      ),
    ),
  ];
}

const TAGS = {
  bold: 'strong',
  italic: 'em',
  underline: 'u',
  strikethrough: 's',
  code: 'code',
  pre: 'pre',
  spoiler: 'span',
  blockquote: 'blockquote',
  expandable_blockquote: 'blockquote',
  text_link: 'a',
  url: 'a',
};

export function formatEntities(text, entities = []) {
  const points = new Set([0, text.length]);
  for (const e of entities) {
    points.add(e.offset);
    points.add(e.offset + e.length);
  }
  const sorted = [...points].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  const frag = document.createDocumentFragment();
  for (let i = 0; i < sorted.length - 1; i++) {
    const a = sorted[i];
    const b = sorted[i + 1];
    let node = document.createTextNode(text.slice(a, b));
    for (const e of entities) {
      if (e.offset > a || e.offset + e.length < b) continue;
      const tag = TAGS[e.type];
      if (!tag) continue;
      const el = document.createElement(tag);
      if (e.type === 'spoiler') el.className = 'spoiler';
      if (tag === 'a') {
        const href = e.type === 'url' ? text.slice(e.offset, e.offset + e.length) : e.url;
        if (/^https?:\/\//i.test(href ?? '') || /^tg:/i.test(href ?? '')) {
          el.href = href;
          el.target = '_blank';
          el.rel = 'noopener noreferrer';
        }
      }
      el.append(node);
      node = el;
    }
    frag.append(node);
  }
  return frag;
}

start();

/**
 * The played client's SMS inbox and mailbox (issue 11 §7): what the simulated SMS gateway and the
 * in-process mail server received for their mobile and address. Refreshed every few seconds.
 */
function clientInboxes(signal) {
  const BOX_KEY = 'teltec.sandbox.bandejas';
  let clienteId = Number(sessionStorage.getItem(BOX_KEY)) || 0;
  let last = '';
  const body = h(
    'div',
    { id: 'bandejas-contenido' },
    h(
      'p',
      { class: 'muted small' },
      'Elija un cliente de prueba abajo («Ser este cliente» o «Abrir su chat»).',
    ),
  );
  const title = h('h2', null, 'SMS y correo del cliente');
  const el = h('div', { class: 'card', id: 'bandejas' }, title, body);
  const item = (head, text, fecha) =>
    h(
      'li',
      { class: 'inbox-item' },
      h('div', { class: 'small muted' }, fmt.dateTime(fecha), head ? ` · ${head}` : ''),
      h('div', { class: 'inbox-text' }, text),
    );
  const render = (b) => {
    const key = JSON.stringify(b);
    if (key === last) return;
    last = key;
    title.textContent = `SMS y correo de ${b.nombre}`;
    mount(
      body,
      h(
        'div',
        { class: 'inboxes' },
        h(
          'section',
          { id: 'bandeja-sms', 'aria-label': 'SMS recibidos' },
          h(
            'h3',
            null,
            '💬 SMS ',
            h('span', { class: 'mono small' }, b.sms ? localNumber(b.sms.numero) : ''),
          ),
          !b.sms
            ? h('p', { class: 'muted small' }, 'Sin celular registrado.')
            : b.sms.mensajes.length === 0
              ? h('p', { class: 'muted small' }, 'Ningún SMS todavía.')
              : h(
                  'ul',
                  { class: 'list-plain inbox' },
                  b.sms.mensajes
                    .slice()
                    .reverse()
                    .map((m) => item('', m.texto, m.fecha)),
                ),
          b.sms ? smsReply() : null,
        ),
        h(
          'section',
          { id: 'bandeja-correo', 'aria-label': 'Correos recibidos' },
          h('h3', null, '✉️ Correo ', h('span', { class: 'mono small' }, b.correo?.direccion ?? '')),
          !b.correo
            ? h('p', { class: 'muted small' }, 'Sin correo registrado.')
            : b.correo.correos.length === 0
              ? h('p', { class: 'muted small' }, 'Ningún correo todavía.')
              : h(
                  'ul',
                  { class: 'list-plain inbox' },
                  b.correo.correos
                    .slice()
                    .reverse()
                    .map((m) =>
                      h(
                        'li',
                        { class: 'inbox-item' },
                        h('div', { class: 'small muted' }, `${fmt.dateTime(m.fecha)} · de ${m.de}`),
                        h(
                          'details',
                          null,
                          h('summary', null, h('strong', null, m.asunto)),
                          h('div', { class: 'inbox-text' }, m.texto),
                        ),
                      ),
                    ),
                ),
        ),
      ),
    );
  };
  /** The client answers by SMS through the simulated gateway: «SALIR» records the SMS opt-out. */
  const smsReply = () => {
    const input = h('input', {
      type: 'text',
      id: 'sms-respuesta',
      maxlength: '480',
      placeholder: 'Responder por SMS como el cliente',
      'aria-label': 'Responder por SMS como el cliente',
    });
    const send = async (texto) => {
      if (!texto.trim()) return;
      try {
        const r = await api(`/api/sandbox/clientes/${clienteId}/sms`, { method: 'POST', body: { texto } });
        input.value = '';
        toast(
          r.resultado === 'baja'
            ? 'El servicio recibió «SALIR»: este cliente ya no recibe SMS (la baja quedó en sus consentimientos).'
            : 'El servicio recibió el SMS: no es una palabra de baja (SALIR, STOP o BAJA), no cambia nada.',
          r.resultado === 'baja' ? 'ok' : '',
        );
      } catch (err) {
        toast(err.message, 'bad');
      }
    };
    return h(
      'form',
      {
        class: 'composer small',
        id: 'sms-responder',
        onsubmit(e) {
          e.preventDefault();
          send(input.value);
        },
      },
      input,
      h('button', { type: 'submit' }, 'Enviar'),
      h(
        'button',
        {
          type: 'button',
          id: 'sms-salir',
          class: 'secondary',
          title: 'Escribir «SALIR» por SMS: el cliente deja de recibir SMS',
          onclick: () => send('SALIR'),
        },
        'SALIR',
      ),
    );
  };
  const load = async () => {
    if (!clienteId) return;
    try {
      render(await api(`/api/sandbox/clientes/${clienteId}/bandejas`, { signal }));
    } catch (err) {
      if (err?.status === 404) {
        clienteId = 0;
        sessionStorage.removeItem(BOX_KEY);
      }
    }
  };
  (async () => {
    while (!signal.aborted) {
      await load();
      await new Promise((r) => setTimeout(r, 4000));
    }
  })();
  return {
    el,
    use(c) {
      clienteId = c.id;
      sessionStorage.setItem(BOX_KEY, String(c.id));
      last = '';
      mount(body, h('div', { class: 'loading' }, 'Cargando…'));
      load();
    },
  };
}

/** '593987654321' → '0987654321' (how people type it). */
const localNumber = (n) => (n ? String(n).replace(/^593/, '0') : '');

const TICKS = { accepted: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠️' };

/**
 * The client's WhatsApp phone: the conversation of one number with the business in the Cloud API
 * stand-in. The person types as the client (ESTADO, SI, BAJA, MIS DATOS or anything); notices the
 * service sends by WhatsApp land here with their ✓ / ✓✓ / read marks.
 */
function whatsappPhone(signal) {
  let numero = sessionStorage.getItem(WA_KEY) ?? '';
  let version = -1;
  let round = new AbortController();
  const messages = h('div', { class: 'messages wa', id: 'wa-mensajes', role: 'log', 'aria-live': 'polite' });
  const numberInput = h('input', {
    type: 'tel',
    id: 'wa-numero',
    value: localNumber(numero),
    placeholder: '0987654321',
    'aria-label': 'Número de WhatsApp del cliente',
  });
  const input = h('input', {
    type: 'text',
    id: 'wa-texto',
    placeholder: 'Mensaje',
    autocomplete: 'off',
    'aria-label': 'Mensaje de WhatsApp',
  });
  const windowLine = h('small', { id: 'wa-ventana' }, '');
  const send = async (texto) => {
    if (!numero) {
      toast('Escriba primero el número de WhatsApp del cliente (arriba del teléfono).', 'bad');
      numberInput.focus();
      return;
    }
    try {
      show(await api(`/api/sandbox/whatsapp/${numero}/mensajes`, { method: 'POST', body: { texto } }));
    } catch (err) {
      toast(err.message, 'bad');
    }
  };
  function show(t) {
    if (t.numero !== numero || t.version === version) return;
    version = t.version;
    windowLine.textContent = t.ventana_hasta
      ? `ventana abierta hasta el ${fmt.dateTime(t.ventana_hasta)}`
      : 'sin ventana: solo plantillas';
    mount(
      messages,
      t.mensajes.length === 0
        ? h(
            'div',
            { class: 'system-line' },
            'Escriba ESTADO, SI, MIS DATOS o BAJA, o espere un aviso de la empresa.',
          )
        : t.mensajes.map((m) =>
            h(
              'div',
              {
                class: `bubble ${m.de === 'empresa' ? 'bot' : 'cliente'}`,
                dataset: { estado: m.estado ?? '' },
              },
              m.texto,
              h(
                'span',
                { class: 'time' },
                timeFmt.format(new Date(m.fecha)),
                m.estado
                  ? h('span', { class: `ticks ${m.estado}`, title: m.estado }, ` ${TICKS[m.estado] ?? ''}`)
                  : null,
              ),
            ),
          ),
    );
    messages.scrollTop = messages.scrollHeight;
  }
  const use = (n) => {
    const digits = String(n).replace(/\D/g, '');
    const normal = digits.startsWith('593')
      ? digits
      : digits.startsWith('0')
        ? `593${digits.slice(1)}`
        : digits;
    numero = /^5939\d{8}$/.test(normal) ? normal : '';
    numberInput.value = localNumber(numero) || n;
    if (numero) sessionStorage.setItem(WA_KEY, numero);
    version = -1;
    mount(messages, h('div', { class: 'system-line' }, numero ? 'Cargando…' : 'Número no válido.'));
    round.abort();
  };
  numberInput.addEventListener('change', () => use(numberInput.value));
  (async () => {
    while (!signal.aborted) {
      if (!numero) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const current = numero;
      round = new AbortController();
      const wait = version < 0 ? 0 : 20;
      try {
        const t = await api(
          `/api/sandbox/whatsapp/${current}${qs({ version: wait ? version : '', esperar: wait })}`,
          {
            signal: AbortSignal.any([signal, round.signal]),
          },
        );
        if (current === numero) show(t);
      } catch (err) {
        if (signal.aborted || err?.status === 401) return;
        if (err?.name === 'AbortError') continue;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
  // Without a number yet: the first demo client not on Telegram with a WhatsApp number (they accept
  // with SI).
  if (!numero) {
    api(`/api/clientes${qs({ telegram: 'no', estado: 'activo', por_pagina: 20 })}`)
      .then((r) => {
        const c = r.clientes.find((x) => x.whatsapp);
        if (c && !numero) use(c.whatsapp);
      })
      .catch(() => {});
  }
  const el = h(
    'section',
    { class: 'phone whatsapp', id: 'telefono-whatsapp', 'aria-label': 'WhatsApp del cliente' },
    h(
      'div',
      { class: 'phone-head' },
      h('div', { class: 'avatar' }, 'W'),
      h('div', { class: 'who' }, h('strong', null, 'TelTec · WhatsApp'), h('br'), windowLine),
    ),
    h('label', { class: 'wa-number small', for: 'wa-numero' }, 'El cliente escribe desde el ', numberInput),
    messages,
    h(
      'div',
      { class: 'reply-kb' },
      h(
        'div',
        { class: 'kb-row' },
        ['ESTADO', 'SI', 'MIS DATOS', 'BAJA'].map((k) =>
          h('button', { type: 'button', onclick: () => send(k) }, k),
        ),
      ),
    ),
    h(
      'form',
      {
        class: 'composer',
        id: 'wa-composer',
        onsubmit(e) {
          e.preventDefault();
          const text = input.value.trim();
          if (!text) return;
          input.value = '';
          send(text);
        },
      },
      input,
      h('button', { type: 'submit', class: 'primary', 'aria-label': 'Enviar por WhatsApp' }, 'Enviar'),
    ),
  );
  return { el, use };
}
