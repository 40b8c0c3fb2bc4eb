import type { Queryable } from '../db/index.js';

/**
 * Does it work? Conversion of payment notices into payments (issue 13 §7).
 *
 * Unit: a client's cycle (its due date, `ciclo`) whose reminder was sent. Its outcome is decided
 * by the first payment (not voided) dated on or after the reminder's local day:
 * - `a_tiempo`: paid on or before the due date;
 * - `tras_promesa`: paid late after a promise to pay for that cycle (payment_promises, 015);
 * - `tras_aviso_1` / `_2` / `_3`: paid late after that many overdue notices had been sent
 *   (3 = three or more);
 * - `vencido_sin_aviso`: paid late with no overdue notice sent before (unreachable, paused…);
 * - `sin_pago`: no payment yet.
 * Days from reminder to payment: payment date − local day the reminder was sent.
 * Receipts (payment_receipts, 015): approved / rejected / pending and the median review time.
 */

export const conversionOutcomes = [
  'a_tiempo',
  'tras_aviso_1',
  'tras_aviso_2',
  'tras_aviso_3',
  'tras_promesa',
  'vencido_sin_aviso',
  'sin_pago',
] as const;
export type ConversionOutcome = (typeof conversionOutcomes)[number];

export type OutcomeCounts = Record<ConversionOutcome, number> & {
  /** Cycles whose reminder was sent. */
  recordados: number;
  /** Of them, paid (any outcome but sin_pago). */
  pagaron: number;
  /** Median days from the reminder to the payment (paid cycles); null without any. */
  mediana_dias: number | null;
};

export interface ConversionReport extends OutcomeCounts {
  /** Cycles counted: due dates in [ciclos_desde, ciclos_hasta]. */
  ciclos_desde: string;
  ciclos_hasta: string;
  /** By month of the due date ('YYYY-MM'). */
  por_mes: (OutcomeCounts & { mes: string })[];
  /** By the channel the reminder went through. */
  por_canal: (OutcomeCounts & { canal: string })[];
  comprobantes: {
    recibidos: number;
    aprobados: number;
    rechazados: number;
    pendientes: number;
    /** Median hours from arrival to review (reviewed receipts); null without any. */
    mediana_horas_revision: number | null;
  };
  promesas: {
    hechas: number;
    cumplidas: number;
    incumplidas: number;
    pendientes: number;
    /** Kept / (kept + broken), in %; null while none is settled. */
    tasa_cumplidas: number | null;
  };
}

interface GroupRow {
  mes: string | null;
  canal: string | null;
  resultado: ConversionOutcome | null;
  g_mes: number;
  g_canal: number;
  g_resultado: number;
  n: number;
  mediana: number | null;
}

const round1 = (x: number | null) => (x === null ? null : Math.round(Number(x) * 10) / 10);

function emptyCounts(): OutcomeCounts {
  const c = Object.fromEntries(conversionOutcomes.map((o) => [o, 0])) as Record<ConversionOutcome, number>;
  return { ...c, recordados: 0, pagaron: 0, mediana_dias: null };
}

/** The conversion of the cycles due in [desde, hasta] (the provider's local dates). */
export async function conversionReport(
  db: Queryable,
  q: { desde: string; hasta: string; timeZone: string },
): Promise<ConversionReport> {
  const { rows } = await db.query<GroupRow>(
    `WITH rem AS (
       SELECT n.client_id, n.ciclo, min(n.sent_at) AS reminded_at, min(n.canal) AS canal
         FROM notifications n
        WHERE n.tipo = 'recordatorio_pago' AND n.sent_at IS NOT NULL AND n.ciclo BETWEEN $1::date AND $2::date
        GROUP BY n.client_id, n.ciclo
     ), pay AS (
       SELECT r.*, (r.reminded_at AT TIME ZONE $3)::date AS reminded_on,
              (SELECT min(p.fecha) FROM payments p
                WHERE p.client_id = r.client_id AND p.anulado_en IS NULL
                  AND p.fecha >= (r.reminded_at AT TIME ZONE $3)::date) AS paid_on
         FROM rem r
     ), k AS (
       SELECT pay.*, pay.paid_on - pay.reminded_on AS dias,
              CASE
                WHEN pay.paid_on IS NULL THEN 'sin_pago'
                WHEN pay.paid_on <= pay.ciclo THEN 'a_tiempo'
                WHEN EXISTS (SELECT 1 FROM payment_promises pr
                              WHERE pr.client_id = pay.client_id AND pr.ciclo = pay.ciclo
                                AND (pr.created_at AT TIME ZONE $3)::date <= pay.paid_on) THEN 'tras_promesa'
                ELSE CASE LEAST(3, (SELECT count(*) FROM notifications v
                                     WHERE v.client_id = pay.client_id AND v.ciclo = pay.ciclo
                                       AND v.tipo = 'pago_vencido' AND v.sent_at IS NOT NULL
                                       AND (v.sent_at AT TIME ZONE $3)::date <= pay.paid_on))
                       WHEN 0 THEN 'vencido_sin_aviso' WHEN 1 THEN 'tras_aviso_1' WHEN 2 THEN 'tras_aviso_2'
                       ELSE 'tras_aviso_3' END
              END AS resultado
         FROM pay
     )
     SELECT to_char(ciclo, 'YYYY-MM') AS mes, canal, resultado,
            GROUPING(to_char(ciclo, 'YYYY-MM'))::int AS g_mes, GROUPING(canal)::int AS g_canal,
            GROUPING(resultado)::int AS g_resultado,
            count(*)::int AS n,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY dias) FILTER (WHERE dias IS NOT NULL) AS mediana
       FROM k
      GROUP BY GROUPING SETS ((to_char(ciclo, 'YYYY-MM'), resultado), (canal, resultado), (resultado),
                              (to_char(ciclo, 'YYYY-MM')), (canal), ())`,
    [q.desde, q.hasta, q.timeZone],
  );
  const total = emptyCounts();
  const byMonth = new Map<string, OutcomeCounts>();
  const byChannel = new Map<string, OutcomeCounts>();
  const bucket = (map: Map<string, OutcomeCounts>, key: string) => {
    const c = map.get(key) ?? emptyCounts();
    map.set(key, c);
    return c;
  };
  for (const r of rows) {
    const target =
      r.g_mes === 0
        ? bucket(byMonth, r.mes ?? '')
        : r.g_canal === 0
          ? bucket(byChannel, r.canal ?? '')
          : total;
    if (r.g_resultado === 0 && r.resultado) {
      target[r.resultado] = r.n;
      if (r.resultado !== 'sin_pago') target.pagaron += r.n;
    } else {
      target.recordados = r.n;
      target.mediana_dias = round1(r.mediana);
    }
  }

  const since = `($1::date::timestamp AT TIME ZONE $3)`;
  const until = `(($2::date + 1)::timestamp AT TIME ZONE $3)`;
  const receipts = await db.query<{
    recibidos: number;
    aprobados: number;
    rechazados: number;
    pendientes: number;
    mediana: number | null;
  }>(
    `SELECT count(*)::int AS recibidos,
            count(*) FILTER (WHERE estado = 'aprobado')::int AS aprobados,
            count(*) FILTER (WHERE estado = 'rechazado')::int AS rechazados,
            count(*) FILTER (WHERE estado = 'pendiente')::int AS pendientes,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM revisado_at - created_at) / 3600)
              FILTER (WHERE revisado_at IS NOT NULL) AS mediana
       FROM payment_receipts WHERE created_at >= ${since} AND created_at < ${until}`,
    [q.desde, q.hasta, q.timeZone],
  );
  const promises = await db.query<{
    hechas: number;
    cumplidas: number;
    incumplidas: number;
    pendientes: number;
  }>(
    `SELECT count(*)::int AS hechas,
            count(*) FILTER (WHERE estado = 'cumplida')::int AS cumplidas,
            count(*) FILTER (WHERE estado = 'incumplida')::int AS incumplidas,
            count(*) FILTER (WHERE estado = 'pendiente')::int AS pendientes
       FROM payment_promises WHERE ciclo BETWEEN $1::date AND $2::date`,
    [q.desde, q.hasta],
  );
  const rc = receipts.rows[0]!;
  const pr = promises.rows[0]!;
  const settled = pr.cumplidas + pr.incumplidas;
  return {
    ...total,
    ciclos_desde: q.desde,
    ciclos_hasta: q.hasta,
    por_mes: [...byMonth].sort(([a], [b]) => a.localeCompare(b)).map(([mes, c]) => ({ mes, ...c })),
    por_canal: [...byChannel].sort(([a], [b]) => a.localeCompare(b)).map(([canal, c]) => ({ canal, ...c })),
    comprobantes: {
      recibidos: rc.recibidos,
      aprobados: rc.aprobados,
      rechazados: rc.rechazados,
      pendientes: rc.pendientes,
      mediana_horas_revision: round1(rc.mediana),
    },
    promesas: {
      ...pr,
      tasa_cumplidas: settled ? Math.round((pr.cumplidas / settled) * 1000) / 10 : null,
    },
  };
}
