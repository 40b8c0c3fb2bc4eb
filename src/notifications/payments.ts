import type { Queryable } from '../db/index.js';
import { localDate } from '../time.js';
import { REACHABLE_SQL } from './generator.js';
import { cancel, enqueueFrom } from './outbox.js';
import { reactivateIfPaidUp } from './service-state.js';
import type { EngineSettings } from './types.js';

export interface PaymentEffect {
  /** Pending reminder and overdue notices cancelled because the cycle they spoke of is paid. */
  canceladas: number;
  /** Whether a payment confirmation was queued. */
  confirmacion: boolean;
  /** A suspended client the payment left up to date became active (Ajustes `ciclo.reactivar_al_pagar`). */
  reactivado: boolean;
}

/**
 * What a recorded payment does to the outbox. MUST run in the transaction that records the
 * payment, after the client's last-payment date moved: pending payment notices of any cycle other
 * than the client's new one are cancelled at once (state `cancelado`, reason `pago_recibido`), and a
 * `pago_recibido` confirmation is queued when the setting is on and the client is reachable.
 * A suspended client the payment leaves up to date is reactivated when Ajustes allow it, with its
 * `servicio_reactivado` notice (issue 13 §6, ./service-state.ts).
 */
export async function applyPaymentToOutbox(
  tx: Queryable,
  p: { clientId: number; paymentId: number; monto: number; fecha: string },
  settings: EngineSettings,
  now: Date,
): Promise<PaymentEffect> {
  const canceladas = await cancel(
    tx,
    { paidClientId: p.clientId, cycleDays: settings.cycleDays },
    'pago_recibido',
    now,
  );
  let confirmacion = false;
  if (settings.paymentConfirmation) {
    const [r] = await enqueueFrom(tx, {
      source: `SELECT c.id AS client_id, 'pago_recibido' AS tipo, 'pago_recibido:' || $2::text AS dedupe_key,
                      $3::jsonb AS datos, teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $4) AS ciclo
                 FROM clients c WHERE c.id = $1 AND ${REACHABLE_SQL}`,
      params: [
        p.clientId,
        p.paymentId,
        JSON.stringify({ monto: p.monto, fecha: p.fecha }),
        settings.cycleDays,
      ],
      columns: ['client_id', 'tipo', 'dedupe_key', 'datos', 'ciclo'],
      now,
    });
    confirmacion = (r?.creadas ?? 0) > 0;
  }
  const reactivado = await reactivateIfPaidUp(
    tx,
    { clientId: p.clientId, paymentId: p.paymentId, today: localDate(now, settings.timeZone) },
    settings,
    now,
  );
  return { canceladas, confirmacion, reactivado };
}
