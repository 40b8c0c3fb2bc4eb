import { CHANNEL_NAMES, type ChannelName, type ChannelVerdict } from '../channels/types.js';
import { recordConsent } from '../clients/consents.js';
import { type Db, isUniqueViolation, type Queryable } from '../db/index.js';
import { notificationTypes } from '../vocabulary.js';
import { channelOrder } from './channel-policy.js';
import {
  type FallbackRules,
  fallbackRule,
  lostChannels,
  mayFallBack,
  storedFallbackRules,
} from './fallback-policy.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * The outbox: the ONLY code that inserts, cancels or closes `notifications` rows (a test greps the
 * source to keep it so). Queue operations are one statement each (graphile-worker style).
 *
 * Life of a row: `enqueue` → `pendiente` → claimed (locked_by = worker, locked_until = lease) →
 * attempt begun (re-checked, attempt counted, lease renewed) → sent (`enviado`, message_id,
 * sent_at) | retry (back to `pendiente` with a later proximo_intento) | failed (`fallido`, motivo)
 * | cancelled (`cancel`). A lease that expires puts the row back in the queue: a dead worker's
 * rows return on their own. A row whose lease passed to another worker is never sent by the first
 * one: beginning an attempt checks `locked_by`.
 *
 * Waking: every enqueue that creates rows sends `NOTIFY teltec_outbox` (payload: the schema) in
 * the caller's transaction, so PostgreSQL delivers it on commit — never before the rows are
 * visible — to every dispatcher LISTENing on the database, in this process or another.
 * Every row takes its times from the caller's (injected) clock: no `now()` defaults.
 */

/** The channel the outbox notifies on after queuing rows (payload: `current_schema()`). */
export const OUTBOX_CHANNEL = 'teltec_outbox';

const NOTIFY_QUEUED = `SELECT pg_notify('${OUTBOX_CHANNEL}', current_schema())`;

async function notifyQueued(tx: Queryable): Promise<void> {
  await tx.query(NOTIFY_QUEUED);
}

/** One notice to queue. `mensaje` NULL = rendered from the type's (or campaign's) template when sent. */
export interface NewNotice {
  client_id: number | null;
  tipo: NotificationType;
  mensaje?: string | null;
  urgente?: boolean;
  /** Makes the notice exist once: a second enqueue with the same key creates nothing. */
  dedupe_key?: string | null;
  datos?: Record<string, unknown>;
  ciclo?: string | null;
  paso?: number | null;
  campaign_id?: number | null;
  chat_id?: number | null;
  /** Not before this time (default: `now`). */
  proximo_intento?: Date;
}

/**
 * Queues notices (in the caller's transaction) and wakes the dispatchers once it commits.
 * Returns the ids created, in input order; a notice whose dedupe key exists is skipped.
 */
export async function enqueue(tx: Queryable, rows: readonly NewNotice[], now: Date): Promise<number[]> {
  if (rows.length === 0) return [];
  const col = <T>(f: (r: NewNotice) => T) => rows.map(f);
  const { rows: out } = await tx.query<{ id: number }>(
    `WITH ins AS (
       INSERT INTO notifications (client_id, tipo, mensaje, urgente, dedupe_key, datos, ciclo, paso, campaign_id,
                                  chat_id, proximo_intento, created_at, updated_at)
       SELECT v.client_id, v.tipo, v.mensaje, v.urgente, v.dedupe_key, v.datos, v.ciclo, v.paso, v.campaign_id,
              v.chat_id, COALESCE(v.proximo_intento, $12), $12, $12
         FROM unnest($1::int[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::jsonb[], $7::date[],
                     $8::smallint[], $9::int[], $10::bigint[], $11::timestamptz[])
              WITH ORDINALITY AS v(client_id, tipo, mensaje, urgente, dedupe_key, datos, ciclo, paso, campaign_id,
                                   chat_id, proximo_intento, ord)
        ORDER BY v.ord
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, client_id, campaign_id
     ), ${CHECK_REFS_CTE}
     SELECT ins.id FROM refs, ins`,
    [
      col((r) => r.client_id),
      col((r) => r.tipo),
      col((r) => r.mensaje ?? null),
      // A welcome answers what the client just did: urgent, so the send window never holds it.
      col((r) => r.urgente === true || r.tipo === 'bienvenida'),
      col((r) => r.dedupe_key ?? null),
      col((r) => JSON.stringify(r.datos ?? {})),
      col((r) => r.ciclo ?? null),
      col((r) => r.paso ?? null),
      col((r) => r.campaign_id ?? null),
      col((r) => r.chat_id ?? null),
      col((r) => r.proximo_intento ?? null),
      now,
    ],
  );
  if (out.length) await notifyQueued(tx);
  return out.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/**
 * The references of the rows a statement created (CTE `ins`, with client_id and campaign_id),
 * checked in the same statement: a client or campaign that does not exist fails it with
 * foreign_key_violation under the foreign keys' names (migration 031). A CTE with a volatile
 * function is computed once; the statement reads it beside each of its result rows.
 */
const CHECK_REFS_CTE = `refs AS (
       SELECT teltec_check_notice_refs(array_agg(DISTINCT ins.client_id), array_agg(DISTINCT ins.campaign_id)) AS ok
         FROM ins)`;

/** Columns a set-based enqueue may fill (times always come from `now`). */
export type NoticeColumn =
  | 'client_id'
  | 'tipo'
  | 'mensaje'
  | 'urgente'
  | 'dedupe_key'
  | 'datos'
  | 'ciclo'
  | 'paso'
  | 'campaign_id'
  /**
   * The row's dedupe key is the generator's, `tipo:client_id:…` (migration 033): while pending and
   * unclaimed it is found by that key, not by the client index. Generation's alone.
   */
  | 'clave_generada';

/**
 * Set-based enqueue: `INSERT INTO notifications … SELECT … FROM (source) ON CONFLICT (dedupe_key)
 * DO NOTHING` in one statement, then the wake-up. `source` is a SELECT with the named `columns`
 * (and anything else it likes); rows where `where` (over alias `s`) holds are queued. `compose`
 * gives columns as SQL over `s` instead, computed only for the rows queued (a source that the
 * report reads too is stored once for both: the less it carries, the less is stored).
 * With `skipExisting` (the source carries `dedupe_key`, or `compose` gives it), a row whose key
 * exists is left out before anything is composed or inserted (one probe of the dedupe index,
 * cheaper than the conflict it spares): a re-run that creates nothing costs little more than
 * reading its source. A row the caller knows to be new (`cannotExist`) is not looked up (OR
 * evaluates left to right). ON CONFLICT stays for a row another transaction inserts meanwhile. The
 * planner prices a probe per row high: run such a statement with JIT off (see
 * `generatePaymentNotices`).
 * The clients and campaigns of the created rows are checked in the statement (`CHECK_REFS_CTE`)
 * unless `referencesFromSource`: every client_id (and campaign_id) the source gives comes from the
 * row of clients (campaigns) the statement itself read, which a delete cannot take away before
 * this transaction ends (a delete locks the outbox first, migration 025) or takes with its notices.
 * With `serialized` as well, the caller holds a lock that lets one such statement run at a time
 * (generation's): the keys it inserts were free in its snapshot, so it inserts without ON
 * CONFLICT, whose speculative insertion (a token per row, confirmed by a second write) was a fifth
 * of a first generation's insert. The unique index still refuses a duplicate: a key written
 * meanwhile outside the lock fails the statement, which then runs again, rolled back to a
 * savepoint in the same transaction, with ON CONFLICT DO NOTHING.
 * `report` (optional) continues the statement: it may read the CTEs `src` (the source, with a
 * boolean column `creada`: this row's notice was created by this statement) and `ins` (the created
 * rows: id, client_id, campaign_id, tipo, ciclo, paso) and must end with the SELECT
 * whose rows are returned (one or more, unless `referencesFromSource`: the check reads the report's
 * rows); by default one row `{ creadas }`. With
 * `replaceOlderSteps`, pending payment notices of the same client and cycle older than a created
 * overdue step are cancelled ('reemplazada') in the same statement (CTE `replaced`, counted in
 * `reemplazadas`).
 */
export async function enqueueFrom<R = { creadas: number }>(
  tx: Queryable,
  q: {
    source: string;
    params: unknown[];
    columns: readonly NoticeColumn[];
    /** Columns given as SQL over alias `s` (composed only for the rows queued). */
    compose?: Partial<Record<NoticeColumn, string>>;
    where?: string;
    /**
     * Leave out rows whose `dedupe_key` exists before composing them (see above); with
     * `{ cannotExist }`, the rows for which that SQL (over `s`) holds are not looked up.
     */
    skipExisting?: boolean | { cannotExist: string };
    /** With `skipExisting`: the caller's lock makes this the only such statement running (see above). */
    serialized?: boolean;
    /** The source read every client (and campaign) it refers to: no check (see above). */
    referencesFromSource?: boolean;
    /** The creation time, or the number of the parameter in `params` that holds it. */
    now: Date | { param: number };
    report?: string;
    replaceOlderSteps?: boolean;
    /**
     * Statements without parameters run first, in the same round trip as the savepoint: a
     * caller's lock and settings (a generation at 10,000 clients lasts some 40 ms; each round trip
     * costs 0.2-0.4 ms of it).
     */
    prelude?: string;
    /** A data-modifying CTE the statement runs as well (it may read the parameters). */
    alongside?: string;
  },
): Promise<R[]> {
  const params = q.now instanceof Date ? [...q.params, q.now] : q.params;
  const at = `$${q.now instanceof Date ? params.length : q.now.param}::timestamptz`;
  const composed = Object.entries(q.compose ?? {}) as [NoticeColumn, string][];
  const cols = [...q.columns, ...composed.map(([c]) => c)].join(', ');
  const values = [...q.columns.map((c) => `s.${c}`), ...composed.map(([, sql]) => sql)].join(', ');
  // The key as the source gives it, or as composed (then computed only for the rows looked up).
  const dedupeKey = q.compose?.dedupe_key ? `(${q.compose.dedupe_key})` : 's.dedupe_key';
  const conditions = [
    ...(q.where ? [`(${q.where})`] : []),
    // OFFSET 0 keeps it a probe per row: as a join, the planner may hash the whole outbox for it.
    ...(q.skipExisting
      ? [
          `(${typeof q.skipExisting === 'object' ? `${q.skipExisting.cannotExist} OR ` : ''}NOT EXISTS (
             SELECT 1 FROM notifications e WHERE e.dedupe_key = ${dedupeKey} OFFSET 0))`,
        ]
      : []),
  ];
  // The older steps of the cycles that got a new overdue step: the pending payment notices are read
  // once and each is looked up in one hash of the new rows' (client, cycle, older step), the
  // reminder being step -1 (OVERDUE_MAX_NOTICES ≤ 10: steps 0…9). COALESCE keeps the look-up a
  // hashed sub-plan rather than a join, which a misestimate made a nested loop pairing every
  // pending row with every new one. The statement's snapshot does not see the new rows.
  const replaced = q.replaceOlderSteps
    ? `, replaced AS (
         UPDATE notifications n
            SET estado = 'cancelado', motivo = 'reemplazada', locked_by = NULL, locked_until = NULL, updated_at = ${at}
          WHERE n.estado = 'pendiente' AND n.tipo IN ('recordatorio_pago', 'pago_vencido')
            AND COALESCE((n.client_id, n.ciclo, CASE WHEN n.tipo = 'pago_vencido' THEN n.paso ELSE -1 END) IN (
                  SELECT i.client_id, i.ciclo, older.paso
                    FROM ins i JOIN (VALUES (-1), (0), (1), (2), (3), (4), (5), (6), (7), (8)) AS older(paso)
                      ON older.paso < i.paso
                   WHERE i.tipo = 'pago_vencido'), false)
         RETURNING 1)`
    : '';
  // A report that checks references returns at least one row (the default: one), so the check runs.
  const report = q.report ?? 'SELECT count(*)::int AS creadas FROM ins';
  const where = conditions.length ? conditions.join(' AND ') : 'true';
  const insert = (from: string, filter: string, onConflict: boolean) =>
    `INSERT INTO notifications (${cols}, proximo_intento, created_at, updated_at)
       SELECT ${values}, ${at}, ${at}, ${at}
         FROM ${from} s ${filter ? `WHERE ${filter}` : ''}
       ${onConflict ? 'ON CONFLICT (dedupe_key) DO NOTHING' : ''}
       RETURNING id, client_id, campaign_id, tipo, ciclo, paso${onConflict && q.report ? ', dedupe_key' : ''}`;
  // With a report, the source it reads carries `creada`: this row's notice was created by this
  // statement. Without ON CONFLICT that is the row's condition, evaluated once, where the insert
  // reads it too: the report does not read the created rows back (storing and scanning them again
  // was a tenth of a first generation on PGlite). With ON CONFLICT, a queued row whose key
  // another transaction wrote meanwhile was not created: its key is looked up among those inserted.
  const head = (onConflict: boolean) => {
    if (!q.report)
      return `src AS (${q.source}), ins AS (${insert('src', conditions.length ? where : '', onConflict)})`;
    // OFFSET 0: the condition reads the source's columns as computed, not their expressions
    // copied into it (a pulled-up source computed reachability and pauses twice per row).
    const source = `(SELECT * FROM (${q.source}) s0 OFFSET 0)`;
    if (!onConflict) {
      return `src AS (SELECT s.*, (${where}) AS creada FROM ${source} s),
     ins AS (${insert('src', 's.creada', false)})`;
    }
    return `cand AS (SELECT s.*, (${where}) AS teltec_queued FROM ${source} s),
     ins AS (${insert('cand', 's.teltec_queued', true)}),
     src AS (SELECT s.*, s.teltec_queued AND COALESCE(${dedupeKey} IN (SELECT i.dedupe_key FROM ins i), ${dedupeKey} IS NULL) AS creada
               FROM cand s)`;
  };
  const statement = (onConflict: boolean) =>
    `WITH ${head(onConflict)}${replaced}${q.alongside ? `, alongside AS (${q.alongside})` : ''}${q.referencesFromSource ? '' : `, ${CHECK_REFS_CTE}`}
     ${q.referencesFromSource ? report : `SELECT r.* FROM refs, (${report}) r`}`;
  const run = async (onConflict: boolean) =>
    (await tx.query<R & { creadas?: number }>(statement(onConflict), params)).rows;
  const prelude = q.prelude ? `${q.prelude};\n` : '';
  let rows: (R & { creadas?: number })[];
  let release = false;
  if (q.serialized && q.skipExisting) {
    await tx.exec(`${prelude}SAVEPOINT teltec_enqueue_serialized`);
    try {
      rows = await run(false);
      release = true;
    } catch (err) {
      // A second notice with a key that exists: the outbox's unique dedupe index said no.
      if (!isUniqueViolation(err, 'notifications_dedupe_key_key')) throw err;
      await tx.exec(
        'ROLLBACK TO SAVEPOINT teltec_enqueue_serialized; RELEASE SAVEPOINT teltec_enqueue_serialized',
      );
      rows = await run(true);
    }
  } else {
    if (prelude) await tx.exec(prelude);
    rows = await run(true);
  }
  // Every report counts the created rows as `creadas` (in one or more rows). The savepoint's
  // release and the wake-up go in one round trip.
  const created = rows.reduce((n, r) => n + (typeof r.creadas === 'number' ? r.creadas : 0), 0);
  const after = [
    ...(release ? ['RELEASE SAVEPOINT teltec_enqueue_serialized'] : []),
    ...(created > 0 ? [NOTIFY_QUEUED] : []),
  ];
  if (after.length > 0) await tx.exec(after.join('; '));
  return rows;
}

/** Which pending rows to cancel. */
export type CancelTarget =
  | { id: number }
  | { campaignId: number }
  /**
   * The client's pending payment notices (and pre-suspension notice) of any cycle other than its
   * current one (a payment).
   */
  | { paidClientId: number; cycleDays: number }
  /** The client's pending notices of these types (a change of service state, issue 13 §6). */
  | { clientId: number; tipos: readonly NotificationType[] };

/**
 * Cancels pending rows (state `cancelado`, `motivo` = reason) and releases their claims. A row
 * being sent finishes its attempt: its re-check already passed. Returns how many were cancelled.
 * A client's rows are read through `teltec_client_notice_ids` (migration 033): a generated notice
 * still queued is not in the client index.
 */
export async function cancel(
  tx: Queryable,
  target: CancelTarget,
  reason: string,
  now: Date,
): Promise<number> {
  const set = `SET estado = 'cancelado', motivo = $2, locked_by = NULL, locked_until = NULL, updated_at = $3`;
  if ('id' in target) {
    return (
      await tx.query(`UPDATE notifications ${set} WHERE id = $1 AND estado = 'pendiente'`, [
        target.id,
        reason,
        now,
      ])
    ).rowCount;
  }
  if ('campaignId' in target) {
    return (
      await tx.query(`UPDATE notifications ${set} WHERE campaign_id = $1 AND estado = 'pendiente'`, [
        target.campaignId,
        reason,
        now,
      ])
    ).rowCount;
  }
  if ('clientId' in target) {
    return (
      await tx.query(
        `UPDATE notifications ${set}
          WHERE id = ANY (ARRAY(SELECT teltec_client_notice_ids($1))) AND estado = 'pendiente' AND tipo = ANY($4::text[])`,
        [target.clientId, reason, now, target.tipos],
      )
    ).rowCount;
  }
  return (
    await tx.query(
      `UPDATE notifications n ${set}
         FROM clients c
        WHERE c.id = $1 AND n.id = ANY (ARRAY(SELECT teltec_client_notice_ids($1))) AND n.estado = 'pendiente'
          AND n.tipo IN ('recordatorio_pago', 'pago_vencido', 'aviso_suspension')
          AND n.ciclo IS DISTINCT FROM teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $4)`,
      [target.paidClientId, reason, now, target.cycleDays],
    )
  ).rowCount;
}

/** A failed row goes back to the queue with a fresh attempt budget. False if it was not `fallido`. */
export async function requeueFailed(tx: Queryable, id: number, now: Date): Promise<boolean> {
  const res = await tx.query(
    `UPDATE notifications SET estado = 'pendiente', motivo = NULL, intentos = 0, primer_intento = NULL,
            proximo_intento = $2, locked_by = NULL, locked_until = NULL, updated_at = $2
      WHERE id = $1 AND estado = 'fallido'`,
    [id, now],
  );
  if (res.rowCount > 0) await notifyQueued(tx);
  return res.rowCount > 0;
}

/**
 * Calls `onQueued` whenever rows are queued on this database schema (by this process or any
 * other). Resolves to the function that stops listening. A Db without LISTEN gives a no-op.
 */
export async function listenForQueued(db: Db, onQueued: () => void): Promise<() => Promise<void>> {
  if (!db.listen) return async () => {};
  const { rows } = await db.query<{ s: string }>('SELECT current_schema() AS s');
  const schema = rows[0]?.s;
  return db.listen(OUTBOX_CHANNEL, (payload) => {
    if (payload === schema || payload === '') onQueued();
  });
}

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
  /**
   * Inside the send window every due row may go; outside, only urgent ones (a welcome is queued
   * urgent: it answers what the client just did).
   */
  inWindow: boolean;
  /** At most this many rows of one client per claim (per-chat pacing keeps them apart). */
  perClient: number;
}

/** The claim statement: one UPDATE, which `claimDue` runs under the claim lock (exported for a test of its plan). */
export function claimStatement(o: ClaimOptions): { text: string; values: unknown[] } {
  // Both read notifications_claim_idx in its order: outside the window, its urgent end only.
  const windowFilter = o.inWindow ? '' : 'AND n.urgente';
  return {
    text: `WITH cand AS (
         SELECT n.id, n.client_id, n.urgente, n.proximo_intento
           FROM notifications n
          WHERE n.estado = 'pendiente' AND n.proximo_intento <= $1
            AND (n.locked_until IS NULL OR n.locked_until < $1) ${windowFilter}
          ORDER BY n.urgente DESC, n.proximo_intento, n.id
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
         -- By primary key alone: the picked rows are locked, and their latest version re-checked
         -- below. A state condition here would let the planner reach them through the pending-row
         -- indexes, which a VACUUM (ANALYZE) of an empty queue leaves looking empty: it then
         -- scanned every pending row once per picked row (the claim bench fell to a third).
         SELECT n.id, n.estado, n.locked_until FROM notifications n
          WHERE n.id = ANY (ARRAY(SELECT id FROM pick))
          FOR UPDATE OF n SKIP LOCKED
       )
       UPDATE notifications n
          SET locked_by = $2, locked_until = $1::timestamptz + $6 * interval '1 millisecond'
         FROM locked
        WHERE n.id = locked.id AND locked.estado = 'pendiente'
          AND (locked.locked_until IS NULL OR locked.locked_until < $1)
       RETURNING n.id, n.client_id, n.tipo, n.urgente`,
    values: [o.now, o.worker, o.limit, Math.min(Math.max(o.limit * 20, 200), 10_000), o.perClient, o.leaseMs],
  };
}

/**
 * Claims up to `limit` due rows. Claims are serialized across instances by a transaction-scoped
 * advisory lock, which makes the per-client exclusion exact; `FOR UPDATE SKIP LOCKED` passes over
 * rows another transaction (a payment, a cancel) holds at that moment.
 */
export async function claimDue(db: Db, o: ClaimOptions): Promise<ClaimedRow[]> {
  const { text, values } = claimStatement(o);
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec:claim:' || current_schema()))`);
    const { rows } = await tx.query<ClaimedRow>(text, values);
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
  /** What the client must pay to be up to date (`teltec_amount_owed`: unpaid cycles × plan price). */
  monto_adeudado?: number | null;
  /** false: the client's chat was linked with the cédula alone (compose leaves billing data out). */
  link_verified?: boolean | null;
  /** Per channel: null = usable, else why not (`teltec_channel_reasons`); null without a client. */
  canales?: Partial<Record<ChannelName, string | null>> | null;
  canal_preferido?: ChannelName | null;
  whatsapp?: string | null;
  email?: string | null;
  telefono_norm?: string | null;
  /** The client's WhatsApp service window is open until then. */
  whatsapp_ventana_hasta?: Date | null;
  /** The id reserved for this attempt's row in notification_envios. */
  envio_id?: number | null;
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

/**
 * The attempt's row in `notification_envios`, written with the completion (same statement): one
 * per try on a channel. `proveedorId` for a sent one; `errorCodigo`/`error` for a failed one.
 */
export interface EnvioRecord {
  /** Reserved by the re-check (`envio_id`). */
  id: number;
  canal: ChannelName;
  destino: string | null;
  startedAt: Date;
  proveedorId?: string | null;
  plantilla?: string | null;
  errorCodigo?: string | null;
  error?: string | null;
  /** The channel reports delivery: statuses that overtook this commit may be parked. */
  reportsDelivery?: boolean;
}

/** The end of an attempt (or of a claim that was never attempted). */
export type Completion =
  | {
      kind: 'sent';
      id: number;
      at: Date;
      /** Telegram's message_id (notifications.telegram_message_id); null on other channels. */
      messageId: number | null;
      chatId: number | null;
      text: string;
      envio?: EnvioRecord;
    }
  | { kind: 'retry'; id: number; at: Date; nextAt: Date; error: string; envio?: EnvioRecord }
  | { kind: 'fail'; id: number; at: Date; motivo: string; error: string | null; envio?: EnvioRecord }
  /**
   * Back to the queue as it was; `uncount` undoes the attempt counted by beginAttempt. `error`
   * (optional) says why it waits (a template on hold, the daily tier), in ultimo_error.
   */
  | {
      kind: 'release';
      id: number;
      at: Date;
      nextAt: Date | null;
      uncount: boolean;
      error?: string;
      envio?: EnvioRecord;
    };

/**
 * Records many completions in one statement (group commit), with their attempts' rows. A sent row
 * is recorded whatever happened meanwhile (it was sent: that is the truth); every other outcome
 * only applies while the row is still this worker's and pending. A notice sent on a channel takes
 * that channel (`canal`). Statuses that overtook the commit are applied now; the attempts they
 * closed as failed are returned for the caller to settle.
 */
export async function completeMany(
  db: Queryable,
  worker: string,
  items: readonly Completion[],
): Promise<FailedEnvio[]> {
  if (items.length === 0) return [];
  const col = <T>(f: (c: Completion) => T | null | undefined) => items.map((c) => f(c) ?? null);
  await db.query(
    `WITH v AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::bigint[],
                            $7::text[], $8::text[], $9::timestamptz[], $10::boolean[], $12::bigint[], $13::text[],
                            $14::text[], $15::timestamptz[], $16::text[], $17::text[], $18::text[], $19::text[])
              AS v(id, kind, message_id, at, texto, chat_id, motivo, error, next_at, uncount, envio_id, canal,
                   destino, started_at, proveedor_id, plantilla, error_codigo, envio_error)
     ), env AS (
       INSERT INTO notification_envios (id, notification_id, canal, estado, destino, proveedor_id, plantilla,
                                        error_codigo, error, created_at, enviado_at, fallido_at)
       SELECT v.envio_id, v.id, v.canal, CASE WHEN v.kind = 'sent' THEN 'enviado' ELSE 'fallido' END, v.destino,
              v.proveedor_id, v.plantilla, v.error_codigo, v.envio_error, v.started_at,
              CASE WHEN v.kind = 'sent' THEN v.at END, CASE WHEN v.kind <> 'sent' THEN v.at END
         FROM v WHERE v.envio_id IS NOT NULL
       ON CONFLICT DO NOTHING
       RETURNING 1
     )
     UPDATE notifications n SET
         -- A notice a delivery report closed meanwhile (delivered on a channel it gave up on) stays so.
         estado = CASE WHEN v.kind = 'sent' AND n.estado IN ('entregado', 'leido') THEN n.estado
                       WHEN v.kind = 'sent' THEN 'enviado' WHEN v.kind = 'fail' THEN 'fallido' ELSE n.estado END,
         canal = CASE WHEN v.kind = 'sent' AND v.canal IS NOT NULL THEN v.canal ELSE n.canal END,
         telegram_message_id = CASE WHEN v.kind = 'sent' THEN v.message_id ELSE n.telegram_message_id END,
         sent_at = CASE WHEN v.kind = 'sent' THEN v.at ELSE n.sent_at END,
         mensaje = CASE WHEN v.kind = 'sent' THEN v.texto ELSE n.mensaje END,
         -- A text composed from a template at send time: a requeue (template, fallback) composes again.
         datos = CASE WHEN v.kind = 'sent' AND n.mensaje IS NULL AND NOT n.datos @> '{"mensaje_de_plantilla": true}'
                      THEN n.datos || '{"mensaje_de_plantilla": true}'::jsonb ELSE n.datos END,
         chat_id = COALESCE(v.chat_id, n.chat_id),
         motivo = CASE v.kind WHEN 'fail' THEN v.motivo WHEN 'sent' THEN NULL ELSE n.motivo END,
         ultimo_error = CASE WHEN v.kind IN ('fail', 'retry') OR (v.kind = 'release' AND v.error IS NOT NULL)
                             THEN v.error ELSE n.ultimo_error END,
         proximo_intento = CASE WHEN v.kind IN ('retry', 'release') THEN COALESCE(v.next_at, n.proximo_intento)
                                ELSE n.proximo_intento END,
         intentos = CASE WHEN v.kind = 'release' AND v.uncount THEN GREATEST(n.intentos - 1, 0) ELSE n.intentos END,
         locked_by = NULL, locked_until = NULL, updated_at = v.at
       FROM v
      WHERE n.id = v.id AND (v.kind = 'sent' OR (n.locked_by = $11 AND n.estado = 'pendiente'))`,
    [
      col((c) => c.id),
      col((c) => c.kind),
      col((c) => (c.kind === 'sent' ? c.messageId : null)),
      col((c) => c.at),
      col((c) => (c.kind === 'sent' ? c.text : null)),
      col((c) => (c.kind === 'sent' ? c.chatId : null)),
      col((c) => (c.kind === 'fail' ? c.motivo : null)),
      col((c) => (c.kind === 'fail' || c.kind === 'retry' ? c.error : c.kind === 'release' ? c.error : null)),
      col((c) => (c.kind === 'retry' || c.kind === 'release' ? c.nextAt : null)),
      items.map((c) => (c.kind === 'release' ? c.uncount : false)),
      worker,
      col((c) => c.envio?.id),
      col((c) => c.envio?.canal),
      col((c) => c.envio?.destino),
      col((c) => c.envio?.startedAt),
      col((c) => c.envio?.proveedorId),
      col((c) => c.envio?.plantilla),
      col((c) => c.envio?.errorCodigo),
      col((c) => c.envio?.error?.slice(0, 500)),
    ],
  );
  // A delivery status may have overtaken this commit (webhooks are fast): apply the parked ones.
  // Returns the attempts a parked `failed` status closed: the caller classifies them and settles
  // them (`settleAsyncFailures`), as the webhook would have.
  if (items.some((c) => c.kind === 'sent' && c.envio?.reportsDelivery))
    return (await applyParkedStatuses(db)).failed;
  return [];
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
 * A channel said this client cannot be reached there: later notices take another channel (or are
 * closed when none is left). `until`: the mark expires (WhatsApp: 30 days); none = until cleared.
 */
export async function markClientUnreachableOn(
  db: Queryable,
  canal: ChannelName,
  clientId: number,
  reason: string,
  until: Date | null,
  now: Date,
): Promise<void> {
  // One statement per channel's columns; the column names are this table, not input.
  const sets: Partial<Record<ChannelName, string>> = {
    telegram: `telegram_unreachable = $2, telegram_blocked = telegram_blocked OR $2 = 'blocked'`,
    whatsapp: 'whatsapp_inalcanzable = $2, whatsapp_inalcanzable_hasta = $4::timestamptz',
    sms: 'sms_inalcanzable = $2, sms_inalcanzable_hasta = $4::timestamptz',
    email: 'email_inalcanzable = $2, email_inalcanzable_hasta = $4::timestamptz',
  };
  const set = sets[canal];
  if (!set) return;
  const params: unknown[] = [clientId, reason, now];
  if (set.includes('$4')) params.push(until);
  await db.query(`UPDATE clients SET ${set}, updated_at = $3 WHERE id = $1`, params);
}

/** Clears the WhatsApp unreachable marks that expired (housekeeping). Returns how many. */
export async function clearExpiredUnreachable(db: Queryable, now: Date): Promise<number> {
  return (
    await db.query(
      `UPDATE clients SET whatsapp_inalcanzable = NULL, whatsapp_inalcanzable_hasta = NULL, updated_at = $1
        WHERE whatsapp_inalcanzable IS NOT NULL AND whatsapp_inalcanzable_hasta <= $1`,
      [now],
    )
  ).rowCount;
}

// ------------------------------------------------------------------------------ channel pacing

/**
 * Reserves `n` send slots of `canal` (`channel_pacer`, shared by every instance): returns the
 * first slot (epoch ms). Slots are `intervalMs` apart and never before the channel's pause.
 */
export async function reserveChannelSlots(
  db: Queryable,
  canal: ChannelName,
  n: number,
  intervalMs: number,
  nowMs: number,
): Promise<number> {
  const { rows } = await db.query<{ start_ms: number }>(
    `UPDATE channel_pacer
        SET next_slot_ms = GREATEST(LEAST(next_slot_ms, $2::float8 + 60000), $2::float8, paused_until_ms)
                           + $3::float8 * $4::float8
      WHERE canal = $1
     RETURNING next_slot_ms - $3::float8 * $4::float8 AS start_ms`,
    [canal, nowMs, n, intervalMs],
  );
  return rows[0]?.start_ms ?? nowMs;
}

/** Pauses `canal` for every instance until `untilMs` (a rate-limit storm). */
export async function pauseChannel(db: Queryable, canal: ChannelName, untilMs: number): Promise<void> {
  await db.query(
    'UPDATE channel_pacer SET paused_until_ms = GREATEST(paused_until_ms, $2::float8) WHERE canal = $1',
    [canal, untilMs],
  );
}

/** Until when `canal` is paused (epoch ms; 0 = not paused). */
export async function channelPausedUntil(db: Queryable, canal: ChannelName): Promise<number> {
  const { rows } = await db.query<{ ms: number }>(
    'SELECT paused_until_ms AS ms FROM channel_pacer WHERE canal = $1',
    [canal],
  );
  return Number(rows[0]?.ms ?? 0);
}

export type RecipientTurn =
  /** Send now; the recipient's next turn is reserved. */
  | { ok: true }
  /** Not now: the recipient had a message less than `intervalMs` ago, or the daily tier is full. */
  | { ok: false; nextAt: Date; reason: 'intervalo' | 'limite_diario' };

/**
 * One recipient's turn on a channel, shared by every instance (`channel_recipients`):
 * - pair rate: at most one message per `intervalMs` to one recipient;
 * - daily tier: a send that opens a new 24 h window for a recipient (`opensWindow`: WhatsApp
 *   templates outside the service window) counts as a unique recipient; at most `dailyLimit`
 *   windows open in any 24 h, beyond it the notice waits until the oldest window closes.
 * Serialized per channel by a transaction-scoped advisory lock, so instances never overbook.
 */
export async function reserveRecipientTurn(
  db: Db,
  q: {
    canal: ChannelName;
    destino: string;
    intervalMs: number;
    dailyLimit?: number | undefined;
    opensWindow: boolean;
    now: Date;
  },
): Promise<RecipientTurn> {
  const nowMs = q.now.getTime();
  return db.transaction(async (tx) => {
    await tx.query(
      `SELECT pg_advisory_xact_lock(hashtext('teltec:recipients:' || $1 || ':' || current_schema()))`,
      [q.canal],
    );
    const { rows } = await tx.query<{
      next_ms: number | null;
      ventana_desde: Date | null;
      abiertas: number;
      oldest: Date | null;
    }>(
      `SELECT r.next_ms, r.ventana_desde, t.abiertas, t.oldest
         FROM (SELECT count(*)::int AS abiertas, min(ventana_desde) AS oldest FROM channel_recipients
                WHERE canal = $1 AND ventana_desde > $3::timestamptz - interval '24 hours' AND $4::boolean) t
         LEFT JOIN channel_recipients r ON r.canal = $1 AND r.destino = $2`,
      [q.canal, q.destino, q.now, q.opensWindow && q.dailyLimit !== undefined],
    );
    const cur = rows[0];
    const nextMs = Number(cur?.next_ms ?? 0);
    if (nextMs > nowMs) return { ok: false, nextAt: new Date(nextMs), reason: 'intervalo' };
    const windowOpen = cur?.ventana_desde ? cur.ventana_desde.getTime() > nowMs - 24 * 3600_000 : false;
    const opens = q.opensWindow && !windowOpen;
    if (opens && q.dailyLimit !== undefined && (cur?.abiertas ?? 0) >= q.dailyLimit) {
      const oldest = cur?.oldest ? cur.oldest.getTime() : nowMs;
      return { ok: false, nextAt: new Date(oldest + 24 * 3600_000 + 1000), reason: 'limite_diario' };
    }
    await tx.query(
      `INSERT INTO channel_recipients (canal, destino, next_ms, ventana_desde) VALUES ($1, $2, $3, $4)
       ON CONFLICT (canal, destino) DO UPDATE
         SET next_ms = EXCLUDED.next_ms, ventana_desde = COALESCE(EXCLUDED.ventana_desde, channel_recipients.ventana_desde)`,
      [q.canal, q.destino, nowMs + q.intervalMs, opens ? q.now : null],
    );
    return { ok: true };
  });
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

// ------------------------------------------------------------------------------ delivery statuses

/** A delivery status reported by a channel (WhatsApp status webhook, SMS delivery report). */
export interface DeliveryStatus {
  canal: ChannelName;
  proveedorId: string;
  estado: 'enviado' | 'entregado' | 'leido' | 'fallido';
  /** When the provider says it happened. */
  at: Date;
  errorCodigo?: string | null;
  error?: string | null;
}

/** An attempt a status just moved to `fallido` (the caller classifies it: retry, fail, template…). */
export interface FailedEnvio {
  envioId: number;
  notificationId: number;
  clientId: number | null;
  canal: ChannelName;
  proveedorId: string;
  errorCodigo: string | null;
  error: string | null;
}

export interface DeliveryReport {
  /** Attempts whose state or times changed. */
  applied: number;
  /** Statuses about a message the outbox does not know (parked until it does; see below). */
  unknown: DeliveryStatus[];
  /** Attempts that became `fallido` in this call (a replay reports nothing). */
  failed: FailedEnvio[];
}

/**
 * Applies delivery statuses to attempts and their notices in ONE statement. Idempotent and
 * forward only (`teltec_envio_rank`: pendiente < enviado < fallido < entregado < leido): a replay
 * changes nothing, `entregado` may be skipped, `leido` implies delivered, nothing goes back. A
 * notice follows its best attempt (enviado → entregado → leido; a failed notice that turns out
 * delivered becomes `entregado`). Statuses about an unknown message are returned in `unknown`
 * and, with `park` (default), kept in `delivery_status_parked` until the attempt's provider id is
 * recorded (a webhook can overtake the send's own commit): `applyParkedStatuses` replays them.
 */
export async function applyDeliveryStatuses(
  tx: Queryable,
  statuses: readonly DeliveryStatus[],
  opts: { park?: boolean; now?: Date } = {},
): Promise<DeliveryReport> {
  const report: DeliveryReport = { applied: 0, unknown: [], failed: [] };
  const valid = statuses.filter(
    (s) => s.proveedorId && ['enviado', 'entregado', 'leido', 'fallido'].includes(s.estado),
  );
  if (valid.length === 0) return report;
  const col = <T>(f: (s: DeliveryStatus) => T) => valid.map(f);
  const { rows } = await tx.query<{
    kind: 'applied' | 'unknown' | 'failed';
    ord: number | null;
    envio_id: number | null;
    notification_id: number | null;
    client_id: number | null;
    canal: ChannelName;
    proveedor_id: string;
    error_codigo: string | null;
    error: string | null;
  }>(
    `WITH v AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
              WITH ORDINALITY AS v(canal, proveedor_id, estado, at, error_codigo, error, ord)
     ), best AS (
       -- Per message: the furthest state this batch reports and the earliest time of each state.
       SELECT canal, proveedor_id, max(teltec_envio_rank(estado)) AS rank,
              min(at) FILTER (WHERE estado = 'enviado') AS enviado_at,
              min(at) FILTER (WHERE estado = 'entregado') AS entregado_at,
              min(at) FILTER (WHERE estado = 'leido') AS leido_at,
              min(at) FILTER (WHERE estado = 'fallido') AS fallido_at,
              (array_agg(error_codigo ORDER BY ord) FILTER (WHERE estado = 'fallido'))[1] AS error_codigo,
              (array_agg(error ORDER BY ord) FILTER (WHERE estado = 'fallido'))[1] AS error
         FROM v GROUP BY canal, proveedor_id
     ), upd AS (
       UPDATE notification_envios e SET
           estado = CASE WHEN b.rank > teltec_envio_rank(e.estado)
                         THEN (ARRAY['enviado', 'fallido', 'entregado', 'leido'])[b.rank] ELSE e.estado END,
           enviado_at = COALESCE(e.enviado_at, b.enviado_at, b.entregado_at, b.leido_at),
           entregado_at = COALESCE(e.entregado_at, b.entregado_at, b.leido_at),
           leido_at = COALESCE(e.leido_at, b.leido_at),
           fallido_at = CASE WHEN b.rank = 2 AND teltec_envio_rank(e.estado) < 2 THEN b.fallido_at
                             ELSE e.fallido_at END,
           error_codigo = CASE WHEN b.rank = 2 AND teltec_envio_rank(e.estado) < 2 THEN b.error_codigo
                               ELSE e.error_codigo END,
           error = CASE WHEN b.rank = 2 AND teltec_envio_rank(e.estado) < 2 THEN b.error ELSE e.error END
         FROM best b
        WHERE e.canal = b.canal AND e.proveedor_id = b.proveedor_id
          AND (b.rank > teltec_envio_rank(e.estado)
               OR (e.enviado_at IS NULL AND COALESCE(b.enviado_at, b.entregado_at, b.leido_at) IS NOT NULL)
               OR (e.entregado_at IS NULL AND COALESCE(b.entregado_at, b.leido_at) IS NOT NULL)
               OR (e.leido_at IS NULL AND b.leido_at IS NOT NULL))
       RETURNING e.id, e.notification_id, e.canal, e.proveedor_id, e.estado, e.entregado_at, e.leido_at,
                 e.error_codigo, e.error, (b.rank = 2) AS failed_now
     ), per_notice AS (
       SELECT notification_id, max(teltec_envio_rank(estado)) AS rank, min(entregado_at) AS entregado_at,
              min(leido_at) AS leido_at, array_agg(DISTINCT canal) AS canales
         FROM upd WHERE estado IN ('entregado', 'leido') GROUP BY notification_id
     ), notice AS (
       -- A notice waiting for its next channel (a channel it gave up on: canales_descartados) that
       -- turns out delivered there is closed as delivered, not sent again.
       UPDATE notifications n SET
           estado = CASE WHEN p.rank > teltec_envio_rank(n.estado)
                         THEN (ARRAY['enviado', 'fallido', 'entregado', 'leido'])[p.rank] ELSE n.estado END,
           motivo = CASE WHEN n.estado = 'fallido' THEN NULL ELSE n.motivo END,
           entregado_at = COALESCE(n.entregado_at, p.entregado_at, p.leido_at),
           leido_at = COALESCE(n.leido_at, p.leido_at),
           sent_at = COALESCE(n.sent_at, p.entregado_at, p.leido_at),
           locked_by = CASE WHEN n.estado = 'pendiente' THEN NULL ELSE n.locked_by END,
           locked_until = CASE WHEN n.estado = 'pendiente' THEN NULL ELSE n.locked_until END
         FROM per_notice p
        WHERE n.id = p.notification_id
          AND (n.estado IN ('enviado', 'entregado', 'leido', 'fallido')
               OR (n.estado = 'pendiente' AND n.datos->'canales_descartados' ?| p.canales))
          AND (p.rank > teltec_envio_rank(n.estado)
               OR (n.entregado_at IS NULL) OR (n.leido_at IS NULL AND p.leido_at IS NOT NULL))
       RETURNING n.id
     ), unknown AS (
       SELECT v.* FROM v
        WHERE NOT EXISTS (SELECT 1 FROM notification_envios e
                           WHERE e.canal = v.canal AND e.proveedor_id = v.proveedor_id)
     ), parked AS (
       INSERT INTO delivery_status_parked (canal, proveedor_id, estado, at, error_codigo, error, received_at)
       SELECT canal, proveedor_id, estado, at, error_codigo, error, $8 FROM unknown WHERE $7::boolean
       RETURNING 1
     )
     SELECT 'applied' AS kind, NULL::bigint AS ord, u.id AS envio_id, u.notification_id, NULL::int AS client_id,
            u.canal, u.proveedor_id, u.error_codigo, u.error
       FROM upd u WHERE NOT (u.failed_now AND u.estado = 'fallido')
     UNION ALL
     SELECT 'failed', NULL, u.id, u.notification_id, n.client_id, u.canal, u.proveedor_id, u.error_codigo, u.error
       FROM upd u JOIN notifications n ON n.id = u.notification_id
      WHERE u.failed_now AND u.estado = 'fallido'
     UNION ALL
     SELECT 'unknown', k.ord, NULL, NULL, NULL, k.canal, k.proveedor_id, NULL, NULL FROM unknown k`,
    [
      col((s) => s.canal),
      col((s) => s.proveedorId),
      col((s) => s.estado),
      col((s) => s.at),
      col((s) => s.errorCodigo ?? null),
      col((s) => (s.error ?? null)?.slice(0, 500) ?? null),
      opts.park ?? true,
      opts.now ?? new Date(),
    ],
  );
  const unknown: number[] = [];
  for (const r of rows) {
    if (r.kind === 'unknown') unknown.push(Number(r.ord));
    else {
      report.applied++;
      if (r.kind === 'failed') {
        report.failed.push({
          envioId: Number(r.envio_id),
          notificationId: Number(r.notification_id),
          clientId: r.client_id === null ? null : Number(r.client_id),
          canal: r.canal,
          proveedorId: r.proveedor_id,
          errorCodigo: r.error_codigo,
          error: r.error,
        });
      }
    }
  }
  report.unknown = unknown.sort((a, b) => a - b).map((ord) => valid[ord - 1]!);
  return report;
}

/**
 * Applies the parked statuses whose attempt is now known (after recording sends), and removes
 * them from the parking. Returns what `applyDeliveryStatuses` reports for them.
 */
export async function applyParkedStatuses(
  tx: Queryable,
  opts: { canal?: ChannelName } = {},
): Promise<DeliveryReport> {
  const { rows } = await tx.query<{
    canal: ChannelName;
    proveedor_id: string;
    estado: DeliveryStatus['estado'];
    at: Date;
    error_codigo: string | null;
    error: string | null;
  }>(
    `DELETE FROM delivery_status_parked p
      USING notification_envios e
      WHERE e.canal = p.canal AND e.proveedor_id = p.proveedor_id AND ($1::text IS NULL OR p.canal = $1)
     RETURNING p.canal, p.proveedor_id, p.estado, p.at, p.error_codigo, p.error`,
    [opts.canal ?? null],
  );
  return applyDeliveryStatuses(
    tx,
    rows.map((r) => ({
      canal: r.canal,
      proveedorId: r.proveedor_id,
      estado: r.estado,
      at: r.at,
      errorCodigo: r.error_codigo,
      error: r.error,
    })),
    { park: false },
  );
}

/**
 * Run by a delivery webhook after it committed statuses it had to park. A webhook that parks a
 * status (its attempt not recorded yet) and the send's commit that replays parked statuses
 * (`completeMany`) can miss each other when each looks before the other has committed: the status
 * would stay parked and a late failure would never move its notice on. So each side looks again
 * after its own commit — the send in `completeMany`, the webhook here. Attempts a replayed
 * `failed` status closes are classified (`classify`: the channel's classifier) and settled in the
 * same transaction, as the webhook does for the statuses it applies directly.
 */
export async function replayParkedStatuses(
  db: Db,
  canal: ChannelName,
  classify: (f: FailedEnvio) => ChannelVerdict | undefined,
  now: Date,
  settle: (tx: Queryable, failures: ClassifiedFailure[], now: Date) => Promise<void> = settleAsyncFailures,
): Promise<{ applied: number; failed: ClassifiedFailure[] }> {
  return db.transaction(async (tx) => {
    const report = await applyParkedStatuses(tx, { canal });
    return { applied: report.applied, failed: await settleFailed(tx, report.failed, classify, now, settle) };
  });
}

/**
 * Attempts a delivery status closed as failed, classified by their channel's classifier
 * (`classify`; undefined leaves an attempt as it is) and handed to `settle` (next channel, retry,
 * unreachable mark: `settleAsyncFailures`) in `tx`. Returns the classified ones. The one place a
 * late failure goes from "failed" to its consequence: webhooks, delivery reports, the dispatcher.
 */
export async function settleFailed(
  tx: Queryable,
  failed: readonly FailedEnvio[],
  classify: (f: FailedEnvio) => ChannelVerdict | undefined,
  now: Date,
  settle: (tx: Queryable, failures: ClassifiedFailure[], now: Date) => Promise<void> = settleAsyncFailures,
): Promise<ClassifiedFailure[]> {
  const classified = failed.flatMap((f) => {
    const verdict = classify(f);
    return verdict ? [{ ...f, verdict }] : [];
  });
  if (classified.length) await settle(tx, classified, now);
  return classified;
}

/** Drops parked statuses received before `before` (their message never became known). */
export async function purgeParkedStatuses(db: Queryable, before: Date): Promise<number> {
  return (await db.query('DELETE FROM delivery_status_parked WHERE received_at < $1', [before])).rowCount;
}

/** One attempt of a notice, as the API lists it (`envios`). */
export interface EnvioView {
  id: number;
  canal: ChannelName;
  estado: 'pendiente' | 'enviado' | 'entregado' | 'leido' | 'fallido';
  destino: string | null;
  proveedor_id: string | null;
  plantilla: string | null;
  error_codigo: string | null;
  error: string | null;
  created_at: Date;
  enviado_at: Date | null;
  entregado_at: Date | null;
  leido_at: Date | null;
  fallido_at: Date | null;
}

/** The attempts of some notices, oldest first, by notice id. */
export async function listEnvios(
  db: Queryable,
  notificationIds: readonly number[],
): Promise<Map<number, EnvioView[]>> {
  const out = new Map<number, EnvioView[]>();
  if (notificationIds.length === 0) return out;
  const { rows } = await db.query<EnvioView & { notification_id: number }>(
    `SELECT id, notification_id, canal, estado, destino, proveedor_id, plantilla, error_codigo, error, created_at,
            enviado_at, entregado_at, leido_at, fallido_at
       FROM notification_envios WHERE notification_id = ANY($1::bigint[]) ORDER BY notification_id, id`,
    [notificationIds],
  );
  for (const { notification_id, ...r } of rows) {
    const id = Number(notification_id);
    const list = out.get(id) ?? [];
    list.push({ ...r, id: Number(r.id) });
    out.set(id, list);
  }
  return out;
}

/**
 * Records one try that did not end the notice (WhatsApp refused free text outside the window and
 * the notice goes again as a template) and reserves the id of the next try. Returns that id.
 */
export async function recordTry(db: Queryable, notificationId: number, e: EnvioRecord): Promise<number> {
  const { rows } = await db.query<{ next_id: number }>(
    `WITH env AS (
       INSERT INTO notification_envios (id, notification_id, canal, estado, destino, proveedor_id, plantilla,
                                        error_codigo, error, created_at, fallido_at)
       VALUES ($1, $2, $3, 'fallido', $4, $5, $6, $7, $8, $9, $9)
       ON CONFLICT DO NOTHING RETURNING 1)
     SELECT nextval('notification_envios_id_seq') AS next_id`,
    [
      e.id,
      notificationId,
      e.canal,
      e.destino,
      e.proveedorId ?? null,
      e.plantilla ?? null,
      e.errorCodigo ?? null,
      e.error?.slice(0, 500) ?? null,
      e.startedAt,
    ],
  );
  return Number(rows[0]!.next_id);
}

// ------------------------------------------------------------------------------ asynchronous failures

/** An attempt a delivery status closed as failed, with its channel's verdict (adapter.classify). */
export type ClassifiedFailure = FailedEnvio & { verdict: ChannelVerdict };

/** Attempts per notice before an asynchronous failure closes it (as the dispatcher's bound). */
const ASYNC_MAX_ATTEMPTS = 6;
/** Retry delay after an asynchronous failure when the verdict names none. */
const ASYNC_RETRY_MS = 5 * 60_000;

/**
 * The fallback policy's answer for a notice whose attempt on `canal` was lost after it was sent:
 * the channels it has then lost (to requeue it for the next one), or null when it may not fall back
 * (its kind's budget — fallback-policy.ts — or no other channel can reach the client now, from
 * `teltec_channel_reasons`). The same functions as the attempt's synchronous fallback.
 */
function lateFallback(
  n: {
    tipo: string;
    urgente: boolean;
    datos: Record<string, unknown> | null;
    client_id: number | null;
    canales: Partial<Record<ChannelName, string | null>> | null;
  },
  canal: ChannelName,
  where: {
    configured?: readonly ChannelName[];
    isOpen?: (c: ChannelName) => boolean;
    rules?: FallbackRules;
  } = {},
): ChannelName[] | null {
  if (n.client_id === null) return null;
  const lost = [...new Set([...lostChannels(n.datos), canal])];
  if (!mayFallBack(fallbackRule(n.tipo, n.urgente, where.rules), lost)) return null;
  const next = channelOrder(
    { reasons: n.canales ?? {}, preferred: null },
    where.configured ?? CHANNEL_NAMES,
    lost,
    {
      isOpen: where.isOpen,
    },
  );
  return next.length > 0 ? lost : null;
}

/**
 * What an asynchronous failure (a `failed` status webhook, an SMS delivery report) does to its
 * notice, in the caller's transaction — the same table of verdicts as a synchronous failure:
 * - retry / pause / stop: the notice goes back to the queue (`pendiente`) after the verdict's delay
 *   (at least `minDelayMs` / `waitMs`, 5 min by default); after 6 attempts it fails
 *   (`reintentos_agotados`);
 * - template: back to the queue now, to be composed as a template (`datos.forzar_plantilla`);
 * - fail: `unreachable` marks the client on that channel (expiring after `days`); `optOut` adds a
 *   revocation to the consent ledger; then the fallback policy decides (issue 11 §3, the same
 *   `fallbackRule` / `mayFallBack` / `channelOrder` as a synchronous failure): when the notice's
 *   kind may try another channel and one can reach the client (`teltec_channel_reasons`), the
 *   notice goes back to the queue now with the channel added to `datos.canales_descartados` — the
 *   dispatcher sends it by the next channel; otherwise it fails with the verdict's reason.
 * A notice requeued to be composed again gets its queued text back (`mensaje` NULL when it was
 * composed from a template at send time: `datos.mensaje_de_plantilla`).
 * Only a notice still `enviado` whose latest attempt is the failed one is touched: a delivered
 * notice, or one already tried again, stays as it is. Wakes the dispatchers when rows return.
 */
export async function settleAsyncFailures(
  tx: Queryable,
  failures: readonly ClassifiedFailure[],
  now: Date,
): Promise<void> {
  if (failures.length === 0) return;
  // The notices these failures still decide, locked for the decision.
  const { rows: open } = await tx.query<{
    id: number;
    envio_id: number;
    tipo: string;
    urgente: boolean;
    datos: Record<string, unknown> | null;
    client_id: number | null;
    canales: Partial<Record<ChannelName, string | null>> | null;
  }>(
    `SELECT n.id, v.envio_id, n.tipo, n.urgente, n.datos, n.client_id,
            CASE WHEN c.id IS NULL THEN NULL ELSE teltec_channel_reasons(c, $3, false) END AS canales
       FROM unnest($1::bigint[], $2::bigint[]) AS v(notification_id, envio_id)
       JOIN notifications n ON n.id = v.notification_id
       LEFT JOIN clients c ON c.id = n.client_id
      WHERE n.estado = 'enviado'
        AND NOT EXISTS (SELECT 1 FROM notification_envios e WHERE e.notification_id = n.id AND e.id > v.envio_id)
      ORDER BY n.id
        FOR UPDATE OF n`,
    [failures.map((f) => f.notificationId), failures.map((f) => f.envioId), now],
  );
  if (open.length === 0) return;
  const failureOf = new Map(failures.map((f) => [`${f.notificationId}:${f.envioId}`, f]));
  // Only a failure that may move on asks for the rules staff set (one read per batch).
  const rules = failures.some((f) => f.verdict.action === 'fail') ? await storedFallbackRules(tx) : {};
  const decided = open.map((n) => {
    const f = failureOf.get(`${Number(n.id)}:${Number(n.envio_id)}`)!;
    const v = f.verdict;
    const lost = v.action === 'fail' ? lateFallback(n, f.canal, { rules }) : null;
    const action: ChannelVerdict['action'] | 'fallback' = lost ? 'fallback' : v.action;
    return { n, f, action, lost: lost ?? [] };
  });
  const delay = (v: ChannelVerdict) =>
    v.action === 'retry'
      ? Math.max(v.minDelayMs ?? 0, ASYNC_RETRY_MS)
      : v.action === 'pause'
        ? Math.max(v.waitMs, 1000)
        : v.action === 'stop'
          ? ASYNC_RETRY_MS
          : 0;
  const errorOf = (f: ClassifiedFailure) =>
    (f.error ?? (f.errorCodigo ? `${f.errorCodigo}` : f.verdict.reason)).slice(0, 500);
  // The marks first (the client may not be reached there again), for every decided failure.
  for (const { n, f } of decided) {
    const v = f.verdict;
    if (v.action !== 'fail' || n.client_id === null) continue;
    if (v.unreachable) {
      const until =
        v.unreachable.days === undefined ? null : new Date(now.getTime() + v.unreachable.days * 86_400_000);
      await markClientUnreachableOn(tx, f.canal, n.client_id, v.unreachable.reason, until, now);
    }
    if (v.optOut) {
      await recordConsent(tx, {
        clientId: n.client_id,
        canal: f.canal,
        categoria: v.optOut,
        otorgado: false,
        fuente: 'proveedor',
        evidencia: errorOf(f),
        registradoPor: 'sistema',
        at: now,
      });
    }
  }
  const { rows } = await tx.query<{ id: number; estado: string }>(
    `WITH v AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[],
                            $9::bigint[])
              AS v(notification_id, action, motivo, error, delay_ms, descartados, envio_id)
     )
     UPDATE notifications n SET
         estado = CASE WHEN v.action = 'fail'
                         OR (v.action NOT IN ('template', 'fallback') AND n.intentos >= $8) THEN 'fallido'
                       ELSE 'pendiente' END,
         motivo = CASE WHEN v.action = 'fail' THEN v.motivo
                       WHEN v.action NOT IN ('template', 'fallback') AND n.intentos >= $8 THEN 'reintentos_agotados' END,
         ultimo_error = v.error,
         proximo_intento = $7::timestamptz + v.delay_ms * interval '1 millisecond',
         mensaje = CASE WHEN v.action IN ('template', 'fallback') AND n.datos @> '{"mensaje_de_plantilla": true}'
                        THEN NULL ELSE n.mensaje END,
         datos = CASE WHEN v.action = 'template' THEN n.datos || '{"forzar_plantilla": true}'::jsonb
                      WHEN v.action = 'fallback'
                        THEN jsonb_set(n.datos, '{canales_descartados}', v.descartados)
                      ELSE n.datos END,
         locked_by = NULL, locked_until = NULL, updated_at = $7
       FROM v
      WHERE n.id = v.notification_id AND n.estado = 'enviado'
        AND NOT EXISTS (SELECT 1 FROM notification_envios e WHERE e.notification_id = n.id AND e.id > v.envio_id)
     RETURNING n.id, n.estado`,
    [
      decided.map((d) => d.n.id),
      decided.map((d) => d.action),
      decided.map((d) => (d.f.verdict.action === 'fail' ? d.f.verdict.reason : null)),
      decided.map((d) => errorOf(d.f)),
      decided.map((d) => delay(d.f.verdict)),
      decided.map((d) => JSON.stringify(d.lost)),
      now,
      ASYNC_MAX_ATTEMPTS,
      decided.map((d) => d.f.envioId),
    ],
  );
  if (rows.some((r) => r.estado === 'pendiente')) await notifyQueued(tx);
}

/** The notice types the "no delivery within N minutes" rule moves (must-deliver, urgent or not), from the policy. */
function mustDeliverTypes(urgente: boolean, rules: FallbackRules): string[] {
  return notificationTypes.values.filter((t) => fallbackRule(t, urgente, rules) === 'must_deliver');
}

/** How far back the no-delivery sweep looks (older attempts are left as they are). */
const NO_DELIVERY_HORIZON_MS = 2 * 86_400_000;

/**
 * "No delivery within N minutes" (issue 11 §3, FALLBACK_NO_DELIVERY_MINUTES): a must-deliver notice
 * whose latest attempt went by a channel that reports delivery (`canales`: WhatsApp, SMS with
 * reports) and is still `enviado` — no delivered, no failed — `afterMs` after it was sent moves on
 * when another channel may take it now:
 * the attempt closes as `fallido` (`sin_entrega`) and the notice goes through the same door as a
 * late failure (`settleAsyncFailures`: the outbox requeues it for the next channel). Only notices
 * the policy lets fall back and another channel can reach are moved; the others keep waiting for
 * their report. A `delivered` that comes later for the old attempt moves that attempt on
 * (`applyDeliveryStatuses`: forward only) and, while the notice still waits for its next channel,
 * closes it as delivered instead of sending it again. Returns how many notices moved.
 */
export async function moveUndelivered(
  db: Db,
  o: {
    now: Date;
    afterMs: number;
    canales: readonly ChannelName[];
    /** The channels the dispatcher sends by, and whether each may send now (SMS_WINDOW). */
    configured?: readonly ChannelName[];
    isOpen?: (canal: ChannelName) => boolean;
    limit?: number;
  },
): Promise<number> {
  if (o.canales.length === 0) return 0;
  return db.transaction(async (tx) => {
    const rules = await storedFallbackRules(tx);
    const { rows } = await tx.query<{
      envio_id: number;
      notification_id: number;
      canal: ChannelName;
      proveedor_id: string | null;
      tipo: string;
      urgente: boolean;
      datos: Record<string, unknown> | null;
      client_id: number;
      canales: Partial<Record<ChannelName, string | null>> | null;
    }>(
      `SELECT e.id AS envio_id, e.notification_id, e.canal, e.proveedor_id, n.tipo, n.urgente, n.datos, n.client_id,
              teltec_channel_reasons(c, $2, false) AS canales
         FROM notification_envios e
         JOIN notifications n ON n.id = e.notification_id
         JOIN clients c ON c.id = n.client_id
        WHERE e.canal = ANY($1::text[]) AND e.estado = 'enviado'
          AND e.enviado_at <= $3 AND e.enviado_at > $4
          AND n.estado = 'enviado'
          AND n.tipo = ANY(CASE WHEN n.urgente THEN $5::text[] ELSE $6::text[] END)
          AND NOT EXISTS (SELECT 1 FROM notification_envios l WHERE l.notification_id = n.id AND l.id > e.id)
        ORDER BY e.enviado_at
        LIMIT $7
          FOR UPDATE OF n SKIP LOCKED`,
      [
        o.canales,
        o.now,
        new Date(o.now.getTime() - o.afterMs),
        new Date(o.now.getTime() - NO_DELIVERY_HORIZON_MS),
        mustDeliverTypes(true, rules),
        mustDeliverTypes(false, rules),
        o.limit ?? 500,
      ],
    );
    // Not while no other channel may take it now (SMS outside its window): it waits for its report.
    const where = {
      ...(o.configured && { configured: o.configured }),
      ...(o.isOpen && { isOpen: o.isOpen }),
      rules,
    };
    const moving = rows.filter((r) => lateFallback(r, r.canal, where) !== null);
    if (moving.length === 0) return 0;
    const minutes = Math.round(o.afterMs / 60_000);
    const error = (canal: ChannelName) =>
      `Sin confirmación de entrega por ${canal} en ${minutes} minutos; se prueba el siguiente canal.`;
    await tx.query(
      `UPDATE notification_envios e SET estado = 'fallido', fallido_at = $3, error_codigo = 'sin_entrega', error = v.error
         FROM unnest($1::bigint[], $2::text[]) AS v(id, error)
        WHERE e.id = v.id AND e.estado = 'enviado'`,
      [moving.map((r) => r.envio_id), moving.map((r) => error(r.canal)), o.now],
    );
    await settleAsyncFailures(
      tx,
      moving.map((r) => ({
        envioId: Number(r.envio_id),
        notificationId: Number(r.notification_id),
        clientId: Number(r.client_id),
        canal: r.canal,
        proveedorId: r.proveedor_id ?? '',
        errorCodigo: 'sin_entrega',
        error: error(r.canal),
        verdict: { action: 'fail', reason: 'sin_entrega' },
      })),
      o.now,
    );
    return moving.length;
  });
}

/**
 * The channels a notice has lost for good (fallback, issue 11 §3), kept in its `datos` so that a
 * later claim does not go back to them. Never touches anything else of the row.
 */
export async function markChannelsLost(
  db: Queryable,
  id: number,
  canales: readonly ChannelName[],
): Promise<void> {
  await db.query(
    `UPDATE notifications SET datos = jsonb_set(COALESCE(datos, '{}'::jsonb), '{canales_descartados}', to_jsonb($2::text[]))
      WHERE id = $1`,
    [id, canales],
  );
}
