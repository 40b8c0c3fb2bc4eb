import { firstRunChecklist } from '../ajustes-editar.js';
import { api } from '../api.js';
import { barList, dailyBars } from '../chart.js';
import {
  badge,
  dueIn,
  errorBox,
  fmt,
  h,
  label,
  loading,
  meter,
  mount,
  noBotNotice,
  sendWait,
} from '../ui.js';
import { backupCard } from './operacion.js';

// Resumen: adoption, reach by channel (Telegram, WhatsApp, SMS, e-mail, any, none) and the month's
// cost by channel, notifications by state and by day, failures by reason, due clients no channel reaches (the
// call list), next scheduled runs, webhook health. Every figure comes from the API.

const SERIES = [
  ['creadas', 'Creadas', '#5b8def'],
  ['enviadas', 'Enviadas', '#13795b'],
  ['fallidas', 'Fallidas', '#d14343'],
];

export async function render(root, { signal }) {
  document.title = 'Resumen — TelTec Notificaciones';
  const tiles = h('div', { class: 'grid', id: 'resumen-cifras' }, loading());
  const byDay = h(
    'div',
    { class: 'card', id: 'por-dia' },
    h('h2', null, 'Notificaciones por día'),
    loading(),
  );
  const failures = h('div', { class: 'card', id: 'fallos' }, h('h2', null, 'Fallos por motivo'), loading());
  const unreachable = h(
    'div',
    { class: 'card', id: 'sin-alcance' },
    h('h2', null, 'Deben y ningún canal les llega'),
    loading(),
  );
  const reach = h('div', { class: 'card', id: 'alcance' }, h('h2', null, 'Alcance'), loading());
  const runs = h(
    'div',
    { class: 'card', id: 'planificador' },
    h('h2', null, 'Próximas ejecuciones'),
    loading(),
  );
  const telegram = h('div', { class: 'card', id: 'telegram' }, h('h2', null, 'Telegram'), loading());
  const alerts = h('div', { id: 'avisos-resumen' });
  mount(
    root,
    h('div', { class: 'page-head' }, h('h1', null, 'Resumen')),
    alerts,
    tiles,
    h('div', { class: 'section' }, reach),
    h('div', { class: 'grid-2 section' }, byDay, failures),
    h('div', { class: 'grid-2 section' }, unreachable, h('div', null, runs, telegram)),
  );
  root.append(backupCard({ signal })); // issue 15: last backup, warns when old or failed
  // Issue 13 §7–§8: do reminders turn into payments? And what clients wrote that waits for an answer.
  const conversion = h(
    'div',
    { class: 'card', id: 'conversion' },
    h('h2', null, 'Conversión de avisos en pagos'),
    loading(),
  );
  root.append(conversion);
  // Issue 14: first-run checklist (company data still empty: {contacto}, bank accounts).
  firstRunChecklist(signal)
    .then((n) => n && alerts.before(n))
    .catch(() => {});

  const opt = { signal };
  // The conversion card is asked for once the first figures are in (or failed): on the embedded
  // database requests are answered in turn, and its 60 days asked first held those figures.
  const first = Promise.all([
    api('/api/notificaciones/estadisticas/?dias=14', opt),
    api('/api/notificaciones/telegram/estadisticas/?agrupar=semana&periodos=8', opt),
  ]);
  first.finally(() => renderConversion(conversion, opt).catch(() => {})).catch(() => {});
  const [general, tg] = await first;
  renderLookupAlert(alerts, tg.consultas_cedula);
  renderTiles(tiles, general, tg);
  renderByDay(byDay, general);
  renderFailures(failures, general);
  // These load on their own: a slow or missing part never holds the figures above.
  const ajustes = api('/api/ajustes', opt);
  ajustes.catch(() => {});
  await Promise.allSettled([
    renderReceipts(tiles, opt),
    renderReach(reach, opt),
    renderUnreachable(unreachable, opt),
    renderRuns(runs, ajustes),
    renderTelegram(telegram, tg, ajustes, opt),
    noteWaiting(tiles, general, ajustes),
  ]);
}

/** Issue 13: receipts clients sent from the chat, waiting for staff. */
async function renderReceipts(tiles, opt) {
  const r = await api('/api/comprobantes?estado=pendiente', opt);
  tiles.append(
    tile(
      'comprobantes',
      'Comprobantes por revisar',
      r.pendientes,
      h(
        'a',
        { href: '#/comprobantes?estado=pendiente' },
        r.pendientes ? 'Revisar ahora' : 'Ver comprobantes',
      ),
    ),
  );
}

/** Queued notices at night: say when they go out, so a queue that does not move is not a fault. */
async function noteWaiting(tiles, g, ajustes) {
  const wait = sendWait(await ajustes, { urgente: false, tipo: 'recordatorio_pago' }, { plural: true });
  const sub = tiles.querySelector('[data-cifra=enviadas] .sub');
  if (!wait || !sub || !g.notificaciones.pendientes) return;
  sub.append(h('div', { class: 'espera', dataset: { espera: '' } }, `Los no urgentes ${wait}.`));
}

// Issue 12 §1: the bot's hourly budget of cédula lookups was spent (someone may be enumerating).
function renderLookupAlert(el, c) {
  if (!c || c.rechazadas_ultima_hora === 0) return;
  mount(
    el,
    h(
      'div',
      { class: 'notice warn', dataset: { aviso: 'consultas-cedula' } },
      `El bot rechazó ${fmt.n(c.rechazadas_ultima_hora)} consultas de cédula en la última hora: se agotó el ` +
        `límite de ${fmt.n(c.presupuesto_por_hora)} por hora (CEDULA_LOOKUPS_PER_HOUR). Puede ser alguien ` +
        'probando cédulas para saber quién es cliente; a los demás se les pide intentar más tarde.',
    ),
  );
}

function tile(id, label, value, sub, share) {
  return h(
    'div',
    { class: 'card stat', dataset: { cifra: id } },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', dataset: { valor: value } }, fmt.n(value)),
    sub ? h('div', { class: 'sub' }, sub) : null,
    share !== undefined ? meter(share, { tone: 'ok' }) : null,
  );
}

function renderTiles(el, g, t) {
  const n = g.notificaciones;
  mount(
    el,
    tile('total_clientes', 'Clientes', g.total_clientes, `${fmt.n(t.sin_vincular)} sin Telegram`),
    tile(
      'vinculados',
      'Vinculados a Telegram',
      t.vinculados,
      `Adopción ${fmt.pct(t.porcentaje_adopcion)} · ${fmt.n(t.verificados)} verificados · ${fmt.n(t.bloqueados)} bloquearon el bot`,
      t.porcentaje_adopcion,
    ),
    tile(
      'enviadas',
      'Notificaciones enviadas',
      n.enviadas,
      g.tasa_entrega === null || g.tasa_entrega === undefined
        ? `${fmt.n(n.pendientes)} avisos en cola`
        : `Entrega ${fmt.pct(g.tasa_entrega)} · ${fmt.n(n.pendientes)} avisos en cola`,
    ),
    tile('fallidas', 'Fallidas', n.fallidas, `${fmt.n(n.canceladas)} canceladas (ya no aplicaban)`),
  );
}

function renderByDay(el, g) {
  const days = g.por_dia;
  const any = days.some((d) => d.creadas || d.enviadas || d.fallidas);
  mount(
    el,
    h('h2', null, 'Notificaciones por día'),
    h('p', { class: 'muted small' }, `Del ${fmt.date(g.desde)} al ${fmt.date(g.hasta)}`),
    any
      ? dailyBars(days, SERIES)
      : h('p', { class: 'muted' }, 'Todavía no hay notificaciones en este periodo.'),
  );
}

function renderFailures(el, g) {
  const reasons = g.fallos_por_motivo;
  const cancelled = g.cancelaciones_por_motivo;
  mount(
    el,
    h('h2', null, 'Fallos por motivo'),
    reasons.length
      ? barList(
          reasons.map((r) => ({
            etiqueta: label('motivo', r.motivo),
            valor: r.total,
          })),
        )
      : h('p', { class: 'muted' }, 'Ningún envío ha fallado en este periodo.'),
    cancelled.length
      ? [
          h('h3', null, 'Canceladas antes de salir'),
          barList(
            cancelled.map((r) => ({ etiqueta: label('motivo', r.motivo), valor: r.total })),
            'muted',
          ),
        ]
      : null,
  );
}

/**
 * Reach (issue 10 §10, issue 11 §6): clients a service notice gets to on each configured channel
 * (Telegram, WhatsApp, SMS, e-mail), on any, on none (the call list); and this month's cost by
 * channel (WhatsApp by category, SMS and e-mail per message accepted).
 */
const REACH_LINES = {
  telegram: 'Telegram (vinculados, sin bloquear)',
  whatsapp: 'WhatsApp (número y consentimiento)',
  sms: 'SMS (celular, sin marca de inalcanzable)',
  email: 'Correo (dirección, sin rebotes)',
};
const CHANNEL_NAMES = { whatsapp: 'WhatsApp', sms: 'SMS', email: 'Correo' };

async function renderReach(el, opt) {
  const head = h('h2', null, 'Alcance');
  try {
    const r = await api('/api/notificaciones/alcance/', opt);
    const a = r.alcance;
    const total = Math.max(1, r.total_clientes);
    const line = (id, text, value, tone) =>
      h(
        'li',
        { class: 'block', dataset: { alcance: id } },
        h(
          'div',
          { class: 'row' },
          h('span', null, text),
          h('span', { class: 'spacer' }),
          h('strong', { dataset: { cifra: `alcance_${id}`, valor: value } }, fmt.n(value)),
          h('span', { class: 'small muted' }, ` ${fmt.pct((value / total) * 100)}`),
        ),
        meter((value / total) * 100, { tone }),
      );
    const money4 = (v) => `$${v.toFixed(4)}`;
    const c = r.costo_mes;
    // A channel is listed when configured here, or when it still cost something this month.
    const shown = c.por_canal.filter((x) => x.configurado || x.mensajes > 0);
    const costItem = (x) => {
      if (x.canal === 'whatsapp') {
        const cat = (k) => x.por_categoria.find((y) => y.categoria === k);
        const sub = (k, name) =>
          h(
            'li',
            { dataset: { costo: k } },
            `${name}: ${fmt.n(cat(k).entregados)} entregadas × ${money4(cat(k).precio)} = `,
            h('strong', null, fmt.money(cat(k).costo)),
          );
        return h(
          'li',
          { id: 'costo-whatsapp', class: 'block', dataset: { canal: 'whatsapp' } },
          h('strong', null, `WhatsApp este mes: ${fmt.money(x.costo)}`),
          h(
            'ul',
            { class: 'list-plain' },
            sub('utility', 'Utilidad (avisos de pago, mantenimiento)'),
            sub('marketing', 'Marketing (ofertas, sus campañas y plantillas de marketing)'),
          ),
        );
      }
      return h(
        'li',
        { id: `costo-${x.canal}`, dataset: { canal: x.canal } },
        `${CHANNEL_NAMES[x.canal]}: ${fmt.n(x.mensajes)} enviados × ${money4(x.precio)} = `,
        h('strong', null, fmt.money(x.costo)),
        x.precio === 0 ? h('span', { class: 'muted' }, ' (precio 0: verifique)') : null,
      );
    };
    mount(
      el,
      head,
      h(
        'div',
        { class: 'grid-2' },
        h(
          'div',
          null,
          h(
            'p',
            { class: 'small muted' },
            `A quién llegan los avisos de servicio hoy, de ${fmt.n(r.total_clientes)} clientes, por los canales configurados.`,
          ),
          h(
            'ul',
            { class: 'list-plain' },
            a.canales_activos.map((k) => line(k, REACH_LINES[k], a[k], 'ok')),
            line('alguno', 'Por alguno de ellos', a.alguno, 'ok'),
            line('ninguno', 'Por ninguno: hay que llamarlos', a.ninguno, 'muted'),
          ),
          a.ninguno > 0 ? h('a', { href: '#/llamadas', class: 'small' }, 'Ver la hoja de llamadas') : null,
        ),
        h(
          'div',
          { id: 'costo-mes' },
          h(
            'h3',
            { dataset: { cifra: 'costo_total', valor: c.total } },
            `Costo este mes: ${fmt.money(c.total)}`,
          ),
          shown.length
            ? h('ul', { class: 'list-plain small' }, shown.map(costItem))
            : h('p', { class: 'small muted' }, 'Solo Telegram está configurado: no cuesta nada.'),
          h(
            'p',
            { class: 'small muted', dataset: { aviso: 'verifique' } },
            'Estimación con los precios de WHATSAPP_PRECIO_UTILITY, WHATSAPP_PRECIO_MARKETING, SMS_PRECIO y EMAIL_PRECIO: ',
            h('strong', null, 'verifique'),
            ' las tarifas vigentes. WhatsApp cobra las plantillas entregadas (los mensajes dentro de las 24 h en que el cliente escribió no se cobran); SMS y correo, cada mensaje aceptado. Telegram no cobra.',
          ),
        ),
      ),
    );
  } catch (err) {
    mount(el, head, errorBox(err));
  }
}

/** Due and overdue clients no channel reaches (no Telegram, no WhatsApp with consent): staff call them. */
async function renderUnreachable(el, opt) {
  const head = h('h2', null, 'Deben y ningún canal les llega');
  try {
    const r = await api('/api/notificaciones/sin-telegram/?por_pagina=8', opt);
    mount(
      el,
      head,
      h(
        'p',
        { class: 'muted small' },
        h('strong', { dataset: { cifra: 'sin_telegram_deben', valor: r.total } }, fmt.n(r.total)),
        ' clientes por vencer o vencidos a los que no llega ningún canal configurado: hay que llamarlos.',
      ),
      r.clientes.length
        ? h(
            'ul',
            { class: 'list-plain' },
            r.clientes.map((c) =>
              h(
                'li',
                null,
                h(
                  'div',
                  null,
                  h('a', { href: `#/clientes/${c.id}` }, c.nombre),
                  h(
                    'div',
                    { class: 'small muted' },
                    badge('estado_pago', c.estado_pago),
                    ' ',
                    dueIn(c),
                    ' · ',
                    label('motivo_inalcanzable', c.motivo),
                  ),
                ),
                h('span', { class: 'mono small' }, c.telefono ?? 'sin teléfono'),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Ninguno. ¡Bien!'),
      // The whole list is the same list (same API, same order), printable as a call sheet.
      r.total > 0
        ? h(
            'a',
            { href: '#/llamadas', id: 'ver-llamadas' },
            r.total > r.clientes.length
              ? `Ver los ${fmt.n(r.total)} e imprimir la hoja de llamadas`
              : 'Imprimir la hoja de llamadas',
          )
        : null,
    );
  } catch (err) {
    mount(el, head, errorBox(err));
  }
}

async function renderRuns(el, ajustes) {
  const head = h('h2', null, 'Próximas ejecuciones');
  try {
    const a = await ajustes;
    mount(
      el,
      head,
      h(
        'ul',
        { class: 'list-plain' },
        // Internal housekeeping (e.g. the 03:00 clean-up) is the service's business, not the office's.
        a.planificador
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
                h('span', null, fmt.dateTime(j.proxima)),
              ),
              h(
                'div',
                { class: 'small muted' },
                j.ultima
                  ? `Última: ${fmt.dateTime(j.ultima.fecha)}${lastResult(j)}`
                  : 'Aún no se ha ejecutado.',
              ),
            ),
          ),
      ),
      h(
        'p',
        { class: 'small muted' },
        `Envíos automáticos de ${a.envio.ventana.inicio} a ${a.envio.ventana.fin} (${a.zona_horaria}).`,
      ),
    );
  } catch (err) {
    mount(el, head, errorBox(err));
  }
}

function lastResult(job) {
  const r = job.ultima?.resultado ?? {};
  return typeof r.total_creadas === 'number' ? ` · ${fmt.n(r.total_creadas)} avisos creados` : '';
}

async function renderTelegram(el, tg, ajustes, opt) {
  const head = h('h2', null, 'Telegram');
  const funnel = tg.embudo
    ? h(
        'p',
        { class: 'small', dataset: { cifra: 'embudo' } },
        'Invitaciones: ',
        h('strong', null, fmt.n(tg.embudo.invitados)),
        ' enviadas → ',
        h('strong', null, fmt.n(tg.embudo.abrieron_el_bot)),
        ' abrieron el bot → ',
        h('strong', null, fmt.n(tg.embudo.vinculados)),
        ' vinculados.',
      )
    : null;
  try {
    const a = await ajustes;
    if (a.modo_telegram === 'sin_bot') {
      mount(el, head, noBotNotice(), funnel);
      return;
    }
    const w = await api('/api/notificaciones/telegram/configurar-webhook/', opt);
    mount(
      el,
      head,
      h(
        'dl',
        { class: 'kv' },
        h('dt', null, 'Modo'),
        h(
          'dd',
          { dataset: { modo: a.modo_telegram } },
          a.modo_telegram === 'sandbox'
            ? 'Sandbox: Telegram simulado dentro del servicio'
            : w.modo === 'webhook'
              ? 'Webhook'
              : 'Long polling (el servicio consulta a Telegram)',
        ),
        w.url ? [h('dt', null, 'Webhook'), h('dd', { class: 'mono small' }, w.url)] : null,
        // Telegram's own queue of messages from clients not yet read by the bot: not notices.
        h('dt', null, 'Mensajes sin leer'),
        h('dd', { dataset: { cifra: 'pendientes_telegram', valor: w.pendientes } }, fmt.n(w.pendientes)),
        h('dt', null, 'Último error'),
        h(
          'dd',
          null,
          w.ultimo_error ? `${fmt.dateTime(w.ultimo_error.fecha)}: ${w.ultimo_error.mensaje}` : 'ninguno',
        ),
      ),
      funnel,
    );
  } catch (err) {
    mount(el, head, h('div', { class: 'notice warn' }, err.message), funnel);
  }
}

/**
 * Conversion (issue 13 §7): of the cycles due in the last 60 days whose reminder went out, who
 * paid before the due date, after the 1st/2nd/3rd overdue notice, after a promise, or not yet;
 * the median days from reminder to payment; and the inbox's unanswered messages (§8).
 */
async function renderConversion(el, opt) {
  const head = h('h2', null, 'Conversión de avisos en pagos');
  let c;
  let inbox;
  try {
    const [stats, msgs] = await Promise.all([
      api('/api/notificaciones/estadisticas/?dias=60', opt),
      api('/api/mensajes?estado=nuevo&por_pagina=1', opt).catch(() => null),
    ]);
    c = stats.conversion;
    inbox = msgs;
  } catch (err) {
    mount(el, head, errorBox(err));
    return;
  }
  const items = [
    ['a_tiempo', 'Antes del vencimiento'],
    ['tras_aviso_1', 'Tras el 1.er aviso de vencido'],
    ['tras_aviso_2', 'Tras el 2.º aviso'],
    ['tras_aviso_3', 'Tras el 3.er aviso'],
    ['tras_promesa', 'Tras una promesa de pago'],
    ['vencido_sin_aviso', 'Tarde, sin aviso previo'],
    ['sin_pago', 'Sin pago todavía'],
  ].map(([k, etiqueta]) => ({ etiqueta, valor: c[k] }));
  const pct = c.recordados ? (c.pagaron / c.recordados) * 100 : 0;
  mount(
    el,
    head,
    h(
      'p',
      null,
      'Ciclos con vencimiento en los últimos 60 días y recordatorio enviado: ',
      h('strong', { dataset: { cifra: 'conversion-recordados' } }, fmt.n(c.recordados)),
      '; pagaron ',
      h('strong', { dataset: { cifra: 'conversion-pagaron' } }, fmt.n(c.pagaron)),
      c.recordados ? ` (${fmt.pct(pct)})` : '',
      c.mediana_dias !== null ? `. Mediana del recordatorio al pago: ${fmt.n(c.mediana_dias)} días.` : '.',
    ),
    c.recordados
      ? barList(items, 'muted')
      : h('p', { class: 'muted' }, 'Todavía no hay ciclos con recordatorio enviado en este periodo.'),
    c.por_canal.length > 1
      ? h(
          'p',
          { class: 'small muted' },
          'Por canal: ',
          c.por_canal.map((x) => `${x.canal} ${fmt.n(x.pagaron)}/${fmt.n(x.recordados)}`).join(' · '),
        )
      : null,
    h(
      'p',
      { class: 'small muted' },
      `Promesas: ${fmt.n(c.promesas.hechas)} (cumplidas ${fmt.n(c.promesas.cumplidas)}, incumplidas ${fmt.n(c.promesas.incumplidas)}). ` +
        `Comprobantes: ${fmt.n(c.comprobantes.aprobados)} aprobados, ${fmt.n(c.comprobantes.rechazados)} rechazados` +
        (c.comprobantes.mediana_horas_revision !== null
          ? `, revisados en ${fmt.n(c.comprobantes.mediana_horas_revision)} h (mediana).`
          : '.'),
    ),
    inbox
      ? h(
          'p',
          { id: 'mensajes-nuevos' },
          h('strong', { dataset: { cifra: 'mensajes-nuevos' } }, fmt.n(inbox.nuevos)),
          ' mensajes de clientes sin responder. ',
          h('a', { href: '#/mensajes' }, 'Ver mensajes'),
        )
      : null,
  );
}
