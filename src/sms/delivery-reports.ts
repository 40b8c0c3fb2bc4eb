import type { ChannelVerdict } from '../channels/types.js';
import type { Db, Queryable } from '../db/index.js';
import {
  applyDeliveryStatuses,
  type DeliveryStatus,
  type FailedEnvio,
  replayParkedStatuses,
  settleAsyncFailures,
  settleFailed,
} from '../notifications/outbox.js';
import { classifySmsFailure, SMS_DLR_FAILED } from './channel.js';

/**
 * The SMS gateway's delivery reports: a gateway's word ("DELIVRD", "undelivered", "entregado") →
 * our delivery state, applied through the outbox's one door (`applyDeliveryStatuses`: forward
 * only, idempotent, parked when it overtakes the send's own commit). An attempt a report closes
 * as failed is classified (SMS classifier) and handed to the outbox to settle (next channel for a
 * must-deliver notice) in the same transaction: `outbox.settleAsyncFailures` unless a test passes another.
 */

export type SettleSmsFailures = (
  tx: Queryable,
  failures: (FailedEnvio & { verdict: ChannelVerdict })[],
  now: Date,
) => Promise<void>;

/** A gateway's word for a message's fate → our delivery state (null = a word we do not act on). */
export function toDeliveryState(word: string): DeliveryStatus['estado'] | null {
  const w = word.trim().toLowerCase();
  if (['entregado', 'delivered', 'delivrd', 'delivery_success', 'success', 'read'].includes(w))
    return 'entregado';
  if (
    [
      'fallido',
      'failed',
      'undelivered',
      'undeliv',
      'rejectd',
      'rejected',
      'expired',
      'error',
      'deleted',
    ].includes(w)
  ) {
    return 'fallido';
  }
  if (['enviado', 'sent', 'accepted', 'acceptd', 'queued', 'enroute'].includes(w)) return 'enviado';
  return null;
}

export interface SmsReport {
  /** Our `{id}`: the attempt's proveedor_id. */
  id: string;
  estado: DeliveryStatus['estado'];
  error?: string | null;
}

export type SmsReportResult = 'aplicado' | 'repetido' | 'pendiente';

/** A failed attempt's verdict by the SMS classifier. */
const classify = (f: FailedEnvio) =>
  classifySmsFailure({ code: f.errorCodigo ?? SMS_DLR_FAILED, message: f.error ?? '' });

export async function ingestSmsReport(
  deps: { db: Db; clock: { now(): Date }; settleAsyncFailures?: SettleSmsFailures | undefined },
  r: SmsReport,
): Promise<SmsReportResult> {
  const now = deps.clock.now();
  const settle = deps.settleAsyncFailures ?? settleAsyncFailures;
  const result = await deps.db.transaction(async (tx) => {
    const report = await applyDeliveryStatuses(
      tx,
      [
        {
          canal: 'sms',
          proveedorId: r.id,
          estado: r.estado,
          at: now,
          ...(r.estado === 'fallido' && {
            errorCodigo: SMS_DLR_FAILED,
            error: `la pasarela SMS informó que no se entregó${r.error ? `: ${r.error.slice(0, 200)}` : ''}`,
          }),
        },
      ],
      { now },
    );
    await settleFailed(tx, report.failed, classify, now, settle);
    return report.unknown.length > 0 ? 'pendiente' : report.applied > 0 ? 'aplicado' : 'repetido';
  });
  if (result !== 'pendiente') return result;
  // The send may have committed meanwhile (see replayParkedStatuses).
  const late = await replayParkedStatuses(deps.db, 'sms', classify, now, settle);
  return late.applied > 0 ? 'aplicado' : result;
}
