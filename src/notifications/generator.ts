import type { Queryable } from '../db/index.js';
import type { EngineMetrics } from './metrics.js';
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
  por_tipo: { recordatorio_pago: RuleCount; pago_vencido: RuleCount };
  total_creadas: number;
  /** Older pending steps of the same cycle cancelled because a newer one was created. */
  reemplazadas: number;
}

/** A client is reachable on Telegram: linked, not blocked, not marked unreachable by the sender. */
export const REACHABLE_SQL =
  '(c.chat_id IS NOT NULL AND NOT c.telegram_blocked AND c.telegram_unreachable IS NULL)';

/** Clients whose payment notices are on: active ones, and suspended ones if configured. */
const ELIGIBLE_SQL = `(c.estado = 'activo' OR ($6::boolean AND c.estado = 'suspendido'))`;

// Parameters shared by both rules:
// $1 today (local date), $2 cycle days, $3 reminder days, $4 overdue repeat days,
// $5 overdue max notices, $6 notify suspended, $7 now (creation time).
// A rule that does not need a parameter still names its type, so both share one parameter list.

const reminderSql = `
WITH cand AS (
  SELECT c.id AS client_id, d.due, ${REACHABLE_SQL} AS reachable, ${ELIGIBLE_SQL} AS eligible
    FROM clients c
   CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due) d
   WHERE c.estado <> 'retirado' AND d.due > $1::date AND d.due - $3::int <= $1::date
     AND $4::int IS NOT NULL AND $5::int IS NOT NULL
), ins AS (
  INSERT INTO notifications (client_id, tipo, ciclo, paso, dedupe_key, proximo_intento, created_at, updated_at)
  SELECT client_id, 'recordatorio_pago', due, 0, 'recordatorio_pago:' || client_id || ':' || due, $7, $7, $7
    FROM cand WHERE reachable AND eligible
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS creadas,
       count(*) FILTER (WHERE reachable AND eligible)::int AS aplicables,
       count(*) FILTER (WHERE NOT reachable AND eligible)::int AS sin_canal,
       count(*) FILTER (WHERE NOT eligible)::int AS por_estado,
       0 AS reemplazadas
  FROM cand`;

const overdueSql = `
WITH cand AS (
  SELECT c.id AS client_id, d.due,
         LEAST(($1::date - d.due) / $4::int, $5::int - 1) AS paso,
         ${REACHABLE_SQL} AS reachable, ${ELIGIBLE_SQL} AS eligible
    FROM clients c
   CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due) d
   WHERE c.estado <> 'retirado' AND d.due <= $1::date AND $3::int IS NOT NULL
), ins AS (
  INSERT INTO notifications (client_id, tipo, ciclo, paso, dedupe_key, proximo_intento, created_at, updated_at)
  SELECT client_id, 'pago_vencido', due, paso,
         'pago_vencido:' || client_id || ':' || due || ':' || paso, $7, $7, $7
    FROM cand WHERE reachable AND eligible
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING id, client_id, ciclo, paso
), replaced AS (
  UPDATE notifications n
     SET estado = 'cancelado', motivo = 'reemplazada', locked_by = NULL, locked_until = NULL, updated_at = $7
    FROM ins
   WHERE n.client_id = ins.client_id AND n.estado = 'pendiente' AND n.ciclo = ins.ciclo
     AND (n.tipo = 'recordatorio_pago' OR (n.tipo = 'pago_vencido' AND n.paso < ins.paso))
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS creadas,
       count(*) FILTER (WHERE reachable AND eligible)::int AS aplicables,
       count(*) FILTER (WHERE NOT reachable AND eligible)::int AS sin_canal,
       count(*) FILTER (WHERE NOT eligible)::int AS por_estado,
       (SELECT count(*) FROM replaced)::int AS reemplazadas
  FROM cand`;

interface RuleRow {
  creadas: number;
  aplicables: number;
  sin_canal: number;
  por_estado: number;
  reemplazadas: number;
}

function toCount(r: RuleRow): RuleCount {
  return {
    creadas: r.creadas,
    ya_notificadas: r.aplicables - r.creadas,
    sin_canal: r.sin_canal,
    por_preferencia: 0,
    por_estado: r.por_estado,
  };
}

/** Parameters $1…$7 of the rules, also used by the sender's re-check. */
export function ruleParams(settings: EngineSettings, today: string, now: Date): unknown[] {
  return [
    today,
    settings.cycleDays,
    settings.reminderDaysBefore,
    settings.overdueRepeatDays,
    settings.overdueMaxNotices,
    settings.notifySuspended,
    now,
  ];
}

/**
 * Runs every rule for `today` (the provider's local date). Idempotent; safe to run concurrently
 * with the sender. Callers that may run at the same time as another instance SHOULD hold the
 * generation lock (see `generateUnderLock`).
 */
export async function generatePaymentNotices(
  db: Queryable,
  settings: EngineSettings,
  at: { today: string; now: Date },
): Promise<GenerationReport> {
  const params = ruleParams(settings, at.today, at.now);
  const reminder = (await db.query<RuleRow>(reminderSql, params)).rows[0]!;
  const overdue = (await db.query<RuleRow>(overdueSql, params)).rows[0]!;
  return {
    fecha: at.today,
    por_tipo: { recordatorio_pago: toCount(reminder), pago_vencido: toCount(overdue) },
    total_creadas: reminder.creadas + overdue.creadas,
    reemplazadas: overdue.reemplazadas,
  };
}

/**
 * `generatePaymentNotices` holding the generation lock until the end of the transaction `tx`
 * (one generation at a time across instances), with the created rows counted in the metrics.
 * The API, the CLI and the daily job all generate through here.
 */
export async function generateUnderLock(
  tx: Queryable,
  settings: EngineSettings,
  at: { today: string; now: Date },
  metrics?: EngineMetrics,
): Promise<GenerationReport> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec:generation:' || current_schema()))`);
  const report = await generatePaymentNotices(tx, settings, at);
  for (const [tipo, c] of Object.entries(report.por_tipo)) metrics?.generated.inc({ tipo }, c.creadas);
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
        WHERE NOT ${REACHABLE_SQL} AND (c.estado = 'activo' OR ($4::boolean AND c.estado = 'suspendido'))
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
