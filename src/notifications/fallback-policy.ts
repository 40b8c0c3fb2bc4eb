import { CHANNEL_NAMES, type ChannelName } from '../channels/types.js';
import type { Queryable } from '../db/index.js';
import { notificationTypes } from '../vocabulary.js';
import { createCalendar } from './window.js';

/**
 * How hard a notice tries (issue 11 §3), per kind of notice. Pure functions (plus
 * `storedFallbackRules`, which reads the rules Ajustes stored); the channel policy
 * (channel-policy.ts) and the attempt apply them. Below are the defaults: staff set the rule of each
 * kind in Ajustes → Canales de respaldo, except urgent maintenance (always must deliver) and
 * invitations (never fall back).
 *
 * - **must deliver** (`pago_vencido`, suspension notices, urgent maintenance): the preferred channel,
 *   then every other usable one in FALLBACK_ORDER, moving on after a permanent failure, retries
 *   run out, or no delivery report within FALLBACK_NO_DELIVERY_MINUTES; at most one success.
 * - **one fallback** (reminders, confirmations, manual notices): the preferred channel plus one.
 * - **no fallback** (offers, the welcome, invitations): one channel; an offer goes by the preferred channel if it
 *   carries marketing consent, else the first that does (the re-check's reasons say which), and
 *   never falls back after a failure.
 *
 * The channels a notice already tried and lost are kept in its `datos.canales_descartados`, so a
 * later claim (after a retry wait) does not go back to them.
 *
 * Two doors apply it, with the same functions: the attempt (a synchronous failure: the next
 * channel within the same claim) and `outbox.settleAsyncFailures` (a LATE failure — a WhatsApp
 * `failed` status, an SMS report `fallido`, or a status that overtook the send's commit: the
 * notice goes back to the queue with the lost channel added, and the dispatcher takes the next).
 */

export const FALLBACK_RULES = ['must_deliver', 'one_fallback', 'no_fallback'] as const;
export type FallbackRule = (typeof FALLBACK_RULES)[number];

/** The rule staff chose per kind of notice in Ajustes ("respaldo.reglas"); a missing kind takes its default. */
export type FallbackRules = Readonly<Partial<Record<string, FallbackRule>>>;

export const MUST_DELIVER_TYPES: ReadonlySet<string> = new Set([
  'pago_vencido',
  'aviso_suspension',
  'servicio_suspendido',
]);

/**
 * The kinds whose rule staff may set. Not the invitation: its link token names the channel it went
 * by, so it never goes by another one.
 */
export const RULE_TYPES: readonly string[] = notificationTypes.values.filter((t) => t !== 'invitacion');

/** The issue's defaults, per kind (urgent maintenance aside). */
export function defaultFallbackRule(tipo: string): FallbackRule {
  if (MUST_DELIVER_TYPES.has(tipo)) return 'must_deliver';
  if (tipo === 'oferta' || tipo === 'bienvenida' || tipo === 'invitacion') return 'no_fallback';
  return 'one_fallback';
}

export function defaultFallbackRules(): Record<string, FallbackRule> {
  return Object.fromEntries(RULE_TYPES.map((t) => [t, defaultFallbackRule(t)]));
}

/**
 * The rule for one notice: urgent maintenance must always be delivered (staff marked it urgent when
 * sending it); otherwise the kind's rule from Ajustes, or its default.
 */
export function fallbackRule(tipo: string, urgente: boolean, rules: FallbackRules = {}): FallbackRule {
  if (tipo === 'invitacion') return 'no_fallback';
  if (tipo === 'mantenimiento' && urgente) return 'must_deliver';
  return rules[tipo] ?? defaultFallbackRule(tipo);
}

/**
 * The rules stored by Ajustes, read inside the caller's transaction. The settings provider
 * (src/settings) writes them as one row per kind, `ajustes.respaldo.reglas.<tipo>`; the late-failure
 * paths (a webhook, a delivery report, the no-delivery sweep) have a transaction but no provider, so
 * they read the rows here. An unknown value is ignored (the default applies).
 */
export async function storedFallbackRules(q: Queryable): Promise<FallbackRules> {
  const { rows } = await q.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM settings WHERE key LIKE 'ajustes.respaldo.reglas.%'`,
  );
  const out: Record<string, FallbackRule> = {};
  for (const r of rows) {
    const tipo = r.key.slice('ajustes.respaldo.reglas.'.length);
    if ((FALLBACK_RULES as readonly unknown[]).includes(r.value)) out[tipo] = r.value as FallbackRule;
  }
  return out;
}

/** How many channels a notice may try in all. */
export function channelBudget(rule: FallbackRule): number {
  return rule === 'must_deliver' ? CHANNEL_NAMES.length : rule === 'one_fallback' ? 2 : 1;
}

/** Whether a notice that has lost `lost` channels (the one that just failed included) may try another. */
export function mayFallBack(rule: FallbackRule, lost: readonly ChannelName[]): boolean {
  return lost.length < channelBudget(rule);
}

/** The channels a notice already lost, from its `datos`. */
export function lostChannels(datos: Record<string, unknown> | null | undefined): ChannelName[] {
  const v = datos?.['canales_descartados'];
  return Array.isArray(v)
    ? v.filter((c): c is ChannelName => (CHANNEL_NAMES as readonly unknown[]).includes(c))
    : [];
}

/** The whole try order: the preferred channel first, then FALLBACK_ORDER, then any channel it leaves out. */
export function tryOrder(preferred: ChannelName | null, order: readonly ChannelName[]): ChannelName[] {
  const out: ChannelName[] = [];
  for (const c of [preferred, ...order, ...CHANNEL_NAMES]) {
    if (c && !out.includes(c)) out.push(c);
  }
  return out;
}

// ------------------------------------------------------------------------------------ the path

const CHANNEL_LABELS: Record<ChannelName, string> = {
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  sms: 'SMS',
  email: 'Correo',
};

/** A failed attempt's code in a word staff read. */
const FAILURE_WORDS: Record<string, string> = {
  '403': 'bloqueado',
  blocked: 'bloqueado',
  deactivated: 'cuenta eliminada',
  chat_not_found: 'chat no encontrado',
  '131026': 'no tiene WhatsApp',
  '131050': 'pidió no recibir',
  sms_rechazado: 'rechazado',
  sms_respuesta_no_ok: 'rechazado',
  sms_no_entregado: 'no entregado',
  sms_error_servidor: 'error de la pasarela',
  sms_red: 'pasarela sin respuesta',
  smtp_permanente: 'rebotó',
  smtp_temporal: 'rechazo temporal',
  smtp_red: 'servidor sin respuesta',
  sin_entrega: 'sin confirmación de entrega',
  network: 'sin conexión',
  timeout: 'sin respuesta',
};

export interface PathStep {
  canal: ChannelName;
  estado: string;
  error_codigo: string | null;
  enviado_at: Date | string | null;
  entregado_at: Date | string | null;
  leido_at: Date | string | null;
  fallido_at: Date | string | null;
}

/**
 * A notice's whole path, for staff: "Telegram: bloqueado → WhatsApp: entregado 08:03". One step per
 * attempt, in order; a channel retried shows its last state once per run of attempts.
 */
export function describePath(steps: readonly PathStep[], timeZone: string): string {
  const cal = createCalendar(timeZone);
  const at = (d: Date | string | null) => (d === null ? '' : ` ${cal.time(new Date(d))}`);
  const words = steps.map((s) => {
    const label = CHANNEL_LABELS[s.canal] ?? s.canal;
    switch (s.estado) {
      case 'leido':
        return `${label}: leído${at(s.leido_at)}`;
      case 'entregado':
        return `${label}: entregado${at(s.entregado_at)}`;
      case 'enviado':
        return `${label}: enviado${at(s.enviado_at)}`;
      case 'fallido':
        return `${label}: ${FAILURE_WORDS[s.error_codigo ?? ''] ?? (s.error_codigo ? `falló (${s.error_codigo})` : 'falló')}`;
      default:
        return `${label}: en curso`;
    }
  });
  // Consecutive retries of one channel that failed the same way read as one step.
  return words.filter((w, i) => i === 0 || w !== words[i - 1]).join(' → ');
}
