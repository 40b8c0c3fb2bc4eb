import { api, download, qs } from '../api.js';
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
  meter,
  mount,
  options,
  select,
  toast,
} from '../ui.js';
import { progressOf } from './campanas.js';

// Invitations in bulk for every client without Telegram: a CSV of links (for a mail merge or
// WhatsApp) and printable cards with the QR and the name (for invoices and the office counter);
// and the same one-time link sent by SMS, e-mail or WhatsApp template as a mass send (preview,
// progress, cancel), with the funnel per channel (sent → opened the bot → linked).

const CSV = '/api/invitaciones/enlaces.csv';
const PRINT = '/api/invitaciones/imprimir';
const ENVIOS = '/api/invitaciones/envios';
const CANALES = [
  ['sms', 'SMS'],
  ['email', 'Correo electrónico'],
  ['whatsapp', 'WhatsApp (plantilla invitacion_bot)'],
];
const canalLabel = (c) => label('canal', c);
const excludedLabel = (k) =>
  k === 'ya_en_cola' ? 'ya tienen una invitación en cola por este canal' : label('motivo', k);

export async function render(root, { signal }) {
  document.title = 'Invitaciones — TelTec Notificaciones';
  const head = h(
    'div',
    { class: 'page-head' },
    h(
      'div',
      null,
      h('a', { href: '#/clientes', class: 'small no-print' }, '← Clientes'),
      h('h1', null, 'Invitaciones a Telegram'),
    ),
  );
  const sectores = (await api('/api/sectores', { signal })).sectores;
  const sector = select(
    'sector',
    sectores.map((s) => [s.nombre, s.nombre]),
    '',
    'Todos los sectores',
  );
  const estado = select('estado', options('estado'), 'activo', 'Todos');
  const cards = h('div', { id: 'tarjetas' });
  const filters = () => ({ sector: sector.value, estado: estado.value });

  const preview = async () => {
    mount(cards, loading('Preparando las tarjetas…'));
    try {
      const html = await api(`${PRINT}${qs({ ...filters(), por_pagina: 300 })}`, { signal });
      // Our own API's page, escaped there; parsed inert and only its cards (SVG + text) are taken.
      const doc = new DOMParser().parseFromString(html, 'text/html');
      for (const s of doc.querySelectorAll('script, style, link')) s.remove();
      const figures = [...doc.querySelectorAll('figure')];
      const intro = doc.querySelector('header p')?.textContent ?? '';
      mount(
        cards,
        h('p', { class: 'muted no-print' }, intro),
        figures.length
          ? h(
              'div',
              { class: 'invite-grid' },
              figures.map((f) => document.importNode(f, true)),
            )
          : h('p', { class: 'muted' }, 'Todos los clientes de este filtro ya tienen Telegram.'),
      );
    } catch (err) {
      mount(cards, errorBox(err));
    }
  };

  // ------------------------------------------------------------ sending by SMS, e-mail or WhatsApp
  const canal = select('canal', CANALES, 'sms');
  const sendPreview = h('div', { id: 'vista-envio', 'aria-live': 'polite' });
  const progress = h('div', { id: 'progreso-envio', 'aria-live': 'polite' });
  const funnel = h('div', { id: 'embudo' }, loading());
  let idempotencyKey = crypto.randomUUID();
  let lastPreview = null;
  // Empty filters ("Todos") are left out, as in the query string of the CSV.
  const sendBody = () => ({
    canal: canal.value,
    ...Object.fromEntries(Object.entries(filters()).filter(([, v]) => v !== '')),
  });
  const resetKey = () => {
    idempotencyKey = crypto.randomUUID(); // another selection is another send
    lastPreview = null;
    mount(sendPreview);
  };
  for (const el of [canal, sector, estado]) el.addEventListener('change', resetKey);

  const previewSend = async () => {
    mount(sendPreview, loading('Calculando…'));
    try {
      lastPreview = await api(`${ENVIOS}/vista-previa`, { method: 'POST', body: sendBody(), signal });
      mount(sendPreview, previewView(lastPreview));
    } catch (err) {
      mount(sendPreview, errorBox(err));
    }
  };

  const sendNow = async () => {
    const count = lastPreview?.canal === canal.value ? lastPreview.audiencia : undefined;
    const ok = await confirmDialog(
      `Enviar invitaciones por ${canalLabel(canal.value)}`,
      count === undefined
        ? 'Cada cliente sin Telegram de la selección que este canal alcanza recibirá su enlace una sola vez.'
        : `Se enviará el enlace a ${fmt.n(count)} clientes sin Telegram.`,
      { ok: 'Enviar' },
    );
    if (!ok) return;
    try {
      const envio = await api(ENVIOS, {
        method: 'POST',
        body: sendBody(),
        headers: { 'idempotency-key': idempotencyKey },
      });
      toast('Envío de invitaciones en curso.', 'ok');
      resetKey();
      watch(envio.id);
    } catch (err) {
      toast(err.message, 'bad');
    }
  };

  // Polls the send once a second until it ends (or the page changes), then refreshes the funnel.
  const watch = async (id) => {
    try {
      for (;;) {
        const e = await api(`${ENVIOS}/${id}`, { signal });
        mount(
          progress,
          progressView(e, () => cancelSend(id)),
        );
        if (e.estado !== 'en_curso') break;
        await sleep(1000, signal);
      }
      await loadFunnel();
    } catch (err) {
      if (err?.name !== 'AbortError') mount(progress, errorBox(err));
    }
  };

  const cancelSend = async (id) => {
    const ok = await confirmDialog(
      'Cancelar el envío',
      'Las invitaciones que aún no salieron no se enviarán.',
      {
        ok: 'Sí, cancelar',
        danger: true,
      },
    );
    if (!ok) return;
    try {
      await api(`${ENVIOS}/${id}/cancelar`, { method: 'POST', body: {} });
      toast('Envío cancelado.', 'ok');
    } catch (err) {
      toast(err.message, 'bad');
    }
  };

  const loadFunnel = async () => {
    try {
      const [f, recent] = await Promise.all([
        api('/api/invitaciones/embudo', { signal }),
        api(`${ENVIOS}${qs({ limite: 5 })}`, { signal }),
      ]);
      mount(funnel, funnelView(f.canales), recentView(recent.envios, watch));
    } catch (err) {
      if (err?.name !== 'AbortError') mount(funnel, errorBox(err));
    }
  };

  mount(
    root,
    head,
    h(
      'div',
      { class: 'card no-print' },
      h(
        'p',
        null,
        'Cada cliente sin Telegram recibe un enlace de un solo uso: al abrirlo, el bot lo vincula sin pedir la cédula. Se crean las invitaciones que falten.',
      ),
      h('div', { class: 'form-grid' }, field('Sector', sector), field('Estado', estado)),
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              download(`${CSV}${qs(filters())}`, 'invitaciones.csv').catch((e) => toast(e.message, 'bad')),
          },
          'Descargar enlaces (CSV)',
        ),
        h('button', { type: 'button', onclick: preview }, 'Ver tarjetas con QR'),
        h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, 'Imprimir'),
      ),
    ),
    h(
      'div',
      { class: 'card no-print', id: 'enviar-invitaciones' },
      h('h2', null, 'Enviar el enlace por SMS, correo o WhatsApp'),
      h(
        'p',
        { class: 'muted small' },
        'Con los filtros de arriba. Solo a clientes que el canal alcanza: con celular o correo registrado y sin baja; ' +
          'por WhatsApp, con su consentimiento y la plantilla invitacion_bot aprobada. Si el cliente se vincula antes ' +
          'de que salga su mensaje, ya no se envía.',
      ),
      h('div', { class: 'form-grid' }, field('Canal', canal)),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', id: 'vista-previa-envio', onclick: previewSend }, 'Vista previa'),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'primary', id: 'enviar-envio', onclick: sendNow }, 'Enviar'),
      ),
      sendPreview,
      progress,
    ),
    h('div', { class: 'card no-print' }, h('h2', null, 'Embudo por canal'), funnel),
    cards,
  );
  await loadFunnel();
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
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

function previewView(r) {
  const excluded = Object.entries(r.excluidos).filter(([, v]) => v > 0);
  return h(
    'div',
    { class: 'section' },
    h(
      'p',
      null,
      h('strong', { dataset: { cifra: 'audiencia', valor: r.audiencia } }, fmt.n(r.audiencia)),
      ` de ${fmt.n(r.sin_telegram)} clientes sin Telegram recibirán el enlace por ${canalLabel(r.canal)}.`,
    ),
    excluded.length
      ? h(
          'p',
          { class: 'muted small' },
          'Quedan fuera: ',
          excluded.map(([k, v]) => `${fmt.n(v)} ${excludedLabel(k)}`).join(' · '),
          '.',
        )
      : null,
    h(
      'p',
      { class: 'muted small' },
      'Por canal: ',
      CANALES.map(([c]) => `${canalLabel(c)} ${fmt.n(r.por_canal[c])}`).join(' · '),
    ),
    r.muestra.length
      ? h(
          'details',
          { open: true, id: 'muestra-envio' },
          h('summary', { class: 'small' }, `Así lo recibirán (${r.muestra.length})`),
          r.muestra.map(sampleView),
        )
      : null,
  );
}

function sampleView(s) {
  const who = h('div', { class: 'small muted section' }, s.nombre);
  if (s.motivo) return h('div', null, who, h('div', { class: 'notice warn' }, s.motivo));
  const note = s.enlace_de_ejemplo
    ? h('div', { class: 'small muted' }, 'El enlace definitivo se crea al enviar.')
    : null;
  if (s.canal === 'sms') {
    return h(
      'div',
      null,
      who,
      h('div', { class: 'message-text', dataset: { muestra: 'sms' } }, s.texto),
      h('div', { class: 'small muted' }, `${s.longitud} de 160 caracteres`),
      note,
    );
  }
  if (s.canal === 'email') {
    return h(
      'div',
      null,
      who,
      h('div', { class: 'small' }, h('strong', null, 'Asunto: '), s.asunto),
      h('div', { class: 'message-text', dataset: { muestra: 'email' } }, s.texto),
      note,
    );
  }
  return h(
    'div',
    null,
    who,
    h('div', { class: 'small' }, h('strong', null, 'Plantilla: '), s.plantilla),
    h('div', { class: 'message-text', dataset: { muestra: 'whatsapp' } }, s.texto),
    h('div', { class: 'small muted' }, `Parámetros: ${s.parametros.join(' · ')}`),
    note,
  );
}

function progressView(e, onCancel) {
  const p = progressOf(e);
  const cancelled = e.estado === 'cancelada';
  return h(
    'div',
    { class: 'section', dataset: { envio: e.id, estado: e.estado } },
    h(
      'div',
      { class: 'row' },
      h('strong', null, e.nombre),
      badge('campana_estado', e.estado),
      h('span', { class: 'spacer' }),
      e.estado === 'en_curso'
        ? h('button', { class: 'danger small', id: 'cancelar-envio', onclick: onCancel }, 'Cancelar envío')
        : null,
    ),
    meter(p.pct, { tone: cancelled ? 'muted' : 'ok', big: true, 'aria-label': 'Progreso' }),
    h(
      'p',
      { class: 'small', id: 'resumen-envio' },
      `${fmt.n(p.sent)} enviadas · ${fmt.n(p.queued)} en cola · ${fmt.n(p.failed)} fallidas · ` +
        `${fmt.n(p.cancelled)} ${cancelled ? 'no salieron' : 'no enviadas'} · ${fmt.n(p.total)} en total`,
    ),
  );
}

function funnelView(canales) {
  const pct = (v) => (v === null ? '—' : `${String(v).replace('.', ',')} %`);
  return dataTable(
    ['Canal', 'Enviadas', 'Abrieron el bot', 'Vinculados'],
    canales.map((c) =>
      h(
        'tr',
        { dataset: { canal: c.canal } },
        h('td', { 'data-label': 'Canal' }, canalLabel(c.canal)),
        h('td', { 'data-label': 'Enviadas', dataset: { cifra: 'enviadas' } }, fmt.n(c.enviadas)),
        h(
          'td',
          { 'data-label': 'Abrieron el bot', dataset: { cifra: 'abrieron' } },
          `${fmt.n(c.abrieron_el_bot)} (${pct(c.tasa_apertura)})`,
        ),
        h(
          'td',
          { 'data-label': 'Vinculados', dataset: { cifra: 'vinculados' } },
          `${fmt.n(c.vinculados)} (${pct(c.tasa_vinculacion)})`,
        ),
      ),
    ),
  );
}

function recentView(envios, watch) {
  if (!envios.length)
    return h(
      'p',
      { class: 'muted small' },
      'Todavía no se enviaron invitaciones por SMS, correo o WhatsApp.',
    );
  return h(
    'details',
    { class: 'section' },
    h('summary', { class: 'small' }, 'Envíos recientes'),
    dataTable(
      ['Creado', 'Canal', 'Estado', 'Progreso'],
      envios.map((e) => {
        const p = progressOf(e);
        return h(
          'tr',
          { class: 'clickable', onclick: () => watch(e.id) },
          h('td', { 'data-label': 'Creado' }, fmt.dateTime(e.creado_en)),
          h('td', { 'data-label': 'Canal' }, canalLabel(e.canal)),
          h('td', { 'data-label': 'Estado' }, badge('campana_estado', e.estado)),
          h('td', { 'data-label': 'Progreso' }, `${fmt.n(p.sent)} de ${fmt.n(p.total)} enviadas`),
        );
      }),
    ),
  );
}
