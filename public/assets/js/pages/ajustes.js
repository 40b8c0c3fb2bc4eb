import { editableSettingsCard } from '../ajustes-editar.js';
import { api, qs } from '../api.js';
import {
  clientPicker,
  confirmDialog,
  debounce,
  errorBox,
  field,
  fmt,
  h,
  label,
  loading,
  mount,
  noBotNotice,
  select,
  telegramHtml,
  toast,
} from '../ui.js';
import { operationsCard } from './operacion.js';

// Ajustes: message templates with a live preview on a real client, the schedule and send window,
// company contact data and Telegram status. Templates are edited here; the rest comes from the
// environment (.env) and is shown read-only.

export async function render(root, { signal }) {
  document.title = 'Ajustes — TelTec Notificaciones';
  const templates = h(
    'div',
    { class: 'card', id: 'plantillas' },
    h('h2', null, 'Plantillas de mensajes'),
    loading(),
  );
  const telegram = h('div', { class: 'card', id: 'estado-telegram' }, h('h2', null, 'Telegram'), loading());
  const schedule = h(
    'div',
    { class: 'card', id: 'horario' },
    h('h2', null, 'Horario y reglas de envío'),
    loading(),
  );
  const company = h('div', { class: 'card', id: 'empresa' }, h('h2', null, 'Datos de la empresa'), loading());
  const whatsapp = h('div', { class: 'card', id: 'estado-whatsapp' }, h('h2', null, 'WhatsApp'), loading());
  mount(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Ajustes')),
    templates,
    h('div', { class: 'grid-2' }, h('div', null, telegram, whatsapp, company), schedule),
  );
  root.append(operationsCard()); // issue 15: backup download and diagnosis
  let settings = null;
  try {
    settings = await api('/api/ajustes', { signal });
  } catch (err) {
    for (const el of [telegram, schedule, company]) el.append(errorBox(err));
  }
  await Promise.allSettled([
    renderWhatsApp(whatsapp, signal),
    renderTemplates(templates, signal),
    settings && renderTelegram(telegram, settings, signal),
    settings && renderSchedule(schedule, settings),
    settings && renderCompany(company, settings),
  ]);
  // Issue 14: company data, bank accounts, send window and cycle rules are edited here (database).
  if (settings) root.insertBefore(editableSettingsCard(settings), templates);
}

const kv = (rows) =>
  h(
    'dl',
    { class: 'kv' },
    rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]),
  );
const yesNo = (b) => (b ? 'sí' : 'no');
const envNote = (vars) =>
  h(
    'p',
    { class: 'small muted section' },
    'Se cambian en el archivo .env (',
    vars,
    ') y reiniciando el servicio.',
  );

const WEBHOOK = '/api/notificaciones/telegram/configurar-webhook/';

async function renderTelegram(el, s, signal) {
  const rows = [
    [
      'Modo configurado',
      h(
        'span',
        {
          class: `badge ${s.modo_telegram === 'sandbox' ? 'warn' : 'ok'}`,
          dataset: { modo: s.modo_telegram },
        },
        label('modo_telegram', s.modo_telegram),
      ),
    ],
    ['Bot', s.bot ? `@${s.bot}` : '—'],
  ];
  let webhook = null;
  let tools = null;
  if (s.modo_telegram === 'sin_bot') webhook = noBotNotice();
  else {
    try {
      // What Telegram itself says (getWebhookInfo): the truth, whatever the settings intend.
      const w = await api(WEBHOOK, { signal });
      const expectsWebhook = s.modo_telegram === 'webhook';
      const hasWebhook = w.modo === 'webhook';
      rows.push(
        [
          'Según Telegram',
          h(
            'span',
            { dataset: { webhookReal: w.modo }, id: 'webhook-real' },
            hasWebhook ? `webhook a ${w.url}` : 'sin webhook (el servicio consulta con long polling)',
          ),
        ],
        ['Mensajes sin leer', fmt.n(w.pendientes)],
        [
          'Último error',
          w.ultimo_error ? `${fmt.dateTime(w.ultimo_error.fecha)}: ${w.ultimo_error.mensaje}` : 'ninguno',
        ],
      );
      if (hasWebhook && !expectsWebhook) {
        webhook = h(
          'div',
          { class: 'notice warn', id: 'webhook-desajuste' },
          'Telegram entrega los mensajes a un webhook, pero este servicio espera long polling: el bot no ',
          'recibe nada hasta que vuelva a long polling.',
        );
      }
      tools = hasWebhook
        ? h(
            'div',
            { class: 'row section' },
            h(
              'button',
              {
                type: 'button',
                id: 'volver-polling',
                class: expectsWebhook ? '' : 'primary',
                async onclick(e) {
                  const ok = await confirmDialog(
                    'Volver a long polling',
                    'Se borra el webhook en Telegram (deleteWebhook) y el servicio vuelve a consultar a Telegram.',
                    { ok: 'Sí, volver a long polling' },
                  );
                  if (!ok) return;
                  e.target.disabled = true;
                  try {
                    const r = await api(WEBHOOK, { method: 'DELETE' });
                    toast(r?.descripcion ?? 'Webhook eliminado: el bot vuelve a long polling.', 'ok');
                    await renderTelegram(el, s, signal);
                  } catch (err) {
                    toast(err.message, 'bad');
                    e.target.disabled = false;
                  }
                },
              },
              'Volver a long polling',
            ),
          )
        : null;
    } catch (err) {
      webhook = h('div', { class: 'notice warn' }, err.message);
    }
  }
  mount(
    el,
    h('h2', null, 'Telegram'),
    kv(rows),
    webhook,
    tools,
    s.modo_telegram === 'sin_bot' ? null : testSend(),
    s.modo_telegram === 'sandbox'
      ? h('p', { class: 'small' }, h('a', { href: '/sandbox' }, 'Abrir el chat de prueba'))
      : null,
    envNote('TELEGRAM_BOT_TOKEN, PUBLIC_URL'),
  );
}

/**
 * A test message to a chosen client (search), written like a real notice ({nombre}, Telegram
 * HTML), rendered by the service as the real send, and Telegram's own answer shown as it came.
 */
function testSend() {
  const answer = h('div', { class: 'test-answer', id: 'respuesta-prueba', 'aria-live': 'polite' });
  const picker = clientPicker({ id: 'cliente-prueba', label: 'Cliente' });
  const text = h('textarea', {
    name: 'mensaje_prueba',
    id: 'mensaje-prueba',
    rows: 3,
    value: 'Hola {nombre}: este es un mensaje de prueba de {empresa}.',
  });
  const send = h('button', { type: 'button', id: 'enviar-prueba' }, 'Enviar prueba');
  send.addEventListener('click', async () => {
    if (!picker.client) {
      mount(answer, h('div', { class: 'notice warn' }, 'Busque y elija el cliente que recibirá la prueba.'));
      return;
    }
    send.disabled = true;
    mount(answer, loading('Enviando…'));
    try {
      const r = await api('/api/notificaciones/telegram/test/', {
        method: 'POST',
        body: { cliente_id: picker.client.id, mensaje: text.value },
      });
      const res = r.respuesta ?? {};
      mount(
        answer,
        h(
          'div',
          { class: 'notice ok', dataset: { resultado: 'ok' } },
          `Telegram lo aceptó: mensaje ${res.message_id ?? '—'} en el chat ${res.chat_id ?? '—'}`,
          res.fecha ? ` a las ${fmt.time(res.fecha)}` : '',
          '.',
        ),
        r.texto ? h('div', { class: 'message-text' }, telegramHtml(r.texto)) : null,
      );
    } catch (err) {
      mount(
        answer,
        h('div', { class: 'notice bad', dataset: { resultado: 'error', codigo: err.code } }, err.message),
      );
    } finally {
      send.disabled = false;
    }
  });
  return h(
    'div',
    { class: 'section', id: 'prueba-telegram' },
    h('h3', null, 'Mensaje de prueba'),
    picker,
    field('Mensaje (variables y HTML de Telegram, como en las plantillas)', text),
    send,
    answer,
  );
}

function renderSchedule(el, s) {
  const e = s.envio;
  const c = s.ciclo;
  mount(
    el,
    h('h2', null, 'Horario y reglas de envío'),
    kv([
      [
        'Ventana de envío',
        h(
          'strong',
          { dataset: { ventana: `${e.ventana.inicio}-${e.ventana.fin}` } },
          `${e.ventana.inicio} a ${e.ventana.fin}`,
        ),
      ],
      ['Zona horaria', s.zona_horaria],
      [
        'Ritmo',
        `${fmt.n(e.mensajes_por_segundo)} mensajes/s (máx. ${fmt.n(e.por_chat_por_segundo)}/s por chat)${e.envio_pagado ? ', envío pagado de Telegram' : ''}`,
      ],
      ['Intentos por mensaje', fmt.n(e.intentos_maximos)],
    ]),
    h('h3', null, 'Ciclo de cobro'),
    kv([
      ['Ciclo', `${fmt.n(c.dias)} días desde el último pago (o el día de pago fijo del cliente)`],
      ['Recordatorio', `${fmt.n(c.recordatorio_dias_antes)} días antes del vencimiento`],
      [
        'Aviso de vencido',
        `el día del vencimiento y cada ${fmt.n(c.vencido_repetir_cada_dias)} días, máximo ${fmt.n(c.vencido_maximo_avisos)}`,
      ],
      ['Avisar a suspendidos', yesNo(c.avisar_suspendidos)],
      ['Confirmar pagos recibidos', yesNo(c.confirmar_pago)],
    ]),
    h('h3', null, 'Planificador'),
    h(
      'ul',
      { class: 'list-plain' },
      s.planificador
        .filter((j) => !j.interna)
        .map((j) =>
          h(
            'li',
            { class: 'block' },
            h(
              'div',
              { class: 'row' },
              h('strong', null, label('tarea', j.tarea)),
              h('span', { class: 'spacer' }),
              `cada día a las ${j.hora}`,
            ),
            h(
              'div',
              { class: 'small muted' },
              `Próxima: ${fmt.dateTime(j.proxima)} · última: ${j.ultima ? fmt.dateTime(j.ultima.fecha) : 'nunca'}`,
            ),
          ),
        ),
    ),
    envNote('SEND_WINDOW, DAILY_RUN_AT, CYCLE_DAYS, REMINDER_DAYS_BEFORE…'),
  );
}

function renderCompany(el, s) {
  const e = s.empresa;
  mount(
    el,
    h('h2', null, 'Datos de la empresa'),
    h(
      'p',
      { class: 'small muted' },
      'Los clientes los ven en /contact y en los mensajes ({empresa}, {contacto}).',
    ),
    kv([
      ['Nombre', e.nombre],
      ['Teléfono', e.telefono || '—'],
      ['WhatsApp', e.whatsapp || '—'],
      ['Correo', e.email || '—'],
      ['Horario', e.horario || '—'],
      ['Dirección', e.direccion || '—'],
    ]),
    envNote('EMPRESA_NOMBRE, EMPRESA_TELEFONO…'),
  );
}

async function renderTemplates(el, signal) {
  const head = h('h2', null, 'Plantillas de mensajes');
  let data;
  let planes;
  let clientes;
  try {
    [data, planes, clientes] = await Promise.all([
      api('/api/plantillas', { signal }),
      api('/api/planes', { signal }).then((r) => r.planes),
      // One client to start the preview with; any other is found by searching.
      api(`/api/clientes${qs({ por_pagina: 1 })}`, { signal }).then((r) => r.clientes),
    ]);
  } catch (err) {
    mount(el, head, errorBox(err));
    return;
  }
  const types = [...new Set(data.plantillas.map((t) => t.tipo))];
  let pickedClient = null; // kept across template tabs
  let tipo = types[0];
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const editor = h('div', { id: 'editor-plantilla' });

  const find = (t, planId) => data.plantillas.find((p) => p.tipo === t && (p.plan_id ?? null) === planId);
  const reload = async () => {
    data = await api('/api/plantillas', { signal });
  };

  const showEditor = () => {
    for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.tipo === tipo));
    const plan = select(
      'plan_id',
      planes.map((p) => [p.id, `Solo el plan ${p.nombre}`]),
      '',
      'Todos los planes',
    );
    let previewClient = pickedClient ?? clientes[0] ?? null;
    const cliente = clientPicker({
      id: 'cliente-vista-previa',
      label: 'Vista previa con',
      initial: previewClient,
      onPick: (c) => {
        previewClient = c;
        pickedClient = c;
        refresh();
      },
    });
    const text = h('textarea', { name: 'texto', id: 'texto-plantilla', class: 'mono', rows: 8 });
    const status = h('div', { class: 'small muted', id: 'estado-plantilla' });
    const preview = h('div', { class: 'message-text', id: 'vista-previa', 'aria-live': 'polite' });
    const count = h('div', { class: 'small', id: 'longitud' });
    // SMS and e-mail (issue 11): a short SMS text (160 characters with long data) and a subject.
    const sms = h('textarea', { name: 'sms', id: 'texto-sms', class: 'mono', rows: 3, maxlength: 2000 });
    const asunto = h('input', { name: 'email_asunto', id: 'asunto-correo', type: 'text', maxlength: 2000 });
    const smsPreview = h('div', { class: 'message-text', id: 'vista-previa-sms', 'aria-live': 'polite' });
    const smsCount = h('div', { class: 'small', id: 'longitud-sms', 'aria-live': 'polite' });
    const asuntoPreview = h('div', { class: 'small muted', id: 'vista-previa-asunto' });
    const channelStatus = h('div', { class: 'small muted', id: 'estado-canales' });
    const findChannel = (t, planId) =>
      data.canales?.find((p) => p.tipo === t && (p.plan_id ?? null) === planId);

    const load = () => {
      const planId = plan.value ? Number(plan.value) : null;
      const t = find(tipo, planId) ?? find(tipo, null);
      text.value = t?.texto ?? '';
      const c = findChannel(tipo, planId) ?? findChannel(tipo, null);
      sms.value = c?.sms ?? '';
      asunto.value = c?.email_asunto ?? '';
      channelStatus.textContent =
        c && (!c.sms_predeterminado || !c.asunto_predeterminado) && c.actualizado_en
          ? `SMS y asunto modificados${c.actualizado_por ? ` por ${c.actualizado_por}` : ''} el ${fmt.dateTime(c.actualizado_en)}.`
          : 'SMS y asunto predeterminados.';
      status.textContent = find(tipo, planId)
        ? t.predeterminada
          ? 'Texto predeterminado.'
          : `Modificada${t.actualizado_por ? ` por ${t.actualizado_por}` : ''} el ${fmt.dateTime(t.actualizado_en)}.`
        : planId
          ? 'Este plan usa la plantilla general; al guardar, tendrá una propia.'
          : '';
      refresh();
    };
    let seq = 0;
    const refresh = debounce(async () => {
      const my = ++seq;
      if (!previewClient || !text.value.trim()) {
        mount(preview, h('span', { class: 'muted' }, 'Sin clientes para la vista previa.'));
        return;
      }
      try {
        const r = await api(`/api/plantillas/${tipo}/vista-previa`, {
          method: 'POST',
          body: {
            cliente_id: previewClient.id,
            texto: text.value,
            ...(sms.value.trim() && { sms: sms.value }),
            ...(asunto.value.trim() && { email_asunto: asunto.value }),
          },
          signal,
        });
        if (my !== seq) return;
        mount(preview, telegramHtml(r.texto));
        if (r.sms) {
          smsPreview.textContent = r.sms.texto;
          smsCount.className = `small ${r.sms.dentro_del_limite ? 'muted' : 'error'}`;
          smsCount.textContent = r.sms.dentro_del_limite
            ? `SMS: ${fmt.n(r.sms.longitud)} de ${fmt.n(r.sms.limite)} caracteres`
            : `SMS: ${r.sms.motivo ?? `${fmt.n(r.sms.longitud)} de ${fmt.n(r.sms.limite)} caracteres: demasiado largo`}`;
        }
        if (r.correo) asuntoPreview.textContent = r.correo.asunto ? `Asunto: ${r.correo.asunto}` : '';
        count.className = `small ${r.dentro_del_limite ? 'muted' : 'error'}`;
        count.textContent = `${fmt.n(r.longitud)} de ${fmt.n(r.limite)} caracteres${r.dentro_del_limite ? '' : ': demasiado largo para un mensaje de Telegram'}`;
      } catch (err) {
        if (my !== seq || err?.name === 'AbortError') return;
        mount(preview, h('span', { class: 'error' }, err.message));
        count.textContent = '';
      }
    }, 250);
    text.addEventListener('input', refresh);
    sms.addEventListener('input', refresh);
    asunto.addEventListener('input', refresh);
    plan.addEventListener('change', load);

    const insert = (v) => {
      const [a, b] = [text.selectionStart, text.selectionEnd];
      text.setRangeText(`{${v}}`, a, b, 'end');
      text.focus();
      refresh();
    };
    const save = async () => {
      try {
        await api(`/api/plantillas/${tipo}`, {
          method: 'PUT',
          body: { texto: text.value, plan_id: plan.value ? Number(plan.value) : null },
        });
        await reload();
        toast('Plantilla guardada.', 'ok');
        load();
      } catch (err) {
        toast(err.message, 'bad');
      }
    };
    const saveChannels = async () => {
      try {
        await api(`/api/plantillas/${tipo}/canales`, {
          method: 'PUT',
          body: {
            sms: sms.value.trim() || null,
            email_asunto: asunto.value.trim() || null,
            plan_id: plan.value ? Number(plan.value) : null,
          },
        });
        await reload();
        toast('SMS y asunto guardados.', 'ok');
        load();
      } catch (err) {
        toast(err.message, 'bad');
      }
    };
    const restore = async () => {
      const planId = plan.value ? Number(plan.value) : null;
      const ok = await confirmDialog(
        'Volver al texto anterior',
        planId
          ? 'Este plan volverá a usar la plantilla general.'
          : 'La plantilla vuelve al texto predeterminado.',
        { ok: 'Restablecer', danger: true },
      );
      if (!ok) return;
      try {
        await api(`/api/plantillas/${tipo}${qs({ plan_id: planId ?? '' })}`, { method: 'DELETE' });
        await reload();
        toast('Plantilla restablecida.', 'ok');
        load();
      } catch (err) {
        toast(err.message, 'bad');
      }
    };

    mount(
      editor,
      h('div', { class: 'form-grid' }, field('Aplicar a', plan), cliente),
      h(
        'div',
        { class: 'grid-2' },
        h(
          'div',
          null,
          field('Texto (HTML de Telegram: <b>, <i>, <a href>…)', text),
          h(
            'div',
            { class: 'row small' },
            'Insertar: ',
            Object.entries(data.variables).map(([v, desc]) =>
              h(
                'button',
                { type: 'button', class: 'small', title: desc, onclick: () => insert(v) },
                `{${v}}`,
              ),
            ),
          ),
          status,
        ),
        h('div', null, h('label', null, 'Así lo verá el cliente'), preview, count),
      ),
      h(
        'div',
        { class: 'row section' },
        h('button', { type: 'button', class: 'primary', onclick: save }, 'Guardar plantilla'),
        h('button', { type: 'button', onclick: restore }, 'Restablecer'),
      ),
      h(
        'div',
        { class: 'grid-2 section' },
        h(
          'div',
          null,
          field('Texto SMS (texto simple, máximo 160 caracteres con datos reales; sin tildes ni ñ)', sms),
          field('Asunto del correo (el cuerpo es la plantilla de arriba)', asunto),
          channelStatus,
        ),
        h('div', null, h('label', null, 'SMS que recibirá'), smsPreview, smsCount, asuntoPreview),
      ),
      h(
        'div',
        { class: 'row section' },
        h('button', { type: 'button', class: 'primary', onclick: saveChannels }, 'Guardar SMS y asunto'),
      ),
    );
    load();
  };

  mount(
    tabs,
    types.map((t) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          dataset: { tipo: t },
          onclick: () => {
            tipo = t;
            showEditor();
          },
        },
        label('tipo', t),
      ),
    ),
  );
  mount(el, head, tabs, editor);
  showEditor();
}

/** Meta's template states, as staff read them. */
const QUALITY = { GREEN: 'alta', YELLOW: 'media', RED: 'baja', UNKNOWN: 'sin datos' };
const TIER = {
  TIER_50: '50 clientes distintos por día',
  TIER_250: '250 clientes distintos por día',
  TIER_1K: '1.000 clientes distintos por día',
  TIER_10K: '10.000 clientes distintos por día',
  TIER_100K: '100.000 clientes distintos por día',
  TIER_UNLIMITED: 'sin límite',
};

/**
 * WhatsApp (issue 10 §10): token valid, the number, its quality and sending tier, templates by
 * approval state, the last error; "Probar" sends a real message to a chosen client.
 */
async function renderWhatsApp(el, signal) {
  const head = h('h2', null, 'WhatsApp');
  let s;
  try {
    s = await api('/api/whatsapp/estado', { signal });
  } catch (err) {
    mount(el, head, errorBox(err));
    return;
  }
  if (!s.configurado) {
    mount(
      el,
      head,
      h(
        'p',
        { class: 'muted', dataset: { whatsapp: 'no_configurado' } },
        'No configurado: defina WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_BUSINESS_ACCOUNT_ID, ' +
          'WHATSAPP_APP_SECRET y WHATSAPP_VERIFY_TOKEN y reinicie (paso a paso en el README, «WhatsApp Business»).',
      ),
    );
    return;
  }
  const token =
    s.token_valido === true
      ? h('span', { class: 'badge ok', dataset: { valor: 'valido' } }, 'válido')
      : s.token_valido === false
        ? h('span', { class: 'badge bad', dataset: { valor: 'invalido' } }, 'inválido o vencido')
        : h('span', { class: 'badge warn', dataset: { valor: 'desconocido' } }, 'no se pudo comprobar');
  const p = s.plantillas;
  mount(
    el,
    head,
    s.simulado
      ? h(
          'p',
          { class: 'notice' },
          'Sandbox: WhatsApp está simulado dentro del servicio; nada sale hacia Meta.',
        )
      : null,
    kv([
      ['Token', [token, s.detalle ? h('div', { class: 'small muted' }, s.detalle) : null]],
      s.numero
        ? ['Número', `${s.numero.telefono ?? '—'}${s.numero.nombre ? ` (${s.numero.nombre})` : ''}`]
        : null,
      s.numero ? ['Calidad', QUALITY[s.numero.calidad] ?? s.numero.calidad ?? '—'] : null,
      s.numero ? ['Nivel de envíos', TIER[s.numero.nivel] ?? s.numero.nivel ?? '—'] : null,
      [
        'Plantillas',
        h(
          'span',
          { id: 'whatsapp-plantillas', dataset: { aprobadas: p.aprobadas } },
          `${p.aprobadas} aprobadas · ${p.pendientes} en revisión · ${p.rechazadas} rechazadas o pausadas`,
        ),
      ],
      ['Sincronizadas', s.sincronizado_en ? fmt.dateTime(s.sincronizado_en) : 'todavía no'],
      s.error_sincronizacion ? ['Error al sincronizar', s.error_sincronizacion] : null,
      [
        'Último error',
        s.ultimo_error ? `${fmt.dateTime(s.ultimo_error.fecha)}: ${s.ultimo_error.mensaje}` : 'ninguno',
      ],
    ]),
    whatsappTestSend(),
  );
}

function whatsappTestSend() {
  const answer = h('div', { class: 'test-answer', id: 'respuesta-prueba-whatsapp', 'aria-live': 'polite' });
  const picker = clientPicker({ id: 'cliente-prueba-whatsapp', label: 'Cliente' });
  const send = h('button', { type: 'button', id: 'probar-whatsapp' }, 'Probar');
  send.addEventListener('click', async () => {
    if (!picker.client) {
      mount(answer, h('div', { class: 'notice warn' }, 'Busque y elija el cliente que recibirá la prueba.'));
      return;
    }
    send.disabled = true;
    mount(answer, loading('Enviando…'));
    try {
      const r = await api('/api/whatsapp/probar', { method: 'POST', body: { cliente_id: picker.client.id } });
      mount(
        answer,
        r.ok
          ? h(
              'div',
              { class: 'notice ok', dataset: { resultado: 'ok' } },
              r.como === 'texto'
                ? 'WhatsApp aceptó el mensaje de prueba (texto libre: el cliente escribió en las últimas 24 h).'
                : `WhatsApp aceptó la plantilla «${r.plantilla}» (el cliente no escribió en las últimas 24 h).`,
              h('div', { class: 'small mono' }, r.proveedor_id),
            )
          : h(
              'div',
              { class: 'notice bad', dataset: { resultado: 'error' } },
              `WhatsApp lo rechazó: ${r.error}`,
            ),
      );
    } catch (err) {
      mount(
        answer,
        h('div', { class: 'notice bad', dataset: { resultado: 'error', codigo: err.code } }, err.message),
      );
    } finally {
      send.disabled = false;
    }
  });
  return h(
    'div',
    { class: 'section', id: 'prueba-whatsapp' },
    h('h3', null, 'Mensaje de prueba por WhatsApp'),
    h(
      'p',
      { class: 'small muted' },
      'Un mensaje real al número de WhatsApp del cliente: texto libre si le escribió en las últimas 24 horas; si no, ' +
        'la plantilla de bienvenida, solo si aceptó recibir WhatsApp.',
    ),
    picker,
    send,
    answer,
  );
}
