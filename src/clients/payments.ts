import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';

export interface Payment {
  id: number;
  cliente_id: number;
  monto: number;
  fecha: string;
  referencia: string | null;
  creado_en: string;
  /** Set when the payment was voided: it no longer counts for the due date. */
  anulado: { en: string; por: string | null; motivo: string } | null;
}

interface PaymentRow {
  id: number;
  client_id: number;
  monto: number;
  fecha: string;
  referencia: string | null;
  created_at: Date;
  anulado_en: Date | null;
  anulado_por: string | null;
  anulado_motivo: string | null;
}

const columns =
  'id, client_id, monto, fecha, referencia, created_at, anulado_en, anulado_por, anulado_motivo';

const toPayment = (r: PaymentRow): Payment => ({
  id: r.id,
  cliente_id: r.client_id,
  monto: r.monto,
  fecha: r.fecha,
  referencia: r.referencia,
  creado_en: r.created_at.toISOString(),
  anulado: r.anulado_en
    ? { en: r.anulado_en.toISOString(), por: r.anulado_por, motivo: r.anulado_motivo ?? '' }
    : null,
});

/** A payment larger than this many times what the client owes must be confirmed (`confirmar_monto`). */
export const UNUSUAL_AMOUNT_FACTOR = 3;

/**
 * Records a payment and moves the client's last-payment date forward (never back: a late-entered
 * old receipt does not reopen a cycle). MUST run inside the caller's transaction, so that what
 * depends on the payment (cancelling notices) commits with it.
 *
 * Refused: a date after `today` (a receipt cannot come from the future: 2030-01-01 pushed a due
 * date years ahead), and an amount more than 3 × what the client owes (`owed`, from the engine's
 * `teltec_amount_owed`) unless `confirmed` — a typo like $99,999 on a $20 plan.
 */
export async function recordPayment(
  tx: Queryable,
  p: {
    clientId: number;
    monto: number;
    fecha: string;
    today: string;
    referencia?: string | null;
    actor?: string;
    /** What the client owes now (null: no plan or no due date, nothing to compare with). */
    owed: (tx: Queryable) => Promise<number | null>;
    confirmed?: boolean;
    formatMoney: (n: number) => string;
  },
): Promise<{ payment: Payment; previousLastPayment: string | null }> {
  if (p.fecha > p.today) {
    throw new AppError(
      'VALIDACION',
      `La fecha del pago (${p.fecha}) es posterior a hoy (${p.today}): registre el pago con la fecha en que se recibió.`,
      [{ campo: 'fecha', mensaje: 'no puede ser una fecha futura' }],
    );
  }
  const prev = await tx.query<{ fecha_ultimo_pago: string | null }>(
    'SELECT fecha_ultimo_pago FROM clients WHERE id = $1 FOR UPDATE',
    [p.clientId],
  );
  if (!prev.rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${p.clientId}.`);
  if (!p.confirmed) {
    const owed = await p.owed(tx);
    if (owed !== null && owed > 0 && p.monto > UNUSUAL_AMOUNT_FACTOR * owed) {
      throw new AppError(
        'MONTO_INUSUAL',
        `El monto ${p.formatMoney(p.monto)} es más de ${UNUSUAL_AMOUNT_FACTOR} veces lo que el cliente debe ` +
          `(${p.formatMoney(owed)}). Revise el valor; si es correcto, envíelo de nuevo con "confirmar_monto": true.`,
        { monto: p.monto, monto_adeudado: owed },
      );
    }
  }
  const { rows } = await tx.query<PaymentRow>(
    `INSERT INTO payments (client_id, monto, fecha, referencia, created_by, fecha_anterior)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
    [p.clientId, p.monto, p.fecha, p.referencia ?? null, p.actor ?? null, prev.rows[0].fecha_ultimo_pago],
  );
  await tx.query(
    `UPDATE clients SET fecha_ultimo_pago = GREATEST(fecha_ultimo_pago, $2::date), updated_at = now() WHERE id = $1`,
    [p.clientId, p.fecha],
  );
  return { payment: toPayment(rows[0]!), previousLastPayment: prev.rows[0].fecha_ultimo_pago };
}

/**
 * Voids a payment (kept on record with who, when and why) and recomputes the client's
 * last-payment date without it: the latest remaining payment, or the date the client had before
 * this payment was recorded. MUST run inside the caller's transaction (the outbox follows in it).
 */
export async function voidPayment(
  tx: Queryable,
  p: { clientId: number; paymentId: number; motivo: string; actor?: string; now: Date },
): Promise<{ payment: Payment; lastPayment: string | null }> {
  await tx.query('SELECT 1 FROM clients WHERE id = $1 FOR UPDATE', [p.clientId]);
  const found = await tx.query<PaymentRow>(
    `SELECT ${columns} FROM payments WHERE id = $1 AND client_id = $2 FOR UPDATE`,
    [p.paymentId, p.clientId],
  );
  const row = found.rows[0];
  if (!row) throw new AppError('NO_ENCONTRADO', `El cliente ${p.clientId} no tiene el pago ${p.paymentId}.`);
  if (row.anulado_en) {
    throw new AppError(
      'PAGO_YA_ANULADO',
      `El pago ${p.paymentId} ya fue anulado el ${row.anulado_en.toISOString().slice(0, 10)}.`,
    );
  }
  const { rows } = await tx.query<PaymentRow>(
    `UPDATE payments SET anulado_en = $2, anulado_por = $3, anulado_motivo = $4 WHERE id = $1 RETURNING ${columns}`,
    [p.paymentId, p.now, p.actor ?? null, p.motivo],
  );
  // The due date as if the payment had never been recorded (only when it was the one that set it).
  const client = await tx.query<{ fecha_ultimo_pago: string | null }>(
    `UPDATE clients c
        SET fecha_ultimo_pago = (SELECT GREATEST(v.fecha_anterior,
                                                 (SELECT max(o.fecha) FROM payments o
                                                   WHERE o.client_id = c.id AND o.anulado_en IS NULL))
                                   FROM payments v WHERE v.id = $2),
            updated_at = now()
      WHERE c.id = $1 AND c.fecha_ultimo_pago IS NOT DISTINCT FROM $3::date
        AND NOT EXISTS (SELECT 1 FROM payments o WHERE o.client_id = c.id AND o.anulado_en IS NULL
                          AND o.fecha >= $3::date)
      RETURNING fecha_ultimo_pago`,
    [p.clientId, p.paymentId, row.fecha],
  );
  const last =
    client.rows[0]?.fecha_ultimo_pago ??
    (
      await tx.query<{ f: string | null }>('SELECT fecha_ultimo_pago AS f FROM clients WHERE id = $1', [
        p.clientId,
      ])
    ).rows[0]?.f ??
    null;
  return { payment: toPayment(rows[0]!), lastPayment: last };
}

export async function listPayments(db: Queryable, clientId: number): Promise<Payment[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT ${columns} FROM payments WHERE client_id = $1 ORDER BY fecha DESC, id DESC`,
    [clientId],
  );
  return rows.map(toPayment);
}
