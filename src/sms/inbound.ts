import { recordConsents } from '../clients/consents.js';
import { normalizePhone } from '../clients/phone.js';
import type { Db } from '../db/index.js';

/**
 * SMS the clients send to the provider's number, as the gateway forwards them (issue 11 §4): a
 * "SALIR" (or STOP, BAJA — any case, with or without accents or punctuation) is the client's
 * opt-out of SMS. It is recorded in the consent ledger as a revocation of both categories on the
 * `sms` channel (source `sms`, the message as evidence): service notices stop going by SMS
 * (`teltec_channel_reasons` reads the ledger) and marketing never did without consent. Anything
 * else is not acted on. A sender we do not know changes nothing.
 */

/** The words that opt a client out of SMS, as normalized by `optOutWord`. */
export const SMS_OPT_OUT_WORDS: ReadonlySet<string> = new Set(['SALIR', 'STOP', 'BAJA']);

/** The message as one upper-case word without accents or punctuation ("¡Salir!" → "SALIR"). */
function normalizeWord(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .trim()
    .replace(/\s+/g, ' ')
    .toUpperCase();
}

/** Whether an inbound SMS is an opt-out. */
export function isSmsOptOut(text: string): boolean {
  return SMS_OPT_OUT_WORDS.has(normalizeWord(text));
}

export interface InboundSms {
  /** The sender as the gateway gives it (5939…, +593 9…, 09…). */
  from: string;
  text: string;
}

/** `baja`: recorded; `ignorado`: not an opt-out; `desconocido`: no client has this mobile. */
export type InboundSmsResult =
  | { resultado: 'baja'; clientIds: number[] }
  | { resultado: 'ignorado' | 'desconocido'; clientIds: [] };

export async function ingestInboundSms(
  deps: { db: Db; clock: { now(): Date } },
  m: InboundSms,
): Promise<InboundSmsResult> {
  if (!isSmsOptOut(m.text)) return { resultado: 'ignorado', clientIds: [] };
  const phone = normalizePhone(m.from);
  if (phone === null) return { resultado: 'desconocido', clientIds: [] };
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    // Every client with this mobile on file (a family may share one): the number asked to stop.
    const { rows } = await tx.query<{ id: number }>(
      'SELECT id FROM clients WHERE telefono_norm = $1 ORDER BY id',
      [phone],
    );
    if (rows.length === 0) return { resultado: 'desconocido', clientIds: [] };
    const evidencia = `SMS de ${phone}: «${m.text.replace(/\0/g, '').trim().slice(0, 160)}»`;
    await recordConsents(
      tx,
      rows.flatMap((r) =>
        (['servicio', 'marketing'] as const).map((categoria) => ({
          clientId: Number(r.id),
          canal: 'sms' as const,
          categoria,
          otorgado: false,
          fuente: 'sms' as const,
          evidencia,
          registradoPor: 'cliente',
          at: now,
        })),
      ),
    );
    return { resultado: 'baja', clientIds: rows.map((r) => Number(r.id)) };
  });
}
