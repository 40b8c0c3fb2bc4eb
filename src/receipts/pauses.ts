import type { Queryable } from '../db/index.js';

/**
 * Notice pauses: the ONE pause concept (issue 13). A receipt under review or a promise to pay
 * opens a pause for a client's cycle until a date; generation and the send-time re-check both ask
 * `teltec_notice_pause` (migration 015), so a paused cycle gets no payment notice. A pause ends
 * early (`ended_at`) when the receipt is reviewed or the cycle is paid.
 */

export type PauseReason = 'comprobante' | 'promesa';

export async function openPause(
  tx: Queryable,
  p: {
    clientId: number;
    motivo: PauseReason;
    hasta: string;
    ciclo: string | null;
    receiptId?: number;
    promiseId?: number;
  },
  now: Date,
): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO notice_pauses (client_id, motivo, hasta, ciclo, receipt_id, promise_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [p.clientId, p.motivo, p.hasta, p.ciclo, p.receiptId ?? null, p.promiseId ?? null, now],
  );
  return rows[0]!.id;
}

/** Ends the open pauses that match (a reviewed receipt, a settled promise, every pause of a client). */
export async function endPauses(
  tx: Queryable,
  target: { receiptId: number } | { promiseIds: number[] } | { clientId: number; motivo?: PauseReason },
  now: Date,
): Promise<number> {
  if ('receiptId' in target) {
    return (
      await tx.query('UPDATE notice_pauses SET ended_at = $2 WHERE receipt_id = $1 AND ended_at IS NULL', [
        target.receiptId,
        now,
      ])
    ).rowCount;
  }
  if ('promiseIds' in target) {
    if (target.promiseIds.length === 0) return 0;
    return (
      await tx.query(
        'UPDATE notice_pauses SET ended_at = $2 WHERE promise_id = ANY($1::int[]) AND ended_at IS NULL',
        [target.promiseIds, now],
      )
    ).rowCount;
  }
  return (
    await tx.query(
      `UPDATE notice_pauses SET ended_at = $2
        WHERE client_id = $1 AND ended_at IS NULL AND ($3::text IS NULL OR motivo = $3)`,
      [target.clientId, now, target.motivo ?? null],
    )
  ).rowCount;
}

/** Why the client's notices for `ciclo` pause on `today` (the SQL rule), or null. */
export async function currentPause(
  q: Queryable,
  clientId: number,
  ciclo: string | null,
  today: string,
): Promise<PauseReason | null> {
  const { rows } = await q.query<{ m: PauseReason | null }>(
    'SELECT teltec_notice_pause($1, $2::date, $3::date) AS m',
    [clientId, ciclo, today],
  );
  return rows[0]?.m ?? null;
}
