import { analyzeAfterBatch, type Db, type Queryable } from '../db/index.js';
import type { EngineMetrics } from './metrics.js';
import { enqueueFrom } from './outbox.js';
import type { EngineSettings } from './types.js';

/**
 * Generation of payment notices: one set-based statement per rule, never a loop over clients.
 *
 * Terminology: a client's **cycle** is identified by its due date D
 * (`teltec_due_date(last payment, billing day, cycle days)`). A **step** is one notice of a cycle:
 * the reminder (step 0, from D - reminder days to D - 1) or an overdue notice (step k from
 * D + k × repeat days, k < max notices). The dedupe key `type:client:D[:step]` makes a notice
 * exist once, however often generation runs. Only the current step is created: after downtime a
 * client gets the latest notice that is still true, never a burst of old ones; an older step still
 * pending is cancelled as replaced.
 */

export interface RuleCount {
  /** Rows created by this run. */
  creadas: number;
  /** Clients the rule applies to whose notice already existed (sent, pending or cancelled). */
  ya_notificadas: number;
  /** Clients the rule applies to without a reachable Telegram chat: they need a phone call. */
  sin_canal: number;
  /** Clients who turned this kind of notice off (payment notices cannot be turned off: 0). */
  por_preferencia: number;
  /** Suspended or retired clients the rule would apply to, left out by the settings. */
  por_estado: number;
}

export interface GenerationReport {
  fecha: string;
  por_tipo: { recordatorio_pago: RuleCount; pago_vencido: RuleCount; aviso_suspension: RuleCount };
  total_creadas: number;
  /** Older pending steps of the same cycle cancelled because a newer one was created. */
  reemplazadas: number;
}

/**
 * Some channel can reach the client (alias `c` of clients): Telegram linked and not blocked, or
 * another enabled channel (WhatsApp, SMS, e-mail) that can reach it. The rule lives in SQL
 * (`teltec_reachable` / `teltec_channel_reasons`, migrations/013, 017, 019, 025, 028), shared
 * with the re-check. `enabled` is the SQL of the enabled channels (a text[]): a set-based statement
 * reads them once (`teltec_enabled_channels()` in a join) and passes them in.
 */
export function reachableSql(enabled: string): string {
  return `(teltec_unreachable_reason(c.chat_id, c.telegram_blocked, c.telegram_unreachable) IS NULL OR teltec_reachable(c, NULL, false, ${enabled}))`;
}

/** `reachableSql` reading the enabled channels itself (statements about one or a few clients). */
export const REACHABLE_SQL = reachableSql('teltec_enabled_channels()');

// Parameters shared by the rules:
// $1 today (local date), $2 cycle days, $3 reminder days, $4 overdue repeat days,
// $5 overdue max notices, $6 notify suspended, $7 suspension days, $8 pre-suspension notice days
// (issue 13 §6); the outbox appends the creation time.
// The rules themselves are SQL functions (migrations/005_rules.sql) that the send-time re-check
// (teltec_begin_attempts) uses too, so a notice is created exactly when the re-check would send it.

/**
 * Every client whose cycle calls for a payment notice today, in ONE scan of clients for every
 * rule: the reminder or overdue step, and the pre-suspension notice (active clients only; urgent,
 * so the must-deliver class; once per cycle). The due date is computed once per client (OFFSET 0
 * keeps the planner from copying the expression into every use); reachability only for the
 * clients in a notice window, with the enabled channels read once. The pause (migration 015) is
 * asked only of the clients with a pause in force today: one hashed look-up per client otherwise.
 * The two notices a client may get are the two rows of a constant list, each with its own rule
 * (a VALUES list that refers to the client would build its expressions anew for every client).
 * The report reads these rows too, so they carry only what both need; what a notice alone needs
 * (`candidateCompose`) is composed for the rows queued.
 */
const candidatesSql = `
  SELECT k.client_id, k.due AS ciclo, k.tipo, k.paso, k.reachable, k.eligible, k.unpaused
    FROM (
      SELECT d.client_id, d.due, t.tipo, t.paso, d.reachable,
             CASE WHEN t.tipo = 'aviso_suspension' THEN d.estado = 'activo'
                  ELSE teltec_payment_eligible(d.estado, $6::boolean) END AS eligible,
             (d.client_id NOT IN (SELECT np.client_id FROM notice_pauses np
                                   WHERE np.ended_at IS NULL AND np.hasta >= $1::date)
              OR teltec_notice_pause(d.client_id, d.due, $1::date) IS NULL) AS unpaused
        FROM (
          SELECT c.id AS client_id, c.estado, w.due, ${reachableSql('ch.enabled')} AS reachable
            FROM clients c
           CROSS JOIN LATERAL (
             SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2::int) AS due OFFSET 0) w
           CROSS JOIN (SELECT teltec_enabled_channels() AS enabled OFFSET 0) ch
           WHERE c.estado <> 'retirado' AND c.fecha_ultimo_pago IS NOT NULL AND w.due - $3::int <= $1::date
          OFFSET 0
        ) d
       CROSS JOIN (VALUES (false), (true)) AS r(suspension)
       CROSS JOIN LATERAL (
         SELECT CASE WHEN NOT r.suspension THEN teltec_payment_notice_type(d.due, $1::date, $3::int)
                     WHEN teltec_suspension_notice_due(d.due, $1::date, $7::int, $8::int) THEN 'aviso_suspension'
                END AS tipo,
                CASE WHEN NOT r.suspension THEN teltec_payment_step(d.due, $1::date, $4::int, $5::int) END AS paso
       ) t
       WHERE t.tipo IS NOT NULL
    ) k`;

/** The columns of a payment notice that only the notice needs, over a candidate `s`. */
const candidateCompose = {
  // The generator's key (`type:client:D[:step]`): composed only for the candidates that may be
  // queued, so the candidates the report reads too are stored without it.
  dedupe_key: `s.tipo || ':' || s.client_id || ':' || s.ciclo || CASE WHEN s.tipo = 'pago_vencido' THEN ':' || s.paso ELSE '' END`,
  // That key names the client: a queued notice is found by it, not written into the client index
  // as well (migration 033, `teltec_client_notice_ids`).
  clave_generada: 'true',
  urgente: `s.tipo = 'aviso_suspension'`,
  // The date the pre-suspension notice announces: the re-check drops it once it has passed.
  datos: `CASE WHEN s.tipo = 'aviso_suspension'
               THEN jsonb_build_object('fecha_suspension', teltec_suspension_date(s.ciclo, $7::int))
               ELSE '{}'::jsonb END`,
} as const;

// One row per type with candidates (a type without any is reported as zeros): the candidates are
// grouped as they are (three groups), each counting its created rows (`creada`, see enqueueFrom).
const reportSql = `
  SELECT s.tipo,
         count(*) FILTER (WHERE s.creada)::int AS creadas,
         count(*) FILTER (WHERE s.reachable AND s.eligible)::int AS aplicables,
         count(*) FILTER (WHERE NOT s.reachable AND s.eligible)::int AS sin_canal,
         count(*) FILTER (WHERE NOT s.eligible)::int AS por_estado,
         CASE WHEN s.tipo = 'pago_vencido' THEN (SELECT count(*) FROM replaced) ELSE 0 END::int AS reemplazadas
    FROM src s
   GROUP BY s.tipo`;

interface RuleRow {
  tipo: 'recordatorio_pago' | 'pago_vencido' | 'aviso_suspension';
  creadas: number;
  aplicables: number;
  sin_canal: number;
  por_estado: number;
  reemplazadas: number;
}

function toCount(r: RuleRow | undefined): RuleCount {
  return {
    creadas: r?.creadas ?? 0,
    ya_notificadas: (r?.aplicables ?? 0) - (r?.creadas ?? 0),
    sin_canal: r?.sin_canal ?? 0,
    por_preferencia: 0,
    por_estado: r?.por_estado ?? 0,
  };
}

/** Parameters $1…$8 of the rules. */
export function ruleParams(settings: EngineSettings, today: string): unknown[] {
  return [
    today,
    settings.cycleDays,
    settings.reminderDaysBefore,
    settings.overdueRepeatDays,
    settings.overdueMaxNotices,
    settings.notifySuspended,
    settings.suspension.days,
    settings.suspension.noticeDaysBefore,
  ];
}

/**
 * The generation lock, held until the end of the transaction: one generation at a time across
 * processes and instances (on this database schema). Taken again by the same transaction, it
 * does not wait.
 */
const LOCK_GENERATION = `SELECT pg_advisory_xact_lock(hashtext('teltec:generation:' || current_schema()))`;

/**
 * Runs every rule for `today` (the provider's local date). Idempotent; safe to run concurrently
 * with the sender and with another generation, which waits for the generation lock (taken here,
 * until the end of the transaction).
 */
export async function generatePaymentNotices(
  db: Queryable,
  settings: EngineSettings,
  at: { today: string; now: Date },
): Promise<GenerationReport> {
  // In a transaction of its own unless the caller lent one, with JIT off for it: the planner's
  // estimate grows with the clients and the outbox (an index probe per candidate is priced as a
  // disk read), and past jit_above_cost PostgreSQL compiles the statement, which takes longer than
  // running it (a re-run over a 2,000,000-row outbox, 100,000 clients: 1.7 s with JIT, 0.18 s without).
  const generate = async (tx: Queryable) => {
    const rows = await enqueueFrom<RuleRow>(tx, {
      // JIT off, then the generation lock: in the round trip that opens the statement's savepoint.
      prelude: `SELECT set_config('jit', 'off', true); ${LOCK_GENERATION}`,
      source: candidatesSql,
      params: ruleParams(settings, at.today),
      columns: ['client_id', 'tipo', 'ciclo', 'paso'],
      compose: candidateCompose,
      // A paused cycle (receipt under review, promise to pay: migration 015) waits for the pause to
      // end; the pre-suspension notice too.
      where: 's.reachable AND s.eligible AND s.unpaused',
      // Most runs of a day find their notices made: nothing is composed or inserted for them. A
      // notice whose window opened after the last day generated for cannot exist: not looked up
      // (migration 032; no day yet: nothing generated, nothing to look up).
      skipExisting: {
        cannotExist: `teltec_payment_notice_since(s.tipo, s.ciclo, s.paso, $3::int, $4::int, $7::int, $8::int)
                        > COALESCE((SELECT g.ultimo_dia FROM generation_runs g), '-infinity'::date)`,
      },
      // One generation at a time (the lock above): what the probe finds free is inserted as is.
      serialized: true,
      // Each notice's client is the row of clients this statement read (candidatesSql).
      referencesFromSource: true,
      now: at.now,
      replaceOlderSteps: true,
      report: reportSql,
      // The day generated for (migration 032), recorded by the same statement. Its reading in
      // `cannotExist` above sees the value before it (one snapshot for the whole statement).
      alongside: `INSERT INTO generation_runs (ultimo_dia) VALUES ($1::date)
                  ON CONFLICT (id) DO UPDATE SET ultimo_dia = GREATEST(generation_runs.ultimo_dia, EXCLUDED.ultimo_dia)`,
    });
    return rows;
  };
  const rows = 'transaction' in db ? await (db as Db).transaction(generate) : await generate(db);
  const reminder = toCount(rows.find((r) => r.tipo === 'recordatorio_pago'));
  const overdue = toCount(rows.find((r) => r.tipo === 'pago_vencido'));
  const suspension = toCount(rows.find((r) => r.tipo === 'aviso_suspension'));
  return {
    fecha: at.today,
    por_tipo: { recordatorio_pago: reminder, pago_vencido: overdue, aviso_suspension: suspension },
    total_creadas: reminder.creadas + overdue.creadas + suspension.creadas,
    reemplazadas: rows.reduce((n, r) => n + r.reemplazadas, 0),
  };
}

/**
 * `generatePaymentNotices` in the transaction `tx` (so the generation lock is held until its
 * end), with the created rows counted in the metrics and the statistics refreshed after a large
 * run. The API, the CLI and the daily job all generate through here.
 */
export async function generateUnderLock(
  tx: Queryable,
  settings: EngineSettings,
  at: { today: string; now: Date },
  metrics?: EngineMetrics,
): Promise<GenerationReport> {
  const report = await generatePaymentNotices(tx, settings, at);
  for (const [tipo, c] of Object.entries(report.por_tipo)) metrics?.generated.inc({ tipo }, c.creadas);
  // A large generation changes the outbox's shape: plan the next claims on fresh statistics.
  await analyzeAfterBatch(tx, 'notifications', report.total_creadas);
  return report;
}

export interface UnreachableClient {
  id: number;
  nombre: string;
  telefono: string | null;
  sector: string | null;
  plan: string | null;
  fecha_vencimiento: string;
  estado_pago: 'por_vencer' | 'vencido';
  dias: number;
  motivo: 'sin_telegram' | 'bloqueado' | 'inalcanzable';
}

/** Due and overdue clients Telegram cannot reach: staff call them. Overdue first, longest first. */
export async function listUnreachableDue(
  db: Queryable,
  settings: EngineSettings,
  q: { today: string; limit: number; offset: number },
): Promise<{ clientes: UnreachableClient[]; total: number }> {
  const { rows } = await db.query<UnreachableClient & { total: number }>(
    `SELECT v.*, count(*) OVER ()::int AS total FROM (
       SELECT c.id, c.nombre, c.telefono, c.sector, p.nombre AS plan, d.due AS fecha_vencimiento,
              teltec_payment_state(d.due, $1::date, $3) AS estado_pago,
              abs($1::date - d.due) AS dias,
              CASE WHEN c.chat_id IS NULL THEN 'sin_telegram'
                   WHEN c.telegram_blocked THEN 'bloqueado' ELSE 'inalcanzable' END AS motivo
         FROM clients c LEFT JOIN plans p ON p.id = c.plan_id
        CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due) d
        WHERE NOT ${REACHABLE_SQL} AND teltec_payment_eligible(c.estado, $4::boolean)
          AND d.due - $3::int <= $1::date
     ) v
     ORDER BY v.estado_pago DESC, v.fecha_vencimiento, v.id
     LIMIT $5 OFFSET $6`,
    [q.today, settings.cycleDays, settings.reminderDaysBefore, settings.notifySuspended, q.limit, q.offset],
  );
  return {
    total: rows[0]?.total ?? 0,
    clientes: rows.map(({ total: _t, ...c }) => c),
  };
}
