import { api, qs } from '../api.js';
import { clientHistoryCard, sendMessageButton } from '../personal.js';
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
  options,
  select,
  showFieldErrors,
  telegramBadge,
  toast,
} from '../ui.js';
import { clientReceiptsCard } from './comprobantes.js';

// One client: details, edit, Telegram link and invitation, WhatsApp (number, service window,
// consents with their evidence), payments (record one), every notification sent to them. Also the
// "new client" form (#/clientes/nuevo).

export async function render(root, { params, signal, go }) {
  const id = params[0] ? Number(params[0]) : null;
  const [planes, sectores] = await Promise.all([
    api('/api/planes', { signal }).then((r) => r.planes),
    api('/api/sectores', { signal })
      .then((r) => r.sectores)
      .catch(() => []),
  ]);
  if (id === null) {
    document.title = 'Nuevo cliente — TelTec Notificaciones';
    mount(
      root,
      h(
        'div',
        { class: 'page-head' },
        h('h1', null, 'Nuevo cliente'),
        h('a', { href: '#/clientes' }, '← Clientes'),
      ),
      h(
        'div',
        { class: 'card' },
        clientForm(null, planes, sectores, async (body) => {
          const c = await api('/api/clientes', { method: 'POST', body });
          toast(`Cliente ${c.nombre} creado.`, 'ok');
          go(`/clientes/${c.id}`);
        }),
      ),
    );
    return;
  }

  mount(root, loading());
  const cliente = await api(`/api/clientes/${id}`, { signal });
  document.title = `${cliente.nombre} — TelTec Notificaciones`;
  const reload = () => render(root, { params, signal, go });

  const details = h('div', { class: 'card', id: 'datos-cliente' });
  const showDetails = () =>
    mount(
      details,
      h(
        'div',
        { class: 'row' },
        h('h2', null, 'Datos'),
        h('span', { class: 'spacer' }),
        h('button', { class: 'small', onclick: showEdit }, 'Editar'),
      ),
      h(
        'dl',
        { class: 'kv' },
        kv('Cédula', h('span', { class: 'mono' }, cliente.cedula)),
        kv('Teléfono', cliente.telefono ?? '—'),
        kv('WhatsApp', cliente.whatsapp ?? '—'),
        cliente.canal_preferido !== undefined
          ? kv(
              'Canal preferido',
              cliente.canal_preferido ? label('canal', cliente.canal_preferido) : 'automático',
            )
          : null,
        kv('Correo', cliente.email ?? '—'),
        kv('Dirección', cliente.direccion ?? '—'),
        kv('Sector', cliente.sector ?? '—'),
        kv('Plan', cliente.plan ? `${cliente.plan} (${fmt.money(cliente.precio)})` : '—'),
        kv('Estado', badge('estado', cliente.estado)),
        kv('Último pago', fmt.date(cliente.fecha_ultimo_pago)),
        kv('Día de pago', cliente.dia_pago ?? `cada ciclo desde el último pago`),
        kv('Vence', [fmt.date(cliente.fecha_vencimiento), ' ', badge('estado_pago', cliente.estado_pago)]),
        kv(
          'Preferencias',
          `ofertas ${cliente.preferencias.ofertas ? 'sí' : 'no'} · mantenimiento ${cliente.preferencias.mantenimiento ? 'sí' : 'no'}`,
        ),
      ),
    );
  const showEdit = () =>
    mount(
      details,
      h('h2', null, 'Editar datos'),
      clientForm(
        cliente,
        planes,
        sectores,
        async (body) => {
          await api(`/api/clientes/${id}`, { method: 'PATCH', body });
          toast('Cambios guardados.', 'ok');
          reload();
        },
        showDetails,
      ),
    );
  showDetails();

  const channels = h('div', { class: 'card', id: 'canales-cliente' }, h('h2', null, 'Canales'), loading());
  const telegram = h('div', { class: 'card', id: 'telegram-cliente' });
  const whatsapp = h('div', { class: 'card', id: 'whatsapp-cliente' }, h('h2', null, 'WhatsApp'), loading());
  const payments = h('div', { class: 'card', id: 'pagos' }, h('h2', null, 'Pagos'), loading());
  const notifications = h(
    'div',
    { class: 'card', id: 'notificaciones-cliente' },
    h('h2', null, 'Notificaciones'),
    loading(),
  );

  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        null,
        h('a', { href: '#/clientes', class: 'small' }, '← Clientes'),
        h('h1', null, cliente.nombre),
      ),
      h('div', { class: 'row' }, badge('estado_pago', cliente.estado_pago), telegramBadge(cliente.telegram)),
    ),
    h(
      'div',
      { class: 'grid-2' },
      details,
      h('div', null, channels, telegram, whatsapp, payments, clientReceiptsCard(cliente.id, signal)), // issue 13
    ),
    notifications,
    clientHistoryCard(cliente.id, signal), // issue 14: who changed what
    h(
      'div',
      { class: 'row section' },
      sendMessageButton(cliente.id), // issue 14
      h(
        'button',
        {
          class: 'danger small',
          async onclick() {
            if (
              !(await confirmDialog(
                'Borrar cliente',
                `Se borrarán ${cliente.nombre}, sus pagos y sus notificaciones.`,
                { ok: 'Borrar', danger: true },
              ))
            )
              return;
            try {
              await api(`/api/clientes/${id}`, { method: 'DELETE' });
              toast('Cliente borrado.', 'ok');
              go('/clientes');
            } catch (err) {
              toast(err.message, 'bad');
            }
          },
        },
        'Borrar cliente',
      ),
    ),
  );

  await Promise.allSettled([
    renderChannels(channels, cliente, signal),
    renderTelegram(telegram, cliente, reload, signal),
    renderWhatsApp(whatsapp, cliente, signal),
    renderPayments(payments, cliente, reload, signal),
    renderNotifications(notifications, cliente, signal),
  ]);
}

const kv = (k, v) => [h('dt', null, k), h('dd', null, v)];

const CONSENT_WORD = { true: 'sí', false: 'retirado', null: '—' };

/**
 * Issue 11 §6: every channel of the client with its state: where it goes, whether a service
 * notice gets there today (and why not), an unreachable mark with until when, consents, preferred.
 */
async function renderChannels(el, c, signal) {
  const head = h('h2', null, 'Canales');
  try {
    const r = await api(`/api/clientes/${c.id}/canales`, { signal });
    const shown = r.canales.filter((x) => x.configurado || x.destino);
    mount(
      el,
      head,
      h(
        'p',
        { class: 'small muted' },
        r.preferido
          ? `Preferido: ${label('canal', r.preferido)}; si no llega, siguen los demás según la política de envío.`
          : 'Sin canal preferido: el servicio elige el primero que llega.',
      ),
      dataTable(
        ['Canal', 'Estado', 'Consentimiento'],
        shown.map((x) =>
          h(
            'tr',
            { dataset: { canal: x.canal, alcanzable: String(x.alcanzable) } },
            h(
              'td',
              { 'data-label': 'Canal' },
              h('strong', null, label('canal', x.canal)),
              x.preferido ? h('span', { class: 'badge ok', title: 'Canal preferido' }, ' preferido') : null,
              h('div', { class: 'small muted mono' }, x.destino ?? 'sin dato'),
            ),
            h(
              'td',
              { 'data-label': 'Estado' },
              x.alcanzable
                ? h('span', { class: 'badge ok' }, 'Llega')
                : h('span', { class: `badge ${x.configurado ? 'bad' : ''}` }, x.motivo_texto ?? 'No llega'),
              x.inalcanzable
                ? h(
                    'div',
                    {
                      class: 'small muted',
                      dataset: { inalcanzable: x.inalcanzable.vigente ? 'vigente' : 'vencido' },
                    },
                    `${x.inalcanzable.vigente ? 'Marcado' : 'Estuvo marcado'}: ${x.inalcanzable.motivo}`,
                    x.inalcanzable.hasta ? ` (hasta ${fmt.dateTime(x.inalcanzable.hasta)})` : '',
                  )
                : null,
            ),
            h(
              'td',
              { 'data-label': 'Consentimiento' },
              x.canal === 'telegram'
                ? 'el vínculo'
                : `avisos ${x.consentimiento.servicio === null && x.canal !== 'whatsapp' ? 'sin registro (se asume sí)' : CONSENT_WORD[String(x.consentimiento.servicio)]} · ofertas ${CONSENT_WORD[String(x.consentimiento.marketing)]}`,
              h('div', { class: 'small muted' }, x.marketing ? 'le llegan ofertas' : 'sin ofertas por aquí'),
            ),
          ),
        ),
      ),
    );
  } catch (err) {
    mount(el, head, errorBox(err));
  }
}

function clientForm(c, planes, sectores, save, cancel) {
  const listId = 'sectores-list';
  const input = (name, type = 'text', extra = {}) =>
    h('input', { name, type, value: c?.[name] ?? '', ...extra });
  const form = h(
    'form',
    {
      id: 'form-cliente',
      novalidate: true,
      async onsubmit(e) {
        e.preventDefault();
        const data = Object.fromEntries(new FormData(form));
        const body = {};
        for (const [k, v] of Object.entries(data)) {
          const s = String(v).trim();
          if (!c && s === '') continue;
          body[k] = s === '' ? null : s;
        }
        if (body.plan_id) body.plan_id = Number(body.plan_id);
        if (body.dia_pago) body.dia_pago = Number(body.dia_pago);
        const submit = form.querySelector('button[type=submit]');
        submit.disabled = true;
        status.replaceChildren();
        try {
          await save(body);
        } catch (err) {
          const shown = showFieldErrors(form, err);
          status.append(errorBox(shown ? 'Revise los campos marcados.' : err));
        } finally {
          submit.disabled = false;
        }
      },
    },
    h(
      'div',
      { class: 'form-grid' },
      field('Cédula', input('cedula', 'text', { inputmode: 'numeric', required: true, maxlength: 13 })),
      field('Nombre completo', input('nombre', 'text', { required: true })),
      field(
        'Teléfono',
        input('telefono', 'tel', { placeholder: '0987654321' }),
        'Celular para verificar el contacto en Telegram',
      ),
      field(
        'WhatsApp',
        input('whatsapp', 'tel', { placeholder: '0987654321' }),
        'Celular con WhatsApp (vacío = el teléfono, si es celular)',
      ),
      field(
        'Canal preferido',
        select(
          'canal_preferido',
          options('canal'),
          c?.canal_preferido,
          'Automático (Telegram si está vinculado)',
        ),
      ),
      field('Correo', input('email', 'email')),
      field('Dirección', input('direccion')),
      field('Sector', input('sector', 'text', { list: listId })),
      field(
        'Plan',
        select(
          'plan_id',
          // A retired plan is offered only to the client who already has it.
          planes
            .filter((p) => !p.retirado || p.id === c?.plan_id)
            .map((p) => [p.id, `${p.nombre} · ${fmt.money(p.precio)}${p.retirado ? ' (retirado)' : ''}`]),
          c?.plan_id,
          'Sin plan',
        ),
      ),
      field('Estado', select('estado', options('estado'), c?.estado ?? 'activo')),
      field('Último pago', input('fecha_ultimo_pago', 'date')),
      field(
        'Día de pago fijo',
        input('dia_pago', 'number', { min: 1, max: 28 }),
        'Vacío = vence un ciclo después del último pago',
      ),
    ),
    h(
      'datalist',
      { id: listId },
      sectores.map((s) => h('option', { value: s.nombre })),
    ),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, c ? 'Guardar' : 'Crear cliente'),
      cancel ? h('button', { type: 'button', onclick: cancel }, 'Cancelar') : null,
    ),
  );
  const status = h('div');
  form.append(status);
  return form;
}

async function renderTelegram(el, c, reload, signal) {
  const t = c.telegram;
  mount(
    el,
    h('h2', null, 'Telegram'),
    h(
      'dl',
      { class: 'kv' },
      kv('Estado', telegramBadge(t)),
      t.vinculado ? kv('Chat', h('span', { class: 'mono' }, t.chat_id)) : null,
      t.vinculado ? kv('Vinculado', fmt.dateTime(t.vinculado_en)) : null,
      t.vinculado
        ? kv(
            'Verificado',
            t.verificado
              ? 'sí (contacto comprobado)'
              : 'pendiente de verificar: se vinculó solo con la cédula; sus avisos no llevan datos de cobro',
          )
        : null,
      t.inalcanzable ? kv('No se puede enviar', t.inalcanzable) : null,
    ),
    t.vinculado
      ? h(
          'div',
          { class: 'row section' },
          t.vinculado && !t.verificado
            ? h(
                'button',
                {
                  class: 'small primary',
                  id: 'verificar-vinculo',
                  async onclick() {
                    const ok = await confirmDialog(
                      'Confirmar el vínculo',
                      `¿Comprobó que el chat ${t.chat_id} es de ${c.nombre} (por ejemplo, llamándole)? Desde ahora sus avisos y /status muestran plan, fechas y monto.`,
                      { ok: 'Sí, es el cliente' },
                    );
                    if (!ok) return;
                    try {
                      await api(`/api/clientes/${c.id}/verificar-vinculo`, { method: 'POST', body: {} });
                      toast('Vínculo confirmado.', 'ok');
                      reload();
                    } catch (err) {
                      toast(err.message, 'bad');
                    }
                  },
                },
                'Confirmar vínculo',
              )
            : null,
          h(
            'button',
            {
              class: 'small danger',
              async onclick() {
                if (
                  !(await confirmDialog(
                    'Desvincular Telegram',
                    'El cliente dejará de recibir avisos por Telegram hasta que vuelva a vincularse.',
                    { ok: 'Desvincular', danger: true },
                  ))
                )
                  return;
                try {
                  await api('/api/notificaciones/actualizar-chat-id/', {
                    method: 'POST',
                    body: { cliente_id: c.id, chat_id: null },
                  });
                  toast('Telegram desvinculado.', 'ok');
                  reload();
                } catch (err) {
                  toast(err.message, 'bad');
                }
              },
            },
            'Desvincular',
          ),
        )
      : invitation(c, signal),
  );
}

/** Link and QR of the client's active invitation (the bot's one-time t.me link). */
function invitation(c, signal) {
  const box = h('div', { class: 'section', id: 'invitacion' });
  const url = `/api/clientes/${c.id}/invitacion`;
  const show = async (method) => {
    mount(box, loading(method === 'POST' ? 'Creando invitación…' : 'Buscando invitación…'));
    try {
      const inv = await api(url, { method, body: method === 'POST' ? {} : undefined, signal });
      const img = h('img', { alt: `Código QR de la invitación de ${c.nombre}`, width: 180, height: 180 });
      api(inv.qr_svg, { raw: true, signal })
        .then((res) => res.blob())
        .then((blob) => {
          img.src = URL.createObjectURL(blob);
        })
        .catch(() => img.replaceWith(h('p', { class: 'muted small' }, 'No se pudo dibujar el QR.')));
      mount(
        box,
        h(
          'p',
          { class: 'small' },
          'Invitación de un solo uso, vence el ',
          fmt.date(inv.expira_en.slice(0, 10)),
          '. ',
          inv.abierta_en ? `Abierta el ${fmt.dateTime(inv.abierta_en)}.` : 'Aún no abierta.',
        ),
        h(
          'p',
          null,
          h(
            'a',
            {
              href: inv.enlace,
              target: '_blank',
              rel: 'noopener noreferrer',
              class: 'mono small',
              dataset: { invitacion: inv.estado },
            },
            inv.enlace,
          ),
        ),
        h('div', { class: 'qr' }, img),
        h(
          'div',
          { class: 'row section' },
          h(
            'button',
            {
              class: 'small',
              type: 'button',
              onclick: () =>
                navigator.clipboard?.writeText(inv.enlace).then(
                  () => toast('Enlace copiado.'),
                  () => toast('No se pudo copiar.', 'bad'),
                ),
            },
            'Copiar enlace',
          ),
          h('button', { class: 'small', type: 'button', onclick: () => show('POST') }, 'Nueva invitación'),
          h(
            'button',
            {
              class: 'small danger',
              type: 'button',
              async onclick() {
                try {
                  await api(url, { method: 'DELETE' });
                  toast('Invitación revocada: el enlace ya no sirve.', 'ok');
                  mount(
                    box,
                    h(
                      'button',
                      { class: 'primary small', onclick: () => show('GET') },
                      'Crear invitación con QR',
                    ),
                  );
                } catch (err) {
                  toast(err.message, 'bad');
                }
              },
            },
            'Revocar',
          ),
        ),
      );
    } catch (err) {
      mount(box, h('div', { class: 'notice warn' }, err.message));
    }
  };
  mount(
    box,
    h(
      'p',
      { class: 'small muted' },
      'Sin Telegram. Una invitación lleva al bot y vincula al cliente sin escribir la cédula.',
    ),
    h('button', { class: 'primary small', onclick: () => show('GET') }, 'Ver invitación con QR'),
  );
  return box;
}

async function renderPayments(el, c, reload, signal) {
  const { pagos } = await api(`/api/clientes/${c.id}/pagos`, { signal });
  const form = h(
    'form',
    {
      id: 'form-pago',
      class: 'form-grid section',
      async onsubmit(e) {
        e.preventDefault();
        const data = Object.fromEntries(new FormData(form));
        const button = form.querySelector('button');
        button.disabled = true;
        try {
          await api(`/api/clientes/${c.id}/pagos`, {
            method: 'POST',
            body: {
              monto: Number(data.monto),
              fecha: data.fecha || undefined,
              referencia: data.referencia || undefined,
            },
          });
          toast('Pago registrado.', 'ok');
          reload();
        } catch (err) {
          showFieldErrors(form, err);
          toast(err.message, 'bad');
          button.disabled = false;
        }
      },
    },
    field(
      'Monto (USD)',
      h('input', {
        name: 'monto',
        type: 'number',
        step: '0.01',
        min: '0.01',
        required: true,
        value: c.precio ?? '',
      }),
    ),
    // Empty = today on the server's clock (the API refuses a date after its today; the browser's
    // calendar may differ from the service's).
    field('Fecha (vacía = hoy)', h('input', { name: 'fecha', type: 'date' })),
    field(
      'Referencia',
      h('input', { name: 'referencia', type: 'text', placeholder: 'Nº de depósito o recibo' }),
    ),
    h(
      'div',
      { class: 'field align-end' },
      h('button', { type: 'submit', class: 'primary' }, 'Registrar pago'),
    ),
  );
  mount(
    el,
    h('h2', null, 'Pagos'),
    pagos.length
      ? h(
          'table',
          null,
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              h('th', null, 'Fecha'),
              h('th', { class: 'num' }, 'Monto'),
              h('th', null, 'Referencia'),
            ),
          ),
          h(
            'tbody',
            null,
            pagos
              .slice(0, 12)
              .map((p) =>
                h(
                  'tr',
                  null,
                  h('td', null, fmt.date(p.fecha)),
                  h('td', { class: 'num' }, fmt.money(p.monto)),
                  h('td', { class: 'muted' }, p.referencia ?? '—'),
                ),
              ),
          ),
        )
      : h('p', { class: 'muted' }, 'Sin pagos registrados.'),
    form,
  );
}

async function renderNotifications(el, c, signal) {
  const r = await api(`/api/notificaciones/${qs({ cliente_id: c.id, por_pagina: 50 })}`, { signal });
  mount(
    el,
    h('h2', null, 'Notificaciones'),
    r.notificaciones.length
      ? dataTable(
          ['Creada', 'Tipo', 'Estado', 'Mensaje'],
          r.notificaciones.map((n) =>
            h(
              'tr',
              null,
              h('td', { 'data-label': 'Creada' }, fmt.dateTime(n.creado_en)),
              h('td', { 'data-label': 'Tipo' }, label('tipo', n.tipo)),
              h(
                'td',
                { 'data-label': 'Estado' },
                badge('notif_estado', n.estado),
                n.ultimo_error ? h('div', { class: 'small muted' }, n.ultimo_error) : null,
              ),
              h(
                'td',
                { 'data-label': 'Mensaje' },
                h(
                  'div',
                  { class: 'small' },
                  n.mensaje ?? h('span', { class: 'muted' }, 'se escribe con la plantilla al enviar'),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Todavía no se le ha enviado nada.'),
    r.total > r.notificaciones.length
      ? h('a', { href: `#/notificaciones?cliente_id=${c.id}` }, `Ver las ${fmt.n(r.total)}`)
      : null,
  );
}

/** Staff sources of a consent (the client's own answers are recorded by the bot and WhatsApp). */
const STAFF_SOURCES = ['contrato', 'presencial', 'formulario', 'llamada', 'email'];
const CHANNELS = ['telegram', 'whatsapp', 'sms', 'email'];
const CATEGORIES = ['servicio', 'marketing'];

/** WhatsApp: the number, the 24-hour service window, unreachable and why, and the consents. */
async function renderWhatsApp(el, c, signal) {
  const url = `/api/clientes/${c.id}/consentimientos`;
  const r = await api(url, { signal });
  const now = Date.now();
  const windowUntil = c.whatsapp_ventana_hasta ? new Date(c.whatsapp_ventana_hasta) : null;
  const open = windowUntil && windowUntil.getTime() > now;
  const current = (canal, categoria) =>
    r.actuales.find((a) => a.canal === canal && a.categoria === categoria);
  const wa = current('whatsapp', 'servicio');
  const status = h('div');
  const form = h(
    'form',
    {
      id: 'form-consentimiento',
      class: 'form-grid section',
      novalidate: true,
      async onsubmit(e) {
        e.preventDefault();
        const data = Object.fromEntries(new FormData(form));
        const button = form.querySelector('button[type=submit]');
        button.disabled = true;
        status.replaceChildren();
        try {
          await api(url, {
            method: 'POST',
            body: {
              canal: data.canal,
              categoria: data.categoria,
              otorgado: data.otorgado === 'si',
              fuente: data.fuente,
              evidencia: String(data.evidencia ?? '').trim() || undefined,
            },
          });
          toast('Consentimiento registrado.', 'ok');
          await renderWhatsApp(el, c, signal);
        } catch (err) {
          const shown = showFieldErrors(form, err);
          status.append(errorBox(shown ? 'Revise los campos marcados.' : err));
          button.disabled = false;
        }
      },
    },
    field(
      'Canal',
      select(
        'canal',
        CHANNELS.map((v) => [v, label('canal', v)]),
        'whatsapp',
      ),
    ),
    field(
      'Categoría',
      select(
        'categoria',
        CATEGORIES.map((v) => [v, label('consentimiento_categoria', v)]),
        'servicio',
      ),
    ),
    field(
      'Decisión',
      select(
        'otorgado',
        [
          ['si', 'Acepta recibir'],
          ['no', 'Ya no quiere recibir'],
        ],
        'si',
      ),
    ),
    field(
      'Fuente',
      select(
        'fuente',
        STAFF_SOURCES.map((v) => [v, label('consentimiento_fuente', v)]),
        'contrato',
      ),
    ),
    field(
      'Evidencia',
      h('input', {
        name: 'evidencia',
        type: 'text',
        maxlength: 500,
        placeholder: 'Nº de contrato, formulario, quién lo atendió…',
      }),
      'Obligatoria al aceptar: lo que prueba el consentimiento (LOPDP)',
    ),
    h(
      'div',
      { class: 'field align-end' },
      h('button', { type: 'submit', class: 'primary' }, 'Registrar consentimiento'),
    ),
  );
  form.append(status);
  mount(
    el,
    h('h2', null, 'WhatsApp'),
    h(
      'dl',
      { class: 'kv' },
      kv(
        'Número',
        c.whatsapp
          ? h('span', { class: 'mono', id: 'whatsapp-numero' }, c.whatsapp)
          : 'sin número (agréguelo en Editar)',
      ),
      kv(
        'Consentimiento',
        h(
          'span',
          {
            id: 'whatsapp-consentimiento',
            dataset: { valor: wa?.otorgado === true ? 'si' : wa?.otorgado === false ? 'no' : 'sin_registro' },
          },
          wa?.otorgado === true
            ? `sí, desde el ${fmt.dateTime(wa.registrado_en)} (${label('consentimiento_fuente', wa.fuente)})`
            : wa?.otorgado === false
              ? `no: lo retiró el ${fmt.dateTime(wa.registrado_en)}`
              : 'sin registrar: no se le escribe primero por WhatsApp',
        ),
      ),
      kv(
        'Ventana de 24 h',
        h(
          'span',
          { id: 'whatsapp-ventana', dataset: { abierta: open ? 'si' : 'no' } },
          open
            ? `abierta hasta ${fmt.dateTime(c.whatsapp_ventana_hasta)}: se le puede escribir texto libre`
            : 'cerrada: solo plantillas aprobadas',
        ),
      ),
      c.whatsapp_inalcanzable
        ? kv(
            'No se puede enviar',
            `${c.whatsapp_inalcanzable}${c.whatsapp_inalcanzable_hasta ? ` (hasta ${fmt.date(c.whatsapp_inalcanzable_hasta)})` : ''}`,
          )
        : null,
    ),
    h('h3', null, 'Consentimientos'),
    h(
      'table',
      { class: 'small', id: 'consentimientos-actuales' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('th', null, 'Canal'),
          ...CATEGORIES.map((k) => h('th', null, label('consentimiento_categoria', k))),
        ),
      ),
      h(
        'tbody',
        null,
        CHANNELS.map((canal) =>
          h(
            'tr',
            { dataset: { canal } },
            h('td', null, label('canal', canal)),
            CATEGORIES.map((categoria) => {
              const a = current(canal, categoria);
              return h(
                'td',
                { dataset: { categoria, valor: a ? (a.otorgado ? 'si' : 'no') : '' } },
                a ? (a.otorgado ? '✅ sí' : '🚫 no') : '—',
              );
            }),
          ),
        ),
      ),
    ),
    r.historial.length
      ? h(
          'details',
          { class: 'section' },
          h('summary', null, `Historial (${r.historial.length})`),
          h(
            'ul',
            { class: 'list-plain small', id: 'consentimientos-historial' },
            r.historial.map((x) =>
              h(
                'li',
                { dataset: { id: x.id } },
                `${fmt.dateTime(x.registrado_en)} · ${label('canal', x.canal)} · ${label('consentimiento_categoria', x.categoria)}: `,
                h('strong', null, x.otorgado ? 'acepta' : 'retira'),
                ` · ${label('consentimiento_fuente', x.fuente)}`,
                x.evidencia ? ` · «${x.evidencia}»` : '',
                x.registrado_por ? h('span', { class: 'muted' }, ` · ${x.registrado_por}`) : '',
              ),
            ),
          ),
        )
      : h('p', { class: 'small muted' }, 'Sin consentimientos registrados.'),
    form,
  );
}
