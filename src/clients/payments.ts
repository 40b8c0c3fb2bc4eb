import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';

export interface Payment {
  id: number;
  cliente_id: number;
  monto: number;
  fecha: string;
  referencia: string | null;
  creado_en: string;
}

interface PaymentRow {
  id: number;
  client_id: number;
  monto: number;
  fecha: string;
  referencia: string | null;
  created_at: Date;
}

const toPayment = (r: PaymentRow): Payment => ({
  id: r.id,
  cliente_id: r.client_id,
  monto: r.monto,
  fecha: r.fecha,
  referencia: r.referencia,
  creado_en: r.created_at.toISOString(),
});

/**
 * Records a payment and moves the client's last-payment date forward (never back: a late-entered
 * old receipt does not reopen a cycle). MUST run inside the caller's transaction, so that what
 * depends on the payment (cancelling notices) commits with it.
 */
export async function recordPayment(
  tx: Queryable,
  p: { clientId: number; monto: number; fecha: string; referencia?: string | null; actor?: string },
): Promise<{ payment: Payment; previousLastPayment: string | null }> {
  const prev = await tx.query<{ fecha_ultimo_pago: string | null }>(
    'SELECT fecha_ultimo_pago FROM clients WHERE id = $1 FOR UPDATE',
    [p.clientId],
  );
  if (!prev.rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${p.clientId}.`);
  const { rows } = await tx.query<PaymentRow>(
    `INSERT INTO payments (client_id, monto, fecha, referencia, created_by) VALUES ($1, $2, $3, $4, $5)
     RETURNING id, client_id, monto, fecha, referencia, created_at`,
    [p.clientId, p.monto, p.fecha, p.referencia ?? null, p.actor ?? null],
  );
  await tx.query(
    `UPDATE clients SET fecha_ultimo_pago = GREATEST(fecha_ultimo_pago, $2::date), updated_at = now() WHERE id = $1`,
    [p.clientId, p.fecha],
  );
  return { payment: toPayment(rows[0]!), previousLastPayment: prev.rows[0].fecha_ultimo_pago };
}

export async function listPayments(db: Queryable, clientId: number): Promise<Payment[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT id, client_id, monto, fecha, referencia, created_at FROM payments WHERE client_id = $1
      ORDER BY fecha DESC, id DESC`,
    [clientId],
  );
  return rows.map(toPayment);
}
