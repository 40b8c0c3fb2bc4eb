import { api, qs } from '../api.js';
import {
  badge,
  clientPicker,
  confirmDialog,
  dataTable,
  debounce,
  errorBox,
  field,
  fmt,
  h,
  label,
  loading,
  meter,
  mount,
  options,
  pager,
  select,
  sendWait,
  telegramHtml,
  toast,
} from '../ui.js';

// Campañas: compose from a template or free text, pick the audience with filters (live count and a
// sample from `masiva` with vista_previa), send a test to one chat, launch (an Idempotency-Key makes a
// double-click one campaign), watch the progress bar, cancel.

const MASIVA = '/api/notificaciones/masiva/';
const TIPOS = ['mantenimiento', 'oferta', 'manual'];

export async function render(root, { params, query, signal, go }) {
  document.title = 'Campañas — TelTec Notificaciones';
  if (params[0]) {
    await renderCampaign(root, Number(params[0]), signal);
    return;
  }
  const listBox = h(
    'div',
    { class: 'card', id: 'lista-campanas' },
    h('h2', null, 'Campañas enviadas'),
    loading(),
  );
  const composer = h('div', { class: 'card', id: 'nueva-campana' });
  mount(root, h('div', { class: 'page-head' }, h('h1', null, 'Campañas')), composer, listBox);
  await Promise.allSettled([
    renderComposer(composer, signal, go),
    renderList(listBox, Number(query.get('pagina')) || 1, signal),
  ]);
}

async function renderList(el, pagina, signal) {
  const head = h('h2', null, 'Campañas enviadas');
  let r;
  let settings;
  try {
    [r, settings] = await Promise.all([
      api(`/api/campanas${qs({ pagina, por_pagina: 10 })}`, { signal }),
      api('/api/ajustes', { signal }),
    ]);
  } catch (err) {
    mount(el, head, errorBox(err));
    return;
  }
  mount(
    el,
    head,
    r.campanas.length
      ? dataTable(
          ['Creada', 'Nombre', 'Tipo', 'Estado', 'Progreso'],
          r.campanas.map((c) => {
            const p = progressOf(c);
            const wait = waitOf(c, settings);
            return h(
              'tr',
              {
                class: 'clickable',
                dataset: { id: c.id },
                onclick: () => (location.hash = `#/campanas/${c.id}`),
              },
              h('td', { 'data-label': 'Creada' }, fmt.dateTime(c.creado_en)),
              h(
                'td',
                { class: 'primary-cell', 'data-label': 'Nombre' },
                h('a', { href: `#/campanas/${c.id}` }, c.nombre),
              ),
              h(
                'td',
                { 'data-label': 'Tipo' },
                label('tipo', c.tipo),
                c.urgente ? [' ', h('span', { class: 'badge warn' }, 'urgente')] : null,
              ),
              h('td', { 'data-label': 'Estado' }, campaignBadge(c, wait)),
              h(
                'td',
                { 'data-label': 'Progreso' },
                `${fmt.n(p.sent)} de ${fmt.n(p.total)} enviadas`,
                wait ? h('div', { class: 'small muted' }, wait) : null,
              ),
            );
          }),
        )
      : h('p', { class: 'muted' }, 'Todavía no hay campañas.'),
    r.total > 10
      ? pager({ pagina, porPagina: 10, total: r.total, onPage: (p) => renderList(el, p, signal) })
      : null,
  );
}

/**
 * Progress counts of a campaign. `pct` is how much of it was dealt with (sent, failed or closed);
 * a cancelled campaign's bar shows what was sent, never a full bar.
 */
export function progressOf(c) {
  const p = c.progreso;
  const total = c.total;
  const done = p.enviadas + p.fallidas + p.canceladas;
  const count = c.estado === 'cancelada' ? p.enviadas : done;
  return {
    total,
    sent: p.enviadas,
    failed: p.fallidas,
    cancelled: p.canceladas,
    queued: p.pendientes,
    done,
    pct: total ? Math.floor((count / total) * 100) : c.estado === 'cancelada' ? 0 : 100,
  };
}

/** A running campaign that waits for the send window: "sale a las 08:00 (fuera del horario de envío)". */
function waitOf(c, settings) {
  if (c.estado !== 'en_curso' || c.progreso.pendientes === 0) return null;
  return sendWait(settings, { urgente: c.urgente, tipo: c.tipo });
}

function campaignBadge(c, wait) {
  if (wait) return h('span', { class: 'badge warn', dataset: { valor: 'esperando' } }, 'Espera el horario');
  return badge('campana_estado', c.estado);
}

async function renderComposer(el, signal, go) {
  const head = h('h2', null, 'Nueva campaña');
  const [planes, sectores] = await Promise.all([
    api('/api/planes', { signal }).then((r) => r.planes),
    api('/api/sectores', { signal }).then((r) => r.sectores),
  ]);
  // One key per composed campaign: a double-click or a retry after a timeout creates it once.
  let idempotencyKey = crypto.randomUUID();
  let lastPreview = null;

  const form = h('form', { id: 'form-campana', novalidate: true });
  const preview = h('div', { id: 'audiencia', 'aria-live': 'polite' });
  const nombre = h('input', {
    type: 'text',
    name: 'nombre',
    maxlength: 200,
    placeholder: 'Mantenimiento Cumbayá jueves',
  });
  const tipo = select(
    'tipo',
    TIPOS.map((t) => [t, label('tipo', t)]),
    'mantenimiento',
  );
  const usarPlantilla = h('input', { type: 'checkbox', name: 'usar_plantilla' });
  const mensaje = h('textarea', {
    name: 'mensaje',
    placeholder:
      'Estimado/a {nombre}: el jueves de 09:00 a 12:00 haremos mantenimiento en su sector. Disculpe las molestias.',
  });
  const filtros = {
    sector: select(
      'sector',
      sectores.map((s) => [s.nombre, `${s.nombre} (${fmt.n(s.clientes)})`]),
      '',
      'Todos los sectores',
    ),
    plan: select(
      'plan',
      planes.map((p) => [p.nombre, p.nombre]),
      '',
      'Todos los planes',
    ),
    estado: select('estado', options('estado'), 'activo', 'Todos'),
    estado_pago: select('estado_pago', options('estado_pago'), '', 'Cualquier pago'),
  };
  const urgente = h('input', { type: 'checkbox', name: 'urgente' });
  // The test goes to a chosen client, rendered for that client exactly as the real send.
  const testClient = clientPicker({ id: 'cliente-prueba', label: 'Cliente de prueba' });
  const testAnswer = h('div', { class: 'test-answer', id: 'respuesta-prueba', 'aria-live': 'polite' });
  const mensajeField = field(
    'Mensaje',
    mensaje,
    'Variables: {nombre}, {plan}, {empresa}, {contacto}. Formato de Telegram: <b>negrita</b>, <i>cursiva</i>.',
  );

  const body = (extra = {}) => {
    const f = {};
    for (const [k, el] of Object.entries(filtros)) if (el.value) f[k] = el.value;
    const b = { tipo: tipo.value, filtros: f, urgente: urgente.checked, ...extra };
    if (nombre.value.trim()) b.nombre = nombre.value.trim();
    // With the saved template, the typed text is its {mensaje}: never dropped.
    if (usarPlantilla.checked) b.plantilla = tipo.value;
    if (mensaje.value.trim()) b.mensaje = mensaje.value.trim();
    return b;
  };
  const ready = () => usarPlantilla.checked || mensaje.value.trim() !== '';

  let previewSeq = 0;
  const refreshPreview = debounce(async () => {
    const my = ++previewSeq;
    idempotencyKey = crypto.randomUUID(); // a changed campaign is a new campaign
    if (!ready()) {
      lastPreview = null;
      mount(preview, h('p', { class: 'muted' }, 'Escriba el mensaje para ver a quién le llegaría.'));
      return;
    }
    try {
      const r = await api(MASIVA, { method: 'POST', body: body({ vista_previa: true }), signal });
      if (my !== previewSeq) return;
      lastPreview = r;
      mount(preview, audienceView(r));
    } catch (err) {
      if (my !== previewSeq || err?.name === 'AbortError') return;
      lastPreview = null;
      mount(preview, errorBox(err));
    }
  }, 300);

  const launch = h('button', { type: 'submit', class: 'primary', id: 'lanzar' }, 'Lanzar campaña');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!ready()) {
      toast('Escriba el mensaje o use la plantilla.', 'bad');
      return;
    }
    const count = lastPreview?.audiencia;
    const ok = await confirmDialog(
      'Lanzar campaña',
      count === undefined
        ? 'Se enviará a los clientes con Telegram que cumplan los filtros.'
        : `Se enviará a ${fmt.n(count)} clientes con Telegram.`,
      { ok: 'Lanzar' },
    );
    if (!ok) return;
    launch.disabled = true;
    try {
      const r = await api(MASIVA, {
        method: 'POST',
        body: body(),
        headers: { 'idempotency-key': idempotencyKey },
      });
      toast('Campaña lanzada.', 'ok');
      go(`/campanas/${r.campana.id}`);
    } catch (err) {
      toast(err.message, 'bad');
      launch.disabled = false;
    }
  });

  const sendTest = async () => {
    if (!ready() || !testClient.client) {
      toast('Escriba el mensaje y elija el cliente de prueba.', 'bad');
      return;
    }
    const b = { cliente_id: testClient.client.id, tipo: tipo.value };
    if (usarPlantilla.checked) b.plantilla = tipo.value;
    if (mensaje.value.trim()) b.mensaje = mensaje.value.trim();
    mount(testAnswer, loading('Enviando…'));
    try {
      const r = await api('/api/notificaciones/telegram/test/', { method: 'POST', body: b });
      const res = r.respuesta ?? {};
      mount(
        testAnswer,
        h(
          'div',
          { class: 'notice ok', dataset: { resultado: 'ok' } },
          `Telegram lo aceptó: mensaje ${res.message_id ?? '—'} en el chat ${res.chat_id ?? '—'}.`,
        ),
      );
    } catch (err) {
      mount(testAnswer, h('div', { class: 'notice bad', dataset: { resultado: 'error' } }, err.message));
    }
  };

  for (const el of [tipo, usarPlantilla, urgente, ...Object.values(filtros)])
    el.addEventListener('change', refreshPreview);
  mensaje.addEventListener('input', refreshPreview);
  mount(
    form,
    h('h3', null, '1. Qué enviar'),
    h('div', { class: 'form-grid' }, field('Tipo', tipo), field('Nombre (opcional)', nombre)),
    h(
      'label',
      { class: 'check' },
      usarPlantilla,
      'Usar la plantilla guardada de este tipo (se edita en Ajustes)',
    ),
    mensajeField,
    h('label', { class: 'check' }, urgente, 'Urgente: enviar ya, también fuera del horario de envío'),
    h('h3', { class: 'section' }, '2. A quién'),
    h(
      'div',
      { class: 'form-grid' },
      field('Sector', filtros.sector),
      field('Plan', filtros.plan),
      field('Estado del servicio', filtros.estado),
      field('Pago', filtros.estado_pago),
    ),
    preview,
    h('h3', { class: 'section' }, '3. Probar y lanzar'),
    h('div', { class: 'form-grid' }, testClient),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', id: 'enviar-prueba', onclick: sendTest }, 'Enviar prueba'),
      h('span', { class: 'spacer' }),
      launch,
    ),
    testAnswer,
  );
  mount(el, head, form);
  refreshPreview();
}

function audienceView(r) {
  const excluded = Object.entries(r.excluidos ?? {}).filter(([, v]) => v > 0);
  return h(
    'div',
    null,
    h(
      'p',
      null,
      h('strong', { dataset: { cifra: 'audiencia', valor: r.audiencia } }, fmt.n(r.audiencia)),
      ' clientes con Telegram recibirán este mensaje.',
    ),
    excluded.length
      ? h(
          'p',
          { class: 'muted small' },
          'Quedan fuera: ',
          excluded.map(([k, v]) => `${fmt.n(v)} ${label('excluidos', k)}`).join(' · '),
          '.',
        )
      : null,
    r.muestra?.length
      ? h(
          'details',
          { open: true, id: 'muestra' },
          // The count said is the count shown.
          h(
            'summary',
            { class: 'small' },
            `Así lo verán (${r.muestra.length} ${r.muestra.length === 1 ? 'ejemplo' : 'ejemplos'})`,
          ),
          r.muestra.map((s) =>
            h(
              'div',
              null,
              h('div', { class: 'small muted section' }, s.nombre),
              h('div', { class: 'message-text' }, telegramHtml(s.texto)),
            ),
          ),
        )
      : null,
  );
}

async function renderCampaign(root, id, signal) {
  const back = h('a', { href: '#/campanas', class: 'small' }, '← Campañas');
  const card = h('div', { class: 'card', id: 'campana' }, loading());
  const title = h('h1', null, `Campaña ${id}`);
  mount(root, h('div', { class: 'page-head' }, h('div', null, back, title)), card);
  const sample = h('div', { id: 'muestra-campana' });
  let sampleLoaded = false;
  // Polls once a second until the campaign ends; stops when the page changes (signal).
  for (;;) {
    const [c, settings] = await Promise.all([
      api(`/api/campanas/${id}`, { signal }),
      api('/api/ajustes', { signal }),
    ]);
    title.textContent = c.nombre;
    const p = progressOf(c);
    const wait = waitOf(c, settings);
    const cancelled = c.estado === 'cancelada';
    if (!sampleLoaded) {
      sampleLoaded = true;
      loadSample(sample, c, signal);
    }
    mount(
      card,
      h(
        'div',
        { class: 'row' },
        campaignBadge(c, wait),
        h('span', { class: 'muted' }, label('tipo', c.tipo), c.urgente ? ' · urgente' : ''),
        h('span', { class: 'spacer' }),
        c.estado === 'en_curso'
          ? h(
              'button',
              {
                class: 'danger small',
                id: 'cancelar-campana',
                async onclick() {
                  const ok = await confirmDialog(
                    'Cancelar campaña',
                    'Los mensajes que aún no salieron no se enviarán.',
                    { ok: 'Sí, cancelar', cancel: 'Volver', danger: true },
                  );
                  if (!ok) return;
                  try {
                    await api(`/api/campanas/${id}/cancelar`, { method: 'POST', body: {} });
                    toast('Campaña cancelada.', 'ok');
                  } catch (err) {
                    toast(err.message, 'bad');
                  }
                },
              },
              'Cancelar campaña',
            )
          : null,
      ),
      meter(p.pct, {
        tone: cancelled || wait ? 'muted' : 'ok',
        big: true,
        id: 'progreso',
        'aria-label': cancelled ? 'Enviadas antes de cancelar' : 'Progreso',
      }),
      h(
        'p',
        { dataset: { progreso: p.pct }, id: 'resumen-progreso' },
        cancelled
          ? h('strong', null, `Cancelada: salieron ${fmt.n(p.sent)} de ${fmt.n(p.total)}`)
          : wait
            ? h('strong', { class: 'espera' }, `${fmt.n(p.queued)} en cola: ${wait}`)
            : h('strong', null, `${p.pct} %`),
        ` · ${fmt.n(p.sent)} enviadas · ${fmt.n(p.queued)} en cola · ${fmt.n(p.failed)} fallidas · ${fmt.n(p.cancelled)} ${cancelled ? 'no salieron' : 'canceladas'} · ${fmt.n(p.total)} en total`,
      ),
      sample,
      h(
        'dl',
        { class: 'kv small section' },
        h('dt', null, 'Creada'),
        h('dd', null, `${fmt.dateTime(c.creado_en)}${c.creado_por ? ` por ${c.creado_por}` : ''}`),
        h('dt', null, 'Filtros'),
        h(
          'dd',
          null,
          Object.entries(c.filtros)
            .map(([k, v]) => `${k.replace('_', ' ')}: ${v}`)
            .join(' · ') || 'todos los clientes',
        ),
        Object.values(c.excluidos ?? {}).some((v) => v > 0)
          ? [
              h('dt', null, 'Quedaron fuera'),
              h(
                'dd',
                null,
                Object.entries(c.excluidos)
                  .filter(([, v]) => v > 0)
                  .map(([k, v]) => `${fmt.n(v)} ${label('excluidos', k)}`)
                  .join(' · '),
              ),
            ]
          : null,
        c.cancelado_en ? [h('dt', null, 'Cancelada'), h('dd', null, fmt.dateTime(c.cancelado_en))] : null,
      ),
      h('a', { href: `#/notificaciones${qs({ campana_id: id })}` }, 'Ver sus notificaciones'),
    );
    if (c.estado !== 'en_curso') return;
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, 1000);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(new DOMException('aborted', 'AbortError'));
        },
        { once: true },
      );
    });
  }
}

/**
 * What a client of this campaign reads, rendered by the service exactly as it is sent (never the
 * raw source with `{nombre}` and tags): the campaign's own sample when the API gives one, else
 * the service's preview of the same text.
 */
async function loadSample(el, c, signal) {
  const show = (s) =>
    mount(
      el,
      h('div', { class: 'small muted' }, `Así lo recibe ${s.nombre ?? 'un cliente'}:`),
      h('div', { class: 'message-text', dataset: { muestra: '' } }, telegramHtml(s.texto)),
    );
  const own = Array.isArray(c.muestra) ? c.muestra[0] : c.muestra;
  if (own?.texto) {
    show(own);
    return;
  }
  if (own?.motivo) {
    mount(el, h('p', { class: 'muted' }, `${own.nombre}: no se envía (${label('motivo', own.motivo)}).`));
    return;
  }
  try {
    const body = { tipo: c.tipo, filtros: c.filtros ?? {}, urgente: c.urgente, vista_previa: true };
    if (c.mensaje) body.mensaje = c.mensaje;
    if (c.plantilla) body.plantilla = c.plantilla;
    const r = await api(MASIVA, { method: 'POST', body, signal });
    if (r.muestra?.[0]) show(r.muestra[0]);
    else if (c.plantilla) mount(el, h('p', { class: 'muted' }, `Plantilla: ${label('tipo', c.plantilla)}`));
  } catch (err) {
    if (err?.name !== 'AbortError') mount(el, h('p', { class: 'muted small' }, err.message));
  }
}
