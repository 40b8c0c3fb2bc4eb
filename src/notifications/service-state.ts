import type { Queryable } from '../db/index.js';
import { REACHABLE_SQL } from './generator.js';
import { cancel, enqueueFrom } from './outbox.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * What a change of a client's service state (`clients.estado`) does to the outbox (issue 13 §6).
 * The suspension itself is the provider's decision (staff, or a payment when Ajustes
 * `ciclo.reactivar_al_pagar` lets it reactivate); this only tells the client, once:
 *
 * - → `suspendido`: pending pre-suspension and reactivation notices are cancelled and one urgent
 *   `servicio_suspendido` is queued.
 * - `suspendido` → `activo`: a pending `servicio_suspendido` is cancelled and one
 *   `servicio_reactivado` is queued (it says the next due date).
 * - → `retirado`: pending service notices are cancelled.
 *
 * MUST run in the transaction that changed `clients.estado`, after it changed, with the state the
 * row had before (read `FOR UPDATE`): a change to the same state does nothing, so two requests
 * that both ask for "suspendido" queue one notice. `changeKey` makes the notice of this change
 * exist once (a retried request with the same key queues nothing more).
 */
export interface ServiceStateChange {
  clientId: number;
  from: string;
  to: string;
  /** Unique per change (the audit id, the payment id, or the change time in ms). */
  changeKey: string;
}

export interface ServiceStateEffect {
  /** The notice queued (null: none, or the client cannot be reached). */
  aviso: NotificationType | null;
  canceladas: number;
}

const SERVICE_NOTICES = ['aviso_suspension', 'servicio_suspendido', 'servicio_reactivado'] as const;

export async function applyServiceStateToOutbox(
  tx: Queryable,
  c: ServiceStateChange,
  settings: EngineSettings,
  now: Date,
): Promise<ServiceStateEffect> {
  if (c.from === c.to) return { aviso: null, canceladas: 0 };
  let tipo: NotificationType | null = null;
  let canceladas = 0;
  if (c.to === 'suspendido') {
    canceladas = await cancel(
      tx,
      { clientId: c.clientId, tipos: ['aviso_suspension', 'servicio_reactivado'] },
      'cliente_suspendido',
      now,
    );
    tipo = 'servicio_suspendido';
  } else if (c.to === 'activo' && c.from === 'suspendido') {
    canceladas = await cancel(
      tx,
      { clientId: c.clientId, tipos: ['servicio_suspendido'] },
      'ya_no_aplica',
      now,
    );
    tipo = 'servicio_reactivado';
  } else if (c.to === 'retirado') {
    canceladas = await cancel(tx, { clientId: c.clientId, tipos: SERVICE_NOTICES }, 'cliente_retirado', now);
  }
  if (!tipo) return { aviso: null, canceladas };
  const [r] = await enqueueFrom(tx, {
    source: `SELECT c.id AS client_id, $2::text AS tipo, true AS urgente,
                    $2::text || ':' || c.id || ':' || $3::text AS dedupe_key,
                    teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $4) AS ciclo
               FROM clients c WHERE c.id = $1 AND ${REACHABLE_SQL}`,
    params: [c.clientId, tipo, c.changeKey, settings.cycleDays],
    columns: ['client_id', 'tipo', 'urgente', 'dedupe_key', 'ciclo'],
    now,
  });
  return { aviso: (r?.creadas ?? 0) > 0 ? tipo : null, canceladas };
}

/**
 * A recorded payment and a suspended client (issue 13 §6): when Ajustes lets a payment
 * reactivate and the client is now up to date (no unpaid cycle on `today`), the client becomes
 * `activo` and `servicio_reactivado` is queued. MUST run in the payment's transaction, after the
 * last-payment date moved. Returns whether the client was reactivated.
 */
export async function reactivateIfPaidUp(
  tx: Queryable,
  p: { clientId: number; paymentId: number; today: string },
  settings: EngineSettings,
  now: Date,
): Promise<boolean> {
  if (!settings.suspension.reactivateOnPayment) return false;
  const { rows } = await tx.query<{ id: number }>(
    `UPDATE clients c SET estado = 'activo', updated_at = $3
      WHERE c.id = $1 AND c.estado = 'suspendido'
        AND teltec_unpaid_cycles(teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $4), $2::date, c.dia_pago, $4) = 0
      RETURNING c.id`,
    [p.clientId, p.today, now, settings.cycleDays],
  );
  if (!rows[0]) return false;
  await applyServiceStateToOutbox(
    tx,
    { clientId: p.clientId, from: 'suspendido', to: 'activo', changeKey: `pago${p.paymentId}` },
    settings,
    now,
  );
  return true;
}
