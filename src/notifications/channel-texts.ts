import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { escapeHtml, htmlToPlainText } from '../telegram/html.js';
import {
  substitute,
  type TemplateValues,
  type TemplateVariable,
  templateVariables,
  worstCaseValues,
} from './templates.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * The texts a notice has besides its Telegram template (issue 11): a short SMS text (GSM-7, at most
 * 160 characters once rendered — the long Telegram text is never cut into an SMS) and an e-mail
 * subject. The e-mail body is the notice's own template (HTML part as written, plain-text part
 * from the same rendering). Stored per type and optionally per plan in `channel_templates`
 * (NULL = the Spanish default below).
 */

export const SMS_MAX_CHARS = 160;
export const EMAIL_SUBJECT_MAX_CHARS = 150;

export type ChannelTextField = 'sms' | 'email_asunto';

export const defaultSmsTemplates: Record<NotificationType, string> = {
  recordatorio_pago:
    '{empresa}: su pago de {monto} {plazo}. Pague a tiempo y evite la suspension. Si ya pago, ignore este mensaje.',
  pago_vencido:
    '{empresa}: su pago de {monto} {plazo}. Regularice para evitar la suspension del servicio. Si ya pago, ignore este mensaje.',
  mantenimiento: '{empresa} mantenimiento: {mensaje}',
  oferta: '{empresa}: {mensaje}',
  bienvenida: '{empresa}: desde ahora recibira por aqui sus avisos de pago y de mantenimiento.',
  manual: '{mensaje}',
  pago_recibido:
    '{empresa}: recibimos su pago de {monto} del {fecha_pago}. Gracias. Proximo vencimiento: {fecha_vencimiento}.',
  aviso_suspension:
    '{empresa}: su pago de {monto} {plazo}. Su servicio sera suspendido el {fecha_suspension}. Si ya pago, ignore este mensaje.',
  servicio_suspendido:
    '{empresa}: su servicio fue suspendido por falta de pago. Para reactivarlo, pague {monto}.',
  servicio_reactivado:
    '{empresa}: su servicio fue reactivado. Gracias. Proximo vencimiento: {fecha_vencimiento}.',
  invitacion: '{empresa}: reciba sus avisos de pago por Telegram. Su enlace personal: {enlace}',
};

export const defaultEmailSubjects: Record<NotificationType, string> = {
  recordatorio_pago: 'Recordatorio de pago — {empresa}',
  pago_vencido: 'Pago vencido — {empresa}',
  mantenimiento: 'Aviso de mantenimiento — {empresa}',
  oferta: 'Novedades de {empresa}',
  bienvenida: 'Bienvenido/a a los avisos de {empresa}',
  manual: 'Mensaje de {empresa}',
  pago_recibido: 'Pago recibido — {empresa}',
  aviso_suspension: 'Aviso de suspensión del servicio — {empresa}',
  servicio_suspendido: 'Servicio suspendido — {empresa}',
  servicio_reactivado: 'Servicio reactivado — {empresa}',
  invitacion: 'Reciba sus avisos de {empresa} por Telegram',
};

const defaults: Record<ChannelTextField, Record<NotificationType, string>> = {
  sms: defaultSmsTemplates,
  email_asunto: defaultEmailSubjects,
};

// ------------------------------------------------------------------------------------ GSM-7

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENDED = '^{}\\[~]|€\f';
const gsmBasic = new Set(GSM7_BASIC);
const gsmExtended = new Set(GSM7_EXTENDED);
/**
 * Plain text reduced to plain GSM-7, the way Ecuadorian routes deliver it intact: accents removed
 * (á → a, ñ → n, ü → u), ¿ and ¡ dropped, typographic quotes and dashes made plain, emoji and
 * anything else removed, blank runs collapsed.
 */
export function toGsm7(text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch === '¿' || ch === '¡') continue;
    const base = ch.normalize('NFD').replace(/\p{M}/gu, '');
    if (base.length === 1 && (gsmBasic.has(base) || gsmExtended.has(base))) out += base;
    else if (gsmBasic.has(ch) || gsmExtended.has(ch)) out += ch;
    else if (/[\u2018\u2019]/.test(ch)) out += "'";
    else if (/[\u201c\u201d«»]/.test(ch)) out += '"';
    else if (/[\u2013\u2014]/.test(ch)) out += '-';
    else if (ch === '…') out += '...';
    else if (/\s/.test(ch)) out += ' ';
  }
  return out
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Septets a GSM-7 text takes (extended characters take two). */
export function gsm7Length(text: string): number {
  let n = 0;
  for (const ch of text) n += gsmExtended.has(ch) ? 2 : 1;
  return n;
}

// ------------------------------------------------------------------------------------ render

/**
 * Fills a plain-text template (SMS, subject): values are not escaped, `{mensaje}` (staff text,
 * Telegram HTML) is reduced to plain text. Same soft/hard rules as `substitute`.
 */
export function substitutePlain(
  template: string,
  values: TemplateValues,
): { text: string; missing: TemplateVariable[] } {
  // Escape the template so `substitute` (HTML) and htmlToPlainText give back exactly what was written.
  const out = substitute(escapeHtml(template), values, new Set(['mensaje']));
  return { text: htmlToPlainText(out.text), missing: out.missing };
}

/** An SMS text: rendered, plain, GSM-7. */
export function renderSms(template: string, values: TemplateValues) {
  const r = substitutePlain(template, values);
  const text = toGsm7(r.text);
  return { text, length: gsm7Length(text), missing: r.missing };
}

/** Values for checking that an SMS template fits: long but plausible (an SMS has no room for a 120-letter name). */
export function smsWorstCaseValues(settings: EngineSettings): TemplateValues {
  return { ...worstCaseValues(settings), nombre: 'N'.repeat(30), plan: 'P'.repeat(25), mensaje: '' };
}

/** The e-mail's HTML document around a notice's Telegram HTML (line breaks kept). */
export function emailHtml(telegramHtml: string): string {
  const body = telegramHtml.replace(/\r?\n/g, '<br>\n');
  return (
    '<!doctype html><html lang="es"><head><meta charset="utf-8"></head>' +
    `<body style="font-family:Arial,sans-serif;font-size:15px;line-height:1.5"><div>${body}</div></body></html>`
  );
}

// ------------------------------------------------------------------------------------ validation

function unknownVariables(text: string): string[] {
  return [...text.matchAll(/\{([a-z_]+)\}/g)]
    .filter((m) => !(m[1]! in templateVariables))
    .map((m) => `variable desconocida {${m[1]}}`);
}

/** Problems of an SMS template (empty = fine): unknown variables, longer than 160 once rendered. */
export function smsTemplateProblems(text: string, settings: EngineSettings): string[] {
  const problems: string[] = [];
  if (!text.trim()) problems.push('el SMS está vacío');
  problems.push(...unknownVariables(text));
  const r = renderSms(text, smsWorstCaseValues(settings));
  if (r.length > SMS_MAX_CHARS) {
    problems.push(`con datos largos el SMS tendría ${r.length} caracteres (máximo ${SMS_MAX_CHARS})`);
  }
  return [...new Set(problems)];
}

/** Problems of an e-mail subject: unknown variables, line breaks, too long once rendered. */
export function emailSubjectProblems(text: string, settings: EngineSettings): string[] {
  const problems: string[] = [];
  if (!text.trim()) problems.push('el asunto está vacío');
  if (/[\r\n]/.test(text)) problems.push('el asunto no puede tener saltos de línea');
  problems.push(...unknownVariables(text));
  const r = substitutePlain(text, { ...worstCaseValues(settings), nombre: 'N'.repeat(40), mensaje: '' });
  if (r.text.length > EMAIL_SUBJECT_MAX_CHARS) {
    problems.push(
      `con datos largos el asunto tendría ${r.text.length} caracteres (máximo ${EMAIL_SUBJECT_MAX_CHARS})`,
    );
  }
  return [...new Set(problems)];
}

/** Refuses an SMS text or subject staff cannot save (422 PLANTILLA_INVALIDA with the reasons). */
export function validateChannelText(field: ChannelTextField, text: string, settings: EngineSettings): void {
  const problems =
    field === 'sms' ? smsTemplateProblems(text, settings) : emailSubjectProblems(text, settings);
  if (problems.length) {
    const what = field === 'sms' ? 'El SMS' : 'El asunto del correo';
    throw new AppError('PLANTILLA_INVALIDA', `${what} no es válido: ${problems.join('; ')}.`, problems);
  }
}

// ------------------------------------------------------------------------------------ storage

export interface ChannelTextRow {
  tipo: NotificationType;
  plan_id: number | null;
  sms: string | null;
  email_asunto: string | null;
  updated_by: string | null;
  updated_at: Date;
}

/** Resolves a notice's SMS text and e-mail subject: per plan, general, default. */
export interface ChannelTextSet {
  resolve(field: ChannelTextField, tipo: NotificationType, planId: number | null | undefined): string;
}

export function channelTextSet(
  rows: readonly Pick<ChannelTextRow, 'tipo' | 'plan_id' | 'sms' | 'email_asunto'>[],
) {
  const map = new Map(rows.map((r) => [`${r.tipo}:${r.plan_id ?? ''}`, r]));
  const set: ChannelTextSet = {
    resolve: (field, tipo, planId) =>
      (planId != null ? map.get(`${tipo}:${planId}`)?.[field] : undefined) ??
      map.get(`${tipo}:`)?.[field] ??
      defaults[field][tipo],
  };
  return set;
}

export const defaultChannelTexts: ChannelTextSet = channelTextSet([]);

export async function listChannelTextRows(db: Queryable): Promise<ChannelTextRow[]> {
  const { rows } = await db.query<ChannelTextRow>(
    `SELECT tipo, plan_id, sms, email_asunto, updated_by, updated_at
       FROM channel_templates ORDER BY tipo, plan_id NULLS FIRST`,
  );
  return rows;
}

export async function loadChannelTexts(db: Queryable): Promise<ChannelTextSet> {
  return channelTextSet(await listChannelTextRows(db));
}

/**
 * Saves a type's SMS text and/or e-mail subject (general or for one plan). `null` = back to the
 * default for that field; `undefined` = unchanged. Validated first.
 */
export async function saveChannelTexts(
  db: Queryable,
  t: {
    tipo: NotificationType;
    planId: number | null;
    sms?: string | null;
    emailAsunto?: string | null;
    actor?: string;
  },
  settings: EngineSettings,
): Promise<ChannelTextRow> {
  if (t.sms) validateChannelText('sms', t.sms, settings);
  if (t.emailAsunto) validateChannelText('email_asunto', t.emailAsunto, settings);
  const { rows } = await db.query<ChannelTextRow>(
    `INSERT INTO channel_templates (tipo, plan_id, sms, email_asunto, updated_by, updated_at)
     VALUES ($1, $2, $4, $6, $7, now())
     ON CONFLICT (tipo, (COALESCE(plan_id, 0))) DO UPDATE SET
       sms = CASE WHEN $3 THEN EXCLUDED.sms ELSE channel_templates.sms END,
       email_asunto = CASE WHEN $5 THEN EXCLUDED.email_asunto ELSE channel_templates.email_asunto END,
       updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING tipo, plan_id, sms, email_asunto, updated_by, updated_at`,
    [
      t.tipo,
      t.planId,
      t.sms !== undefined,
      t.sms ?? null,
      t.emailAsunto !== undefined,
      t.emailAsunto ?? null,
      t.actor ?? null,
    ],
  );
  return rows[0]!;
}
