import { queueStaffNotice } from '../alerts/index.js';
import { listPayments, recordPayment } from '../clients/index.js';
import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import {
  applyPaymentToOutbox,
  type EngineSettings,
  enqueue,
  formatDate,
  formatMoney,
} from '../notifications/index.js';
import { addDays } from '../time.js';
import type { ReceiptMime } from './files.js';
import { endPauses, openPause } from './pauses.js';
import { keepPaidPromises } from './promises.js';

/**
 * Receipts ("comprobantes") sent from the chat and their review (issue 13 §2–§3). A receipt
 * pauses the client's payment notices (at most `pauseDays`); approving registers the payment
 * through the normal door (recordPayment + applyPaymentToOutbox: pending notices cancelled,
 * one confirmation queued) exactly once; rejecting tells the client through the outbox and
 * resumes the notices.
 */

export type ReceiptState = 'pendiente' | 'aprobado' | 'rechazado';

export interface ReceiptView {
  id: number;
  cliente_id: number;
  nombre: string;
  cedula: string;
  plan: string | null;
  precio: number | null;
  estado: ReceiptState;
  ciclo: string | null;
  tipo_mime: string;
  tamano: number;
  monto_adeudado: number | null;
  /** What the client owes today (teltec_client_billing). */
  monto_adeudado_hoy: number | null;
  /** The client's due date today: later than `ciclo` when that period was paid in the meantime. */
  vencimiento_hoy: string | null;
  pago_id: number | null;
  monto: number | null;
  fecha_pago: string | null;
  referencia: string | null;
  motivo_rechazo: string | null;
  revisado_por: string | null;
  revisado_en: string | null;
  recibido_en: string;
}

const viewSql = `
  SELECT r.id, r.client_id AS cliente_id, c.nombre, c.cedula, p.nombre AS plan, p.precio::float8 AS precio,
         r.estado, r.ciclo::text AS ciclo, r.tipo_mime, r.tamano, r.monto_adeudado::float8 AS monto_adeudado,
         b.monto_adeudado::float8 AS monto_adeudado_hoy, b.vencimiento::text AS vencimiento_hoy, r.payment_id AS pago_id, r.monto::float8 AS monto,
         r.fecha_pago::text AS fecha_pago, r.referencia, r.motivo_rechazo, r.revisado_por,
         r.revisado_at AS revisado_en, r.created_at AS recibido_en
    FROM payment_receipts r
    JOIN clients c ON c.id = r.client_id
    LEFT JOIN plans p ON p.id = c.plan_id
    LEFT JOIN teltec_client_billing($1::date, $2, $3) b ON b.client_id = r.client_id`;

type Raw = Omit<ReceiptView, 'revisado_en' | 'recibido_en'> & { revisado_en: Date | null; recibido_en: Date };
const toView = (r: Raw): ReceiptView => ({
  ...r,
  revisado_en: r.revisado_en ? new Date(r.revisado_en).toISOString() : null,
  recibido_en: new Date(r.recibido_en).toISOString(),
});

export interface ReviewContext {
  settings: EngineSettings;
  today: string;
  now: Date;
}

const billingParams = (c: ReviewContext) => [c.today, c.settings.cycleDays, c.settings.reminderDaysBefore];

export async function listReceipts(
  q: Queryable,
  c: ReviewContext,
  f: { estado?: ReceiptState; clienteId?: number; limit?: number } = {},
): Promise<ReceiptView[]> {
  const { rows } = await q.query<Raw>(
    `${viewSql} WHERE ($4::text IS NULL OR r.estado = $4) AND ($6::int IS NULL OR r.client_id = $6)
      ORDER BY (r.estado = 'pendiente') DESC, r.created_at ${f.estado === 'pendiente' ? 'ASC' : 'DESC'}, r.id
      LIMIT $5`,
    [...billingParams(c), f.estado ?? null, f.limit ?? 200, f.clienteId ?? null],
  );
  return rows.map(toView);
}

/** A client's open pauses on `today` (what the client page shows). */
export async function openPauses(
  q: Queryable,
  clientId: number,
  today: string,
): Promise<{ motivo: 'comprobante' | 'promesa'; hasta: string; ciclo: string | null }[]> {
  const { rows } = await q.query<{ motivo: 'comprobante' | 'promesa'; hasta: string; ciclo: string | null }>(
    `SELECT motivo, hasta::text AS hasta, ciclo::text AS ciclo FROM notice_pauses
      WHERE client_id = $1 AND ended_at IS NULL AND hasta >= $2::date ORDER BY hasta`,
    [clientId, today],
  );
  return rows;
}

export async function countPendingReceipts(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM payment_receipts WHERE estado = 'pendiente'`,
  );
  return rows[0]?.n ?? 0;
}

export async function getReceipt(q: Queryable, id: number, c: ReviewContext): Promise<ReceiptView> {
  const { rows } = await q.query<Raw>(`${viewSql} WHERE r.id = $4`, [...billingParams(c), id]);
  if (!rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el comprobante ${id}.`);
  return toView(rows[0]);
}

/** The receipt with the client's history: payments, other receipts, promises. */
export async function getReceiptDetail(q: Queryable, id: number, c: ReviewContext) {
  const receipt = await getReceipt(q, id, c);
  const [pagos, otros, promesas] = await Promise.all([
    listPayments(q, receipt.cliente_id),
    q.query<Raw>(`${viewSql} WHERE r.client_id = $4 AND r.id <> $5 ORDER BY r.created_at DESC LIMIT 20`, [
      ...billingParams(c),
      receipt.cliente_id,
      id,
    ]),
    q.query<{ ciclo: string; fecha_prometida: string; estado: string }>(
      `SELECT ciclo::text, fecha_prometida::text, estado FROM payment_promises
        WHERE client_id = $1 ORDER BY ciclo DESC LIMIT 12`,
      [receipt.cliente_id],
    ),
  ]);
  return {
    comprobante: receipt,
    sugerido: {
      monto: receipt.monto ?? receipt.monto_adeudado_hoy ?? receipt.monto_adeudado ?? receipt.precio,
      fecha: receipt.fecha_pago ?? c.today,
      referencia: receipt.referencia,
    },
    pagos: pagos.slice(0, 20),
    otros_comprobantes: otros.rows.map(toView),
    promesas: promesas.rows,
  };
}

export type NewReceiptResult =
  | { ok: true; id: number }
  | { ok: false; reason: 'repetido'; id: number; estado: ReceiptState; recibido: Date };

/**
 * Records a receipt the client sent (file already stored), pauses the cycle's payment notices
 * for at most `pauseDays` and tells the staff chats. A resend of the same file (sha256) is
 * recognised and changes nothing.
 */
export async function recordReceipt(
  tx: Queryable,
  r: {
    clientId: number;
    chatId: number | null;
    mime: ReceiptMime;
    size: number;
    sha256: string;
    archivo: string;
    pauseDays: number;
  },
  c: ReviewContext,
): Promise<NewReceiptResult> {
  const { rows } = await tx.query<{ id: number; ciclo: string | null; nombre: string; monto: number | null }>(
    `INSERT INTO payment_receipts (client_id, chat_id, ciclo, tipo_mime, tamano, sha256, archivo, monto_adeudado, created_at)
     SELECT c.id, $4, b.vencimiento, $5, $6, $7, $8, b.monto_adeudado, $9
       FROM clients c JOIN teltec_client_billing($1::date, $2, $3) b ON b.client_id = c.id
      WHERE c.id = $10
     ON CONFLICT (client_id, sha256) DO NOTHING
     RETURNING id, ciclo::text, (SELECT nombre FROM clients WHERE id = $10) AS nombre, monto_adeudado::float8 AS monto`,
    [...billingParams(c), r.chatId, r.mime, r.size, r.sha256, r.archivo, c.now, r.clientId],
  );
  const created = rows[0];
  if (!created) {
    const prev = await tx.query<{ id: number; estado: ReceiptState; created_at: Date }>(
      'SELECT id, estado, created_at FROM payment_receipts WHERE client_id = $1 AND sha256 = $2',
      [r.clientId, r.sha256],
    );
    const p = prev.rows[0];
    if (!p) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${r.clientId}.`);
    return { ok: false, reason: 'repetido', id: p.id, estado: p.estado, recibido: new Date(p.created_at) };
  }
  await openPause(
    tx,
    {
      clientId: r.clientId,
      motivo: 'comprobante',
      hasta: addDays(c.today, r.pauseDays),
      ciclo: created.ciclo,
      receiptId: created.id,
    },
    c.now,
  );
  await queueStaffNotice(
    tx,
    `🧾 Comprobante de pago recibido de ${created.nombre}` +
      (created.monto !== null ? ` (debe ${formatMoney(created.monto)})` : '') +
      `. Revíselo en Comprobantes (n.º ${created.id}).`,
    c.now,
  );
  return { ok: true, id: created.id };
}

async function lockReceipt(tx: Queryable, id: number) {
  const { rows } = await tx.query<{
    id: number;
    client_id: number;
    estado: ReceiptState;
    payment_id: number | null;
  }>('SELECT id, client_id, estado, payment_id FROM payment_receipts WHERE id = $1 FOR UPDATE', [id]);
  if (!rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el comprobante ${id}.`);
  return rows[0];
}

export interface ApproveInput {
  monto?: number;
  fecha?: string;
  referencia?: string | null;
  confirmar_referencia?: boolean;
  confirmar_monto?: boolean;
}

/**
 * Approves a receipt: the payment goes through the normal door in the caller's transaction.
 * Approving an approved receipt adds nothing (`nuevo: false`). A bank reference already on an
 * active payment is refused with REFERENCIA_DUPLICADA unless `confirmar_referencia`.
 */
export async function approveReceipt(
  tx: Queryable,
  id: number,
  input: ApproveInput,
  actor: string | undefined,
  c: ReviewContext,
): Promise<{ nuevo: boolean; pago_id: number | null; canceladas: number; confirmacion: boolean }> {
  const r = await lockReceipt(tx, id);
  if (r.estado === 'aprobado')
    return { nuevo: false, pago_id: r.payment_id, canceladas: 0, confirmacion: false };
  if (r.estado === 'rechazado') {
    throw new AppError('COMPROBANTE_YA_REVISADO', `El comprobante ${id} ya fue rechazado.`);
  }
  const referencia = input.referencia?.trim() || null;
  if (referencia && !input.confirmar_referencia) {
    const dup = await tx.query<{ id: number; client_id: number; fecha: string }>(
      `SELECT id, client_id, fecha::text FROM payments
        WHERE lower(referencia) = lower($1) AND anulado_en IS NULL ORDER BY id LIMIT 1`,
      [referencia],
    );
    const d = dup.rows[0];
    if (d) {
      throw new AppError(
        'REFERENCIA_DUPLICADA',
        `La referencia «${referencia}» ya está en el pago ${d.id} (cliente ${d.client_id}, ${formatDate(d.fecha)}). ` +
          'Revise; si es correcto, apruebe con "confirmar_referencia": true.',
        { pago_id: d.id, cliente_id: d.client_id },
      );
    }
  }
  const owedNow = async (q: Queryable) =>
    (
      await q.query<{ m: number | null }>(
        'SELECT monto_adeudado::float8 AS m FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4',
        [...billingParams(c), r.client_id],
      )
    ).rows[0]?.m ?? null;
  const monto = input.monto ?? (await owedNow(tx));
  if (monto === null || !(monto > 0)) {
    throw new AppError('VALIDACION', 'Indique el monto del pago (el cliente no tiene un monto adeudado).', [
      { campo: 'monto', mensaje: 'requerido' },
    ]);
  }
  const fecha = input.fecha ?? c.today;
  const { payment } = await recordPayment(tx, {
    clientId: r.client_id,
    monto,
    fecha,
    today: c.today,
    referencia,
    actor,
    owed: owedNow,
    confirmed: input.confirmar_monto === true,
    formatMoney,
  });
  const effect = await applyPaymentToOutbox(
    tx,
    { clientId: r.client_id, paymentId: payment.id, monto, fecha },
    c.settings,
    c.now,
  );
  await tx.query(
    `UPDATE payment_receipts SET estado = 'aprobado', payment_id = $2, monto = $3, fecha_pago = $4, referencia = $5,
            revisado_por = $6, revisado_at = $7
      WHERE id = $1`,
    [id, payment.id, monto, fecha, referencia, actor ?? null, c.now],
  );
  await endPauses(tx, { receiptId: id }, c.now);
  await keepPaidPromises(tx, c.settings.cycleDays, c.now, r.client_id);
  return {
    nuevo: true,
    pago_id: payment.id,
    canceladas: effect.canceladas,
    confirmacion: effect.confirmacion,
  };
}

/** The message a client gets when a receipt is rejected. */
export function rejectionText(motivo: string): string {
  return (
    `⚠️ No pudimos aprobar el comprobante de pago que nos envió.\nMotivo: ${motivo}\n\n` +
    'Si ya pagó, toque «✅ Ya pagué» en el aviso de pago y envíe el comprobante correcto, o comuníquese con nosotros.'
  );
}

/** Rejects a receipt: the client is told (through the outbox) and the notices resume. */
export async function rejectReceipt(
  tx: Queryable,
  id: number,
  motivo: string,
  actor: string | undefined,
  c: ReviewContext,
): Promise<{ nuevo: boolean; notificacion_id: number | null }> {
  const r = await lockReceipt(tx, id);
  if (r.estado === 'rechazado') return { nuevo: false, notificacion_id: null };
  if (r.estado === 'aprobado') {
    throw new AppError(
      'COMPROBANTE_YA_REVISADO',
      `El comprobante ${id} ya fue aprobado (pago ${r.payment_id}).`,
    );
  }
  await tx.query(
    `UPDATE payment_receipts SET estado = 'rechazado', motivo_rechazo = $2, revisado_por = $3, revisado_at = $4
      WHERE id = $1`,
    [id, motivo, actor ?? null, c.now],
  );
  await endPauses(tx, { receiptId: id }, c.now);
  const [nid] = await enqueue(
    tx,
    [
      {
        client_id: r.client_id,
        tipo: 'manual',
        mensaje: rejectionText(motivo),
        dedupe_key: `comprobante_rechazado:${id}`,
        datos: { comprobante_id: id },
      },
    ],
    c.now,
  );
  return { nuevo: true, notificacion_id: nid ?? null };
}
