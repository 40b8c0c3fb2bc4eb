import type { Queryable } from '../db/index.js';
import type { EngineSettings } from '../notifications/index.js';
import { enqueueFrom, REACHABLE_SQL } from '../notifications/index.js';
import { addDays } from '../time.js';
import { endPauses, openPause } from './pauses.js';

/**
 * Promises to pay ("📅 Pagaré el…", issue 13 §4): one per cycle, a date from the due date (or
 * today, when later) up to `graceDays` after it. The client's payment notices for that cycle pause
 * until the promised date. The daily run (before generation) settles them: a paid cycle keeps the
 * promise; an unpaid one past its date breaks it, and the overdue sequence resumes with its own
 * text (a `pago_vencido` row with `datos.variante = 'promesa_incumplida'`).
 */

/** Most dates offered as buttons. */
export const MAX_PROMISE_DATES = 10;

/** Dates a client may promise for the cycle due `ciclo`, on `today`. Empty: too late to promise. */
export function promiseDates(ciclo: string, today: string, graceDays: number): string[] {
  const last = addDays(ciclo, graceDays);
  const out: string[] = [];
  for (
    let d = today > ciclo ? today : ciclo;
    d <= last && out.length < MAX_PROMISE_DATES;
    d = addDays(d, 1)
  ) {
    out.push(d);
  }
  return out;
}

export type PromiseResult =
  | { ok: true; id: number }
  | { ok: false; reason: 'ya_prometido'; fecha: string }
  | { ok: false; reason: 'fecha_invalida' };

/** Records a promise and its pause (in the caller's transaction). One per cycle. */
export async function makePromise(
  tx: Queryable,
  p: { clientId: number; ciclo: string; fecha: string; today: string; graceDays: number },
  now: Date,
): Promise<PromiseResult> {
  if (!promiseDates(p.ciclo, p.today, p.graceDays).includes(p.fecha))
    return { ok: false, reason: 'fecha_invalida' };
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO payment_promises (client_id, ciclo, fecha_prometida, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (client_id, ciclo) DO NOTHING RETURNING id`,
    [p.clientId, p.ciclo, p.fecha, now],
  );
  if (!rows[0]) {
    const prev = await tx.query<{ f: string }>(
      'SELECT fecha_prometida::text AS f FROM payment_promises WHERE client_id = $1 AND ciclo = $2',
      [p.clientId, p.ciclo],
    );
    return { ok: false, reason: 'ya_prometido', fecha: prev.rows[0]?.f ?? p.fecha };
  }
  await openPause(
    tx,
    { clientId: p.clientId, motivo: 'promesa', hasta: p.fecha, ciclo: p.ciclo, promiseId: rows[0].id },
    now,
  );
  return { ok: true, id: rows[0].id };
}

/** Promises of `clientId` (or everybody) whose cycle is paid are kept; their pauses end. */
export async function keepPaidPromises(
  tx: Queryable,
  cycleDays: number,
  now: Date,
  clientId: number | null = null,
): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `UPDATE payment_promises pp SET estado = 'cumplida', resuelta_at = $2
       FROM clients c
      WHERE pp.estado = 'pendiente' AND c.id = pp.client_id AND ($3::int IS NULL OR pp.client_id = $3)
        AND teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $1) > pp.ciclo
     RETURNING pp.id`,
    [cycleDays, now, clientId],
  );
  await endPauses(tx, { promiseIds: rows.map((r) => r.id) }, now);
  return rows.length;
}

export interface PromiseSettlement {
  cumplidas: number;
  incumplidas: number;
  avisos: number;
}

/**
 * The daily settlement (run before generation, in its transaction): kept promises, then broken ones
 * (date passed, cycle unpaid) with the overdue notice that follows them. The notice takes the
 * generator's key for today's step when it is free (so generation adds no second notice today),
 * its own key otherwise.
 */
export async function settlePromises(
  tx: Queryable,
  settings: EngineSettings,
  at: { today: string; now: Date },
): Promise<PromiseSettlement> {
  const cumplidas = await keepPaidPromises(tx, settings.cycleDays, at.now);
  const broken = await tx.query<{ id: number }>(
    `UPDATE payment_promises SET estado = 'incumplida', resuelta_at = $2
      WHERE estado = 'pendiente' AND fecha_prometida < $1::date
     RETURNING id`,
    [at.today, at.now],
  );
  const ids = broken.rows.map((r) => r.id);
  await endPauses(tx, { promiseIds: ids }, at.now);
  let avisos = 0;
  if (ids.length > 0) {
    const [r] = await enqueueFrom(tx, {
      source: `
        SELECT k.client_id, 'pago_vencido' AS tipo, k.ciclo, k.paso, k.datos,
               CASE WHEN EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = k.step_key)
                    THEN 'promesa_incumplida:' || k.client_id || ':' || k.ciclo ELSE k.step_key END AS dedupe_key
          FROM (
            SELECT pp.client_id, pp.ciclo,
                   teltec_payment_step(pp.ciclo, $2::date, $3::int, $4::int) AS paso,
                   jsonb_build_object('variante', 'promesa_incumplida', 'fecha_prometida', pp.fecha_prometida) AS datos,
                   'pago_vencido:' || pp.client_id || ':' || pp.ciclo || ':'
                     || teltec_payment_step(pp.ciclo, $2::date, $3::int, $4::int) AS step_key
              FROM payment_promises pp
              JOIN clients c ON c.id = pp.client_id
             WHERE pp.id = ANY($1::int[]) AND ${REACHABLE_SQL}
               AND teltec_payment_eligible(c.estado, $5::boolean)
               AND teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $6::int) = pp.ciclo
          ) k`,
      params: [
        ids,
        at.today,
        settings.overdueRepeatDays,
        settings.overdueMaxNotices,
        settings.notifySuspended,
        settings.cycleDays,
      ],
      columns: ['client_id', 'tipo', 'ciclo', 'paso', 'datos', 'dedupe_key'],
      now: at.now,
    });
    avisos = r?.creadas ?? 0;
  }
  return { cumplidas, incumplidas: ids.length, avisos };
}

export interface PromiseRow {
  id: number;
  cliente_id: number;
  nombre: string;
  ciclo: string;
  fecha_prometida: string;
  estado: 'pendiente' | 'cumplida' | 'incumplida';
  creada_en: string;
}

/** Promises due on `fecha`, and the kept rate of the promises settled in the 90 days before it. */
export async function promisesOn(
  q: Queryable,
  fecha: string,
): Promise<{
  fecha: string;
  promesas: PromiseRow[];
  cumplidas: number;
  incumplidas: number;
  tasa_cumplimiento: number | null;
}> {
  const { rows } = await q.query<PromiseRow & { creada_en: Date }>(
    `SELECT pp.id, pp.client_id AS cliente_id, c.nombre, pp.ciclo::text, pp.fecha_prometida::text, pp.estado,
            pp.created_at AS creada_en
       FROM payment_promises pp JOIN clients c ON c.id = pp.client_id
      WHERE pp.fecha_prometida = $1::date ORDER BY c.nombre, pp.id`,
    [fecha],
  );
  const rate = await q.query<{ cumplidas: number; incumplidas: number }>(
    `SELECT count(*) FILTER (WHERE estado = 'cumplida')::int AS cumplidas,
            count(*) FILTER (WHERE estado = 'incumplida')::int AS incumplidas
       FROM payment_promises
      WHERE fecha_prometida <= $1::date AND fecha_prometida > $1::date - 90`,
    [fecha],
  );
  const { cumplidas, incumplidas } = rate.rows[0] ?? { cumplidas: 0, incumplidas: 0 };
  return {
    fecha,
    promesas: rows.map((r) => ({ ...r, creada_en: new Date(r.creada_en).toISOString() })),
    cumplidas,
    incumplidas,
    tasa_cumplimiento: cumplidas + incumplidas > 0 ? cumplidas / (cumplidas + incumplidas) : null,
  };
}
