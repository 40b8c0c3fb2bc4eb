import type { Queryable } from '../db/index.js';
import { REACHABLE_SQL } from './generator.js';
import type { EngineSettings } from './types.js';

export interface PaymentEffect {
  /** Pending reminder and overdue notices cancelled because the cycle they spoke of is paid. */
  canceladas: number;
  /** Whether a payment confirmation was queued. */
  confirmacion: boolean;
}

/**
 * What a recorded payment does to the outbox. MUST run in the transaction that records the
 * payment, after the client's last-payment date moved: pending payment notices of any cycle other
 * than the client's new one are cancelled at once (state `cancelado`, reason `pago_recibido`), and a
 * `pago_recibido` confirmation is queued when the setting is on and the client is reachable.
 */
export async function applyPaymentToOutbox(
  tx: Queryable,
  p: { clientId: number; paymentId: number; monto: number; fecha: string },
  settings: EngineSettings,
  now: Date,
): Promise<PaymentEffect> {
  const cancelled = await tx.query(
    `UPDATE notifications n
        SET estado = 'cancelado', motivo = 'pago_recibido', locked_by = NULL, locked_until = NULL, updated_at = $3
       FROM clients c
      WHERE c.id = $1 AND n.client_id = c.id AND n.estado = 'pendiente'
        AND n.tipo IN ('recordatorio_pago', 'pago_vencido')
        AND n.ciclo IS DISTINCT FROM teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2)`,
    [p.clientId, settings.cycleDays, now],
  );
  let confirmacion = false;
  if (settings.paymentConfirmation) {
    const queued = await tx.query(
      `INSERT INTO notifications (client_id, tipo, dedupe_key, datos, ciclo, proximo_intento, created_at, updated_at)
       SELECT c.id, 'pago_recibido', 'pago_recibido:' || $2::text, $3::jsonb,
              teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $4), $5, $5, $5
         FROM clients c WHERE c.id = $1 AND ${REACHABLE_SQL}
       ON CONFLICT (dedupe_key) DO NOTHING`,
      [p.clientId, p.paymentId, JSON.stringify({ monto: p.monto, fecha: p.fecha }), settings.cycleDays, now],
    );
    confirmacion = queued.rowCount > 0;
  }
  return { canceladas: cancelled.rowCount, confirmacion };
}
