import type { ChannelName, ComposedForChannel, TemplateRef } from '../channels/types.js';
import type { Queryable } from '../db/index.js';
import {
  escapeHtml,
  htmlProblem,
  htmlToPlainText,
  TELEGRAM_MAX_CHARS,
  visibleLength,
} from '../telegram/html.js';
import {
  type ChannelTextSet,
  defaultChannelTexts,
  defaultEmailSubjects,
  emailHtml,
  gsm7Length,
  SMS_MAX_CHARS,
  substitutePlain,
  toGsm7,
} from './channel-texts.js';
import { invitationQrImage, withInvitationQr } from './invitation-email.js';
import type { AttemptRow } from './outbox.js';
import {
  hasPaymentButtons,
  type NoticeButton,
  paymentNoticeButtons,
  paymentReplyButtons,
  toInlineKeyboard,
} from './payment-buttons.js';
import {
  substitute,
  type TemplateSet,
  type TemplateValues,
  type TemplateVariable,
  templateProblems,
  templateValues,
} from './templates.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * Compose: the one door that turns (notice, client) into what a channel sends. The dispatcher,
 * the campaign preview and detail, manual sends, the template preview and the test send all come
 * here, so staff see exactly what the client will get.
 *
 * Rules:
 * - A text never carries an empty variable. Wording absorbs the soft ones (nombre, contacto,
 *   empresa); any other missing value refuses the message with a stable `motivo`
 *   (`datos_incompletos`) and a Spanish `detalle` staff can act on ("falta el plan del cliente").
 * - Staff text (campaigns, test sends) is Telegram HTML with variables, validated like templates.
 *   A campaign that uses a saved template puts the staff text in its `{mensaje}`.
 * - A row queued with its final `mensaje` (manual sends, rows queued by others) goes as written.
 *
 * Channels: `telegram` (HTML, 4096 visible characters) is what is sent today; `texto` (plain
 * text), `sms` (GSM-7, 160 characters a segment) and `whatsapp` (a template name and its ordered
 * parameters) are the shapes the next channels take, built from the same rendering.
 */

export type Channel = 'telegram' | 'texto' | 'sms' | 'email' | 'whatsapp';

/** GSM-7 (SMS) has one home: ./channel-texts.ts. Re-exported for older callers. */
export { gsm7Length, toGsm7 };

/** The client columns a text is made of (`loadComposeClients` reads them: one SQL home). */
export interface ComposeClient {
  id?: number;
  nombre: string | null;
  plan_id: number | null;
  plan: string | null;
  precio: number | null;
  velocidad: number | null;
  /** The client's current due date ('YYYY-MM-DD'), NULL without payments or billing day. */
  vencimiento: string | null;
  /** Unpaid cycles × plan price on `today`; undefined = not known to the caller (price used). */
  monto_adeudado?: number | null;
  /** false: linked with the cédula alone; payment notices then carry no billing data. */
  link_verified?: boolean | null;
}

/** What is to be said. */
export interface Notice {
  /** The outbox row, when there is one: payment notices' buttons name it. */
  id?: number;
  tipo: NotificationType;
  /** Final text queued with the row (manual sends, rows queued by others): sent as written. */
  mensaje?: string | null;
  /** Whether `mensaje` is Telegram HTML (`datos.formato = 'html'`); plain text otherwise. */
  mensajeHtml?: boolean;
  /** The row's data (pago_recibido: monto, fecha). */
  datos?: Record<string, unknown>;
  /** Due date of the notice's cycle (payment notices); the client's current one otherwise. */
  ciclo?: string | null;
  /** Staff text (campaign, test send): Telegram HTML with variables. */
  texto?: string | null;
  /** Use this type's saved template (per plan) with `texto` as its `{mensaje}` (campaigns). */
  plantilla?: NotificationType | null;
}

export interface ComposeContext {
  templates: TemplateSet;
  /** SMS texts and e-mail subjects (issue 11); the Spanish defaults when absent. */
  channelTexts?: ChannelTextSet;
  /** 'YYYY-MM-DD' in the provider's zone. */
  today: string;
  settings: EngineSettings;
}

/** Stable reasons a message is not composed (stored in `notifications.motivo`). */
export type ComposeMotivo =
  | 'datos_incompletos'
  | 'mensaje_vacio'
  | 'mensaje_demasiado_largo'
  | 'mensaje_invalido';

export type Composed =
  | {
      ok: true;
      channel: 'telegram';
      text: string;
      html: boolean;
      length: number;
      /** Inline keyboard (payment notices to a verified link: Ya pagué, Pagaré el…, Cómo pagar). */
      buttons?: NoticeButton[][];
    }
  | { ok: true; channel: 'texto'; text: string; length: number }
  | { ok: true; channel: 'sms'; text: string; encoding: 'GSM-7'; length: number; segments: number }
  | {
      ok: true;
      channel: 'email';
      subject: string;
      /** Plain-text part. */
      text: string;
      /** HTML part: the notice's Telegram HTML in an e-mail document. */
      html: string;
      length: number;
    }
  | {
      ok: true;
      channel: 'whatsapp';
      /** Name of the approved template: the notice type. */
      template: NotificationType;
      /** Values of the variables, in the order the template uses them ({{1}}, {{2}}…). */
      parameters: { name: TemplateVariable; value: string }[];
    }
  | { ok: false; motivo: ComposeMotivo; detalle: string; faltan?: TemplateVariable[] };

export type ComposeRefusal = Extract<Composed, { ok: false }>;

const missingWords: Partial<Record<TemplateVariable, string>> = {
  plan: 'el plan del cliente (no tiene plan asignado)',
  velocidad: 'la velocidad del plan',
  monto: 'el monto adeudado (el cliente no tiene plan con precio o no tiene fecha de vencimiento)',
  fecha_vencimiento: 'la fecha de vencimiento (el cliente no tiene pagos registrados ni día de pago)',
  plazo: 'la fecha de vencimiento (el cliente no tiene pagos registrados ni día de pago)',
  dias: 'la fecha de vencimiento (el cliente no tiene pagos registrados ni día de pago)',
  fecha_pago: 'la fecha del pago',
  mensaje: 'el texto del mensaje ({mensaje} de la plantilla)',
};

function refuseMissing(missing: TemplateVariable[]): ComposeRefusal {
  const words = [...new Set(missing.map((m) => missingWords[m] ?? `{${m}}`))];
  return {
    ok: false,
    motivo: 'datos_incompletos',
    detalle: `No se envía: falta ${words.join('; ')}.`,
    faltan: missing,
  };
}

/**
 * What a chat linked with the cédula alone gets instead of a payment notice: whoever typed the
 * cédula holds that chat, so no plan, amount or date — only that there is something to see to
 * (UNVERIFIED_LINK_FULL_NOTICES=1 restores the full notices).
 */
export const unverifiedNoticeTemplates: Partial<Record<NotificationType, string>> = {
  recordatorio_pago:
    '🔒 Hola. Tiene un pago pendiente con {empresa}. Por seguridad no mostramos aquí los datos de su ' +
    'cuenta: escríbanos o verifique su número (pida que confirmen este chat o que le envíen una ' +
    'invitación).\n\n{contacto}',
  pago_vencido:
    '🔒 Hola. Tiene un pago pendiente con {empresa}. Por seguridad no mostramos aquí los datos de su ' +
    'cuenta: escríbanos o verifique su número (pida que confirmen este chat o que le envíen una ' +
    'invitación).\n\n{contacto}',
  pago_recibido:
    '🔒 Hola. Registramos un pago en su cuenta con {empresa}. ¡Gracias! Para ver los detalles aquí, ' +
    'verifique su número (pida que confirmen este chat o que le envíen una invitación).\n\n{contacto}',
};

/**
 * The overdue notice that follows a broken promise to pay (issue 13 §4): a `pago_vencido` row with
 * `datos.variante = 'promesa_incumplida'` (src/receipts/promises.ts queues it).
 */
export const brokenPromiseTemplate =
  'Hola {nombre}. El plazo que nos indicó para su pago ya pasó y aún no lo registramos. ' +
  'Su saldo pendiente es <b>{monto}</b> (vencido el {fecha_vencimiento}). Si ya pagó, toque ' +
  '«✅ Ya pagué» y envíenos el comprobante.\n\n{contacto}';

/** The template a notice is rendered from, unless the chat may not see billing data. */
function templateSource(
  notice: Notice,
  client: ComposeClient,
  ctx: ComposeContext,
  channel: Channel = 'telegram',
): string {
  const tipo = notice.plantilla ?? notice.tipo;
  // The SMS has its own short text; the Telegram one is never cut into an SMS.
  if (channel === 'sms')
    return (ctx.channelTexts ?? defaultChannelTexts).resolve('sms', tipo, client.plan_id);
  // The unverified-link wording is about a Telegram chat; other channels reach the contact on file.
  const safe = unverifiedNoticeTemplates[tipo];
  if (
    safe &&
    channel === 'telegram' &&
    client.link_verified === false &&
    !ctx.settings.unverifiedFullNotices
  ) {
    return safe;
  }
  if (tipo === 'pago_vencido' && notice.datos?.['variante'] === 'promesa_incumplida')
    return brokenPromiseTemplate;
  return ctx.templates.resolve(tipo, client.plan_id);
}

/** Payment notices to a verified link carry the payment buttons (issue 13 §1). */
function noticeButtons(notice: Notice, client: ComposeClient): NoticeButton[][] | undefined {
  if (!hasPaymentButtons(notice.tipo)) return undefined;
  if (client.link_verified === false) return undefined;
  return paymentNoticeButtons(notice.id ?? 0);
}

/** Telegram HTML for the notice, or why not. The channel shapes are made from it. */
function renderTelegram(
  notice: Notice,
  client: ComposeClient,
  ctx: ComposeContext,
  channel: Channel = 'telegram',
): { html: string; isHtml: boolean; values: TemplateValues; used: TemplateVariable[] } | ComposeRefusal {
  if (notice.mensaje !== null && notice.mensaje !== undefined) {
    return { html: notice.mensaje, isHtml: notice.mensajeHtml === true, values: {}, used: [] };
  }
  const values = templateValues(
    {
      tipo: notice.tipo,
      today: ctx.today,
      nombre: client.nombre,
      plan: client.plan,
      velocidad: client.velocidad,
      precio: client.precio,
      ...(client.monto_adeudado !== undefined && { montoAdeudado: client.monto_adeudado }),
      vencimiento: notice.ciclo ?? client.vencimiento,
      datos: notice.datos,
      mensaje: '',
    },
    ctx.settings,
  );
  const missing: TemplateVariable[] = [];
  if (notice.texto !== null && notice.texto !== undefined) {
    const problems = templateProblems(notice.texto);
    if (problems.length) {
      return {
        ok: false,
        motivo: 'mensaje_invalido',
        detalle: `El texto no es válido: ${problems.join('; ')}.`,
      };
    }
    const staff = substitute(notice.texto, values);
    missing.push(...staff.missing);
    values.mensaje = staff.text;
  }
  const source =
    notice.plantilla || notice.texto === null || notice.texto === undefined
      ? templateSource(notice, client, ctx, channel)
      : '{mensaje}';
  // An SMS template is plain text: escaped here so that it reads back exactly as written.
  const out = substitute(channel === 'sms' ? escapeHtml(source) : source, values, new Set(['mensaje']));
  missing.push(...out.missing);
  if (missing.length) return refuseMissing(missing);
  return { html: out.text, isHtml: true, values, used: out.used };
}

/** Turns (notice, client) into what `channel` sends, or the reason it cannot be sent. */
export function compose(
  notice: Notice,
  client: ComposeClient,
  ctx: ComposeContext,
  channel: Channel = 'telegram',
): Composed {
  const r = renderTelegram(notice, client, ctx, channel);
  if ('ok' in r) return r;
  const plain = r.isHtml ? htmlToPlainText(r.html) : r.html.trim();
  if (plain.length === 0) {
    return { ok: false, motivo: 'mensaje_vacio', detalle: 'El mensaje quedaría vacío.' };
  }
  switch (channel) {
    case 'telegram': {
      if (r.isHtml) {
        const problem = htmlProblem(r.html);
        if (problem) {
          return {
            ok: false,
            motivo: 'mensaje_invalido',
            detalle: `Telegram no aceptaría el formato: ${problem}.`,
          };
        }
      }
      const length = r.isHtml ? visibleLength(r.html) : r.html.length;
      if (length > TELEGRAM_MAX_CHARS) {
        return {
          ok: false,
          motivo: 'mensaje_demasiado_largo',
          detalle: `El mensaje tendría ${length} caracteres y Telegram admite ${TELEGRAM_MAX_CHARS}: acórtelo.`,
        };
      }
      const buttons = noticeButtons(notice, client);
      return { ok: true, channel, text: r.html, html: r.isHtml, length, ...(buttons && { buttons }) };
    }
    case 'texto':
      return { ok: true, channel, text: plain, length: plain.length };
    case 'sms': {
      const text = toGsm7(plain);
      const units = gsm7Length(text);
      if (text.length === 0) {
        return { ok: false, motivo: 'mensaje_vacio', detalle: 'El SMS quedaría vacío.' };
      }
      if (units > SMS_MAX_CHARS) {
        return {
          ok: false,
          motivo: 'mensaje_demasiado_largo',
          detalle: `El SMS tendría ${units} caracteres y el máximo es ${SMS_MAX_CHARS}: acorte su texto SMS.`,
        };
      }
      return { ok: true, channel, text, encoding: 'GSM-7', length: units, segments: 1 };
    }
    case 'email': {
      const tipo = notice.plantilla ?? notice.tipo;
      const subjectTemplate = (ctx.channelTexts ?? defaultChannelTexts).resolve(
        'email_asunto',
        tipo,
        client.plan_id,
      );
      // A row queued with its final text has no values of its own: the client's fill the subject.
      const values =
        Object.keys(r.values).length > 0
          ? r.values
          : templateValues(
              {
                tipo: notice.tipo,
                today: ctx.today,
                nombre: client.nombre,
                plan: client.plan,
                velocidad: client.velocidad,
                precio: client.precio,
                vencimiento: notice.ciclo ?? client.vencimiento,
                datos: notice.datos,
              },
              ctx.settings,
            );
      let filled = substitutePlain(subjectTemplate, { ...values, mensaje: '' });
      if (filled.missing.length > 0)
        filled = substitutePlain(defaultEmailSubjects[tipo], { ...values, mensaje: '' });
      const subject = filled.text.replace(/\s+/g, ' ');
      const html = r.isHtml ? r.html : escapeHtml(r.html);
      return {
        ok: true,
        channel,
        subject: subject || ctx.settings.company.nombre,
        text: plain,
        html: emailHtml(html),
        length: plain.length,
      };
    }
    case 'whatsapp':
      return {
        ok: true,
        channel,
        template: notice.plantilla ?? notice.tipo,
        parameters: r.used.map((name) => ({
          name,
          value: name === 'mensaje' ? htmlToPlainText(r.values.mensaje ?? '') : (r.values[name] ?? ''),
        })),
      };
  }
}

/** Thrown by `composeRow` when a row cannot be composed; the dispatcher fails the row with `motivo`. */
export class ComposeRefusedError extends Error {
  override name = 'ComposeRefusedError';
  constructor(
    readonly motivo: ComposeMotivo,
    detalle: string,
  ) {
    super(detalle);
  }
}

/** What a channel sends for one outbox row: the final text, whether it is Telegram HTML, its keyboard. */
export interface ComposedMessage {
  text: string;
  html: boolean;
  replyMarkup?: ReturnType<typeof toInlineKeyboard>;
}

/** The notice and client of a re-checked outbox row, as compose reads them. */
function fromAttempt(a: AttemptRow): { notice: Notice; client: ComposeClient } {
  const owed: number | string | null | undefined = a.monto_adeudado;
  const client: ComposeClient = {
    nombre: a.nombre,
    plan_id: a.plan_id,
    plan: a.plan,
    precio: a.precio,
    velocidad: a.velocidad,
    vencimiento: a.vencimiento,
    link_verified: a.link_verified ?? null,
    ...(owed !== undefined && { monto_adeudado: owed === null ? null : Number(owed) }),
  };
  const campaign = a.campaign_id !== null;
  const notice: Notice = {
    id: Number(a.id),
    tipo: a.tipo,
    mensaje: a.mensaje,
    mensajeHtml: a.datos?.['formato'] === 'html',
    datos: a.datos,
    ciclo: a.ciclo,
    ...(campaign && {
      texto: a.campana_mensaje,
      plantilla: a.campana_plantilla as NotificationType | null,
    }),
  };
  return { notice, client };
}

/**
 * An outbox row re-checked at the start of its attempt (the row, its client, plan and campaign)
 * composed for Telegram. Throws `ComposeRefusedError` when it cannot be sent as it stands.
 */
export function composeRow(
  a: AttemptRow,
  set: TemplateSet,
  today: string,
  settings: EngineSettings,
): ComposedMessage {
  const { notice, client } = fromAttempt(a);
  const r = compose(notice, client, { templates: set, today, settings });
  if (!r.ok) throw new ComposeRefusedError(r.motivo, r.detalle);
  if (r.channel !== 'telegram') throw new Error('unreachable');
  return { text: r.text, html: r.html, ...(r.buttons && { replyMarkup: toInlineKeyboard(r.buttons) }) };
}

// ------------------------------------------------------------------------------ WhatsApp templates

/**
 * Outside the 24 h service window WhatsApp only takes approved templates. A template resolver
 * turns a notice type and its variables (plain text) into the template to send, or says why not:
 * `hold` = wait and try later (template not approved yet, registry not synced), otherwise the
 * notice fails with `motivo`. waapi owns the real registry (src/whatsapp/templates.ts); until it
 * is wired, `defaultTemplateResolver` maps each type to a template named like the type.
 */
export type TemplateResolution =
  | { ok: true; template: TemplateRef }
  | { ok: false; hold: boolean; motivo: string; detalle: string };

export type TemplateResolver = (
  tipo: NotificationType,
  variables: Readonly<Record<string, string>>,
) => TemplateResolution | Promise<TemplateResolution>;

/** Issue 10 §3: by default each type maps to a template named like it, with these body parameters. */
export const defaultTemplateParameters: Partial<Record<NotificationType, readonly TemplateVariable[]>> = {
  recordatorio_pago: ['nombre', 'monto', 'fecha_vencimiento', 'dias'],
  pago_vencido: ['nombre', 'monto', 'fecha_vencimiento', 'dias'],
  pago_recibido: ['nombre', 'monto', 'fecha_pago'],
  bienvenida: ['nombre', 'empresa'],
  mantenimiento: ['nombre', 'mensaje'],
  oferta: ['nombre', 'mensaje'],
  manual: ['nombre', 'mensaje'],
  invitacion: ['nombre', 'empresa', 'enlace'],
};

/** Placeholder mapping: template = the type's name, language 'es', parameters from the table above. */
export const defaultTemplateResolver: TemplateResolver = (tipo, variables) => {
  const names = defaultTemplateParameters[tipo] ?? ['nombre', 'mensaje'];
  const params = names.map((n) => (variables[n] ?? '').trim());
  const empty = names.filter((_, i) => params[i] === '');
  if (empty.length) {
    return {
      ok: false,
      hold: false,
      motivo: 'datos_incompletos',
      detalle: `No se envía por WhatsApp: la plantilla ${tipo} necesita ${empty.map((e) => `{${e}}`).join(', ')}.`,
    };
  }
  return { ok: true, template: { name: tipo, language: 'es', params } };
};

/** What one channel sends for a re-checked row, or why it cannot (a refusal, or a template on hold). */
export type ChannelComposition =
  | { ok: true; content: ComposedForChannel }
  | { ok: false; hold: boolean; motivo: string; detalle: string };

export interface ChannelComposeOptions {
  templates: TemplateSet;
  /** SMS texts and e-mail subjects (issue 11); the Spanish defaults when absent. */
  channelTexts?: ChannelTextSet;
  /** E-mail: the marketing footer's unsubscribe link. */
  unsubscribeUrl?: string | null;
  today: string;
  settings: EngineSettings;
  now: Date;
  /** Send as a template even inside the window (WhatsApp answered 131047/470). */
  forceTemplate?: boolean;
  resolveTemplate?: TemplateResolver;
}

/**
 * A re-checked row composed for `canal`. Telegram: its HTML (as `composeRow`). WhatsApp: free
 * text inside the client's 24 h window (`whatsapp_ventana_hasta` > now), an approved template
 * outside it (or when forced). SMS: GSM-7 text. E-mail: plain text with the type as subject.
 */
export async function composeForChannel(
  a: AttemptRow,
  canal: ChannelName,
  o: ChannelComposeOptions,
): Promise<ChannelComposition> {
  const { notice, client } = fromAttempt(a);
  const ctx: ComposeContext = {
    templates: o.templates,
    today: o.today,
    settings: o.settings,
    ...(o.channelTexts && { channelTexts: o.channelTexts }),
    ...(o.unsubscribeUrl !== undefined && { unsubscribeUrl: o.unsubscribeUrl }),
  };
  const refused = (r: ComposeRefusal): ChannelComposition => ({
    ok: false,
    hold: false,
    motivo: r.motivo,
    detalle: r.detalle,
  });
  if (canal === 'telegram') {
    const r = compose(notice, client, ctx, 'telegram');
    if (!r.ok) return refused(r);
    if (r.channel !== 'telegram') throw new Error('unreachable');
    const buttons = r.buttons?.flat().map((b) => ({ id: b.data, title: b.text }));
    return { ok: true, content: { text: r.text, html: r.html, ...(buttons?.length && { buttons }) } };
  }
  if (canal === 'sms') {
    const r = compose(notice, client, ctx, 'sms');
    if (!r.ok) return refused(r);
    if (r.channel !== 'sms') throw new Error('unreachable');
    return { ok: true, content: { text: r.text, html: false } };
  }
  if (canal === 'email') {
    const r = compose(notice, client, ctx, 'email');
    if (!r.ok) return refused(r);
    if (r.channel !== 'email') throw new Error('unreachable');
    const qr = await invitationQrImage(a.tipo, a.datos);
    const htmlBody = qr ? withInvitationQr(r.html) : r.html;
    return {
      ok: true,
      content: { text: r.text, html: false, subject: r.subject, htmlBody, ...(qr && { inlineImages: [qr] }) },
    };
  }
  const plain = compose(notice, client, ctx, 'texto');
  if (!plain.ok) return refused(plain);
  if (plain.channel !== 'texto') throw new Error('unreachable');
  // WhatsApp. Payment notices carry the buttons (issue 13 §1): the sender's number is the one on
  // file, verified by WhatsApp, so no link check — the payload names the notice and the answer is
  // checked against the number that pressed it (src/bot/whatsapp-payments.ts).
  const buttons = hasPaymentButtons(a.tipo) && notice.id ? paymentReplyButtons(notice.id) : undefined;
  const window = a.whatsapp_ventana_hasta ? new Date(a.whatsapp_ventana_hasta).getTime() : 0;
  if (!o.forceTemplate && window > o.now.getTime()) {
    return { ok: true, content: { text: plain.text, html: false, ...(buttons && { buttons }) } };
  }
  const values = templateValues(
    {
      tipo: a.tipo,
      today: o.today,
      nombre: client.nombre,
      plan: client.plan,
      velocidad: client.velocidad,
      precio: client.precio,
      ...(client.monto_adeudado !== undefined && { montoAdeudado: client.monto_adeudado }),
      vencimiento: notice.ciclo ?? client.vencimiento,
      datos: notice.datos,
      mensaje: '',
    },
    o.settings,
  );
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) variables[k] = v ?? '';
  // The staff text (campaigns) or the row's own text (manual) is the template's {mensaje}, plain.
  if (notice.texto !== null && notice.texto !== undefined) {
    variables['mensaje'] = htmlToPlainText(substitute(notice.texto, values).text);
  } else if (notice.mensaje !== null && notice.mensaje !== undefined) {
    variables['mensaje'] = plain.text;
  }
  const resolved = await (o.resolveTemplate ?? defaultTemplateResolver)(a.tipo, variables);
  if (!resolved.ok)
    return { ok: false, hold: resolved.hold, motivo: resolved.motivo, detalle: resolved.detalle };
  const template = buttons
    ? { ...resolved.template, buttonPayloads: buttons.map((b) => b.id) }
    : resolved.template;
  return { ok: true, content: { text: plain.text, html: false, template } };
}

// ------------------------------------------------------------------------------ the client's columns

/**
 * The one SQL home of the columns a text is made of, for any set of clients: name, plan, price,
 * speed, current due date and amount owed (`teltec_amount_owed`, the payment rules' SQL home in
 * migration 005). Used by every preview and the test send; the dispatcher's re-check
 * (`teltec_begin_attempts`) returns the same columns for the row it is about to send.
 */
export async function loadComposeClients(
  db: Queryable,
  ids: readonly number[],
  settings: EngineSettings,
  today: string,
): Promise<Map<number, ComposeClient & { id: number; chat_id: number | null }>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<ComposeClient & { id: number; chat_id: number | string | null }>(
    `SELECT c.id, c.nombre, c.chat_id, CASE WHEN c.chat_id IS NULL THEN NULL ELSE c.link_verified END AS link_verified,
            c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
            d.due::text AS vencimiento,
            teltec_amount_owed(d.due, $3::date, c.dia_pago, $2, p.precio) AS monto_adeudado
       FROM clients c
       LEFT JOIN plans p ON p.id = c.plan_id
      CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due) d
      WHERE c.id = ANY($1::int[])`,
    [ids, settings.cycleDays, today],
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        ...r,
        chat_id: r.chat_id === null ? null : Number(r.chat_id),
        precio: r.precio === null ? null : Number(r.precio),
        monto_adeudado:
          r.monto_adeudado === null || r.monto_adeudado === undefined ? null : Number(r.monto_adeudado),
      },
    ]),
  );
}
