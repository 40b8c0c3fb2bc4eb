import type { Db, Queryable } from '../db/index.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * The outbox's queue operations, one statement each (graphile-worker style).
 *
 * Life of a row: `pendiente` → claimed (locked_by = worker, locked_until = lease) → attempt begun
 * (re-checked, attempt counted, lease renewed) → sent (`enviado`, message_id, sent_at) | retry
 * (back to `pendiente` with a later proximo_intento) | failed (`fallido`, motivo) | cancelled.
 * A lease that expires puts the row back in the queue: a dead worker's rows return on their own.
 * A row whose lease passed to another worker is never sent by the first one: beginning an attempt
 * checks `locked_by`.
 */

export interface ClaimedRow {
  id: number;
  client_id: number | null;
  tipo: NotificationType;
  urgente: boolean;
}

export interface ClaimOptions {
  worker: string;
  now: Date;
  leaseMs: number;
  limit: number;
  /** Inside the send window every due row may go; outside, only urgent ones and welcomes. */
  inWindow: boolean;
  /** At most this many rows of one client per claim (per-chat pacing keeps them apart). */
  perClient: number;
}

/**
 * Claims up to `limit` due rows. Claims are serialized across instances by a transaction-scoped
 * advisory lock, which makes the per-client exclusion exact; `FOR UPDATE SKIP LOCKED` passes over
 * rows another transaction (a payment, a cancel) holds at that moment.
 */
export async function claimDue(db: Db, o: ClaimOptions): Promise<ClaimedRow[]> {
  const windowFilter = o.inWindow ? '' : `AND (n.urgente OR n.tipo = 'bienvenida')`;
  const order = o.inWindow ? 'n.urgente DESC, n.proximo_intento, n.id' : 'n.proximo_intento, n.id';
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec:claim:' || current_schema()))`);
    const { rows } = await tx.query<ClaimedRow>(
      `WITH cand AS (
         SELECT n.id, n.client_id, n.urgente, n.proximo_intento
           FROM notifications n
          WHERE n.estado = 'pendiente' AND n.proximo_intento <= $1
            AND (n.locked_until IS NULL OR n.locked_until < $1) ${windowFilter}
          ORDER BY ${order}
          LIMIT $4
       ), ranked AS (
         SELECT id, client_id, urgente, proximo_intento,
                row_number() OVER (PARTITION BY client_id ORDER BY urgente DESC, proximo_intento, id) AS rn
           FROM cand
       ), pick AS (
         SELECT r.id FROM ranked r
          WHERE (r.client_id IS NULL OR r.rn <= $5)
            AND (r.client_id IS NULL OR NOT EXISTS (
                   SELECT 1 FROM notifications m
                    WHERE m.client_id = r.client_id AND m.estado = 'pendiente' AND m.locked_until >= $1))
          -- First row of each client before anybody's second: many chats in a batch keep the
          -- per-chat limit from throttling the whole sender.
          ORDER BY r.urgente DESC, r.rn, r.proximo_intento, r.id
          LIMIT $3
       ), locked AS (
         SELECT n.id FROM notifications n
          WHERE n.id IN (SELECT id FROM pick) AND n.estado = 'pendiente'
            AND (n.locked_until IS NULL OR n.locked_until < $1)
          FOR UPDATE OF n SKIP LOCKED
       )
       UPDATE notifications n
          SET locked_by = $2, locked_until = $1::timestamptz + $6 * interval '1 millisecond'
         FROM locked WHERE n.id = locked.id
       RETURNING n.id, n.client_id, n.tipo, n.urgente`,
      [o.now, o.worker, o.limit, Math.min(Math.max(o.limit * 20, 200), 10_000), o.perClient, o.leaseMs],
    );
    // The UPDATE returns rows in no particular order: keep the claim order.
    return rows.sort((a, b) => Number(b.urgente) - Number(a.urgente) || a.id - b.id);
  });
}

/** A row ready to send, as re-checked at the start of its attempt. */
export interface AttemptRow {
  id: number;
  estado: 'pendiente' | 'fallido' | 'cancelado';
  motivo: string | null;
  intentos: number;
  primer_intento: Date | null;
  tipo: NotificationType;
  urgente: boolean;
  mensaje: string | null;
  datos: Record<string, unknown>;
  ciclo: string | null;
  client_id: number | null;
  campaign_id: number | null;
  chat_id: number | null;
  nombre: string | null;
  plan_id: number | null;
  plan: string | null;
  precio: number | null;
  velocidad: number | null;
  vencimiento: string | null;
  campana_mensaje: string | null;
  campana_plantilla: string | null;
}

/** Reasons a row is not sent that mean "it was never deliverable" (fallido) rather than "no longer true". */
export const UNDELIVERABLE = ['sin_telegram', 'blocked', 'deactivated', 'chat_not_found'] as const;

export interface AttemptOptions {
  worker: string;
  now: Date;
  leaseMs: number;
  today: string;
  settings: EngineSettings;
}

/**
 * Begins one attempt: re-checks that the row is still ours and pending and that it is still true
 * (payment notices: same cycle, still the current step, client eligible; campaigns: not
 * cancelled; preferences; reachability). If it is, counts the attempt and renews the lease so the
 * send cannot outlive it; if not, closes the row as cancelled or failed with the reason.
 * Returns undefined when the row is no longer ours (cancelled, or reclaimed after our lease).
 */
export async function beginAttempt(
  db: Queryable,
  a: AttemptOptions & {
    id: number;
    /** false when retrying a send Telegram refused with 429: that is not the row's attempt. */
    countAttempt: boolean;
  },
): Promise<AttemptRow | undefined> {
  return (await beginAttempts(db, [{ id: a.id, countAttempt: a.countAttempt }], a))[0];
}

/**
 * `beginAttempt` for many rows in one statement (the dispatcher gathers the rows about to be sent
 * while the previous statement runs: group commit). Returns the rows that are still ours, in no
 * particular order; a row missing from the answer is no longer ours.
 */
export async function beginAttempts(
  db: Queryable,
  rows: readonly { id: number; countAttempt: boolean }[],
  a: AttemptOptions,
): Promise<AttemptRow[]> {
  if (rows.length === 0) return [];
  // The statement lives in teltec_begin_attempts (migrations/004): a PL/pgSQL function keeps its
  // plan for the session, and planning it cost more than running it.
  const { rows: out } = await db.query<AttemptRow>(
    `SELECT * FROM teltec_begin_attempts($1::bigint[], $2::boolean[], $3::text, $4::timestamptz,
                                         $5::float8, $6::date, $7::int, $8::int, $9::int, $10::boolean)`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.countAttempt),
      a.worker,
      a.now,
      a.leaseMs,
      a.today,
      a.settings.cycleDays,
      a.settings.overdueRepeatDays,
      a.settings.overdueMaxNotices,
      a.settings.notifySuspended,
    ],
  );
  return out;
}

/** The end of an attempt (or of a claim that was never attempted). */
export type Completion =
  | { kind: 'sent'; id: number; at: Date; messageId: number; chatId: number; text: string }
  | { kind: 'retry'; id: number; at: Date; nextAt: Date; error: string }
  | { kind: 'fail'; id: number; at: Date; motivo: string; error: string | null }
  /** Back to the queue as it was; `uncount` undoes the attempt counted by beginAttempt. */
  | { kind: 'release'; id: number; at: Date; nextAt: Date | null; uncount: boolean };

/**
 * Records many completions in one statement (group commit). A sent row is recorded whatever
 * happened meanwhile (it was sent: that is the truth); every other outcome only applies while the
 * row is still this worker's and pending.
 */
export async function completeMany(db: Queryable, worker: string, items: readonly Completion[]) {
  if (items.length === 0) return;
  const col = <T>(f: (c: Completion) => T | null) => items.map(f);
  await db.query(
    `UPDATE notifications n SET
         estado = CASE v.kind WHEN 'sent' THEN 'enviado' WHEN 'fail' THEN 'fallido' ELSE n.estado END,
         telegram_message_id = CASE WHEN v.kind = 'sent' THEN v.message_id ELSE n.telegram_message_id END,
         sent_at = CASE WHEN v.kind = 'sent' THEN v.at ELSE n.sent_at END,
         mensaje = CASE WHEN v.kind = 'sent' THEN v.texto ELSE n.mensaje END,
         chat_id = COALESCE(v.chat_id, n.chat_id),
         motivo = CASE v.kind WHEN 'fail' THEN v.motivo WHEN 'sent' THEN NULL ELSE n.motivo END,
         ultimo_error = CASE WHEN v.kind IN ('fail', 'retry') THEN v.error ELSE n.ultimo_error END,
         proximo_intento = CASE WHEN v.kind IN ('retry', 'release') THEN COALESCE(v.next_at, n.proximo_intento)
                                ELSE n.proximo_intento END,
         intentos = CASE WHEN v.kind = 'release' AND v.uncount THEN GREATEST(n.intentos - 1, 0) ELSE n.intentos END,
         locked_by = NULL, locked_until = NULL, updated_at = v.at
       FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::bigint[],
                   $7::text[], $8::text[], $9::timestamptz[], $10::boolean[])
            AS v(id, kind, message_id, at, texto, chat_id, motivo, error, next_at, uncount)
      WHERE n.id = v.id AND (v.kind = 'sent' OR (n.locked_by = $11 AND n.estado = 'pendiente'))`,
    [
      col((c) => c.id),
      col((c) => c.kind),
      col((c) => (c.kind === 'sent' ? c.messageId : null)),
      col((c) => c.at),
      col((c) => (c.kind === 'sent' ? c.text : null)),
      col((c) => (c.kind === 'sent' ? c.chatId : null)),
      col((c) => (c.kind === 'fail' ? c.motivo : null)),
      col((c) => (c.kind === 'fail' || c.kind === 'retry' ? c.error : null)),
      col((c) => (c.kind === 'retry' || c.kind === 'release' ? c.nextAt : null)),
      col((c) => (c.kind === 'release' ? c.uncount : false)),
      worker,
    ],
  );
}

/** Telegram said this chat is closed: later notices to this client are skipped, not attempted. */
export async function markClientUnreachable(db: Queryable, clientId: number, reason: string, now: Date) {
  await db.query(
    `UPDATE clients SET telegram_unreachable = $2, telegram_blocked = telegram_blocked OR $2 = 'blocked',
            updated_at = $3 WHERE id = $1`,
    [clientId, reason, now],
  );
}

/**
 * Rows left claimed by a process that is gone. Only for the embedded database, where one process
 * owns the data (the data-dir lock proves the previous owner is dead); on PostgreSQL leases expire.
 */
export async function releaseOrphanedClaims(db: Queryable): Promise<number> {
  const res = await db.query(
    `UPDATE notifications SET locked_by = NULL, locked_until = NULL
      WHERE estado = 'pendiente' AND locked_by IS NOT NULL`,
  );
  return res.rowCount;
}

/**
 * Reserves `n` send slots from the global pacer shared by all instances; returns the first slot
 * (epoch ms). Slots are `intervalMs` apart. A pacer pushed absurdly far ahead (a clock that jumped)
 * is pulled back to at most a minute from now.
 */
export async function reserveSendSlots(
  db: Queryable,
  n: number,
  intervalMs: number,
  nowMs: number,
): Promise<number> {
  const { rows } = await db.query<{ start_ms: number }>(
    `UPDATE dispatch_pacer
        SET next_slot_ms = GREATEST(LEAST(next_slot_ms, $1::float8 + 60000), $1::float8) + $2::float8 * $3::float8
      WHERE id = 1
     RETURNING next_slot_ms - $2::float8 * $3::float8 AS start_ms`,
    [nowMs, n, intervalMs],
  );
  return rows[0]?.start_ms ?? nowMs;
}

/** Pushes every instance's next send to `untilMs` at the earliest (after a 429). */
export async function pauseSendSlots(db: Queryable, untilMs: number): Promise<void> {
  await db.query('UPDATE dispatch_pacer SET next_slot_ms = GREATEST(next_slot_ms, $1::float8) WHERE id = 1', [
    untilMs,
  ]);
}
