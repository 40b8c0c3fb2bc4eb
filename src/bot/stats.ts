import type { Queryable } from '../db/index.js';

export type StatsGrouping = 'dia' | 'semana' | 'mes';

const units: Record<StatsGrouping, string> = { dia: 'day', semana: 'week', mes: 'month' };

export interface TelegramTotals {
  total_clientes: number;
  vinculados: number;
  sin_vincular: number;
  verificados: number;
  sin_verificar: number;
  bloqueados: number;
  porcentaje_adopcion: number;
  porcentaje_verificados: number;
}

export interface InvitationTotals {
  creadas: number;
  abiertas: number;
  usadas: number;
  activas: number;
  vencidas: number;
  revocadas: number;
  /** opened / created, % */
  tasa_apertura: number;
  /** used / created, % */
  tasa_vinculacion: number;
}

export interface StatsPeriod {
  /** First local day of the period, YYYY-MM-DD. */
  desde: string;
  chats_nuevos: number;
  vinculaciones: number;
  vinculaciones_verificadas: number;
  vinculaciones_por_invitacion: number;
  bajas: number;
  bloqueos: number;
  desbloqueos: number;
  intentos_fallidos: number;
  /** Invitations created in the period, and how many of those were opened and used (a cohort). */
  invitaciones_creadas: number;
  invitaciones_abiertas: number;
  invitaciones_usadas: number;
  /** Clients linked today whose link dates from before the end of the period (unknown date: counted). */
  vinculados_al_cierre: number;
  porcentaje_adopcion_al_cierre: number;
}

const pct = (part: number, whole: number) => (whole ? Math.round((part / whole) * 10000) / 100 : 0);

export async function telegramTotals(db: Queryable): Promise<TelegramTotals> {
  const { rows } = await db.query<{
    total: number;
    vinculados: number;
    verificados: number;
    bloqueados: number;
  }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE chat_id IS NOT NULL)::int AS vinculados,
            count(*) FILTER (WHERE chat_id IS NOT NULL AND link_verified)::int AS verificados,
            count(*) FILTER (WHERE chat_id IS NOT NULL AND telegram_blocked)::int AS bloqueados
       FROM clients`,
  );
  const r = rows[0]!;
  return {
    total_clientes: r.total,
    vinculados: r.vinculados,
    sin_vincular: r.total - r.vinculados,
    verificados: r.verificados,
    sin_verificar: r.vinculados - r.verificados,
    bloqueados: r.bloqueados,
    porcentaje_adopcion: pct(r.vinculados, r.total),
    porcentaje_verificados: pct(r.verificados, r.vinculados),
  };
}

export async function invitationTotals(db: Queryable, now: Date): Promise<InvitationTotals> {
  const { rows } = await db.query<Omit<InvitationTotals, 'tasa_apertura' | 'tasa_vinculacion'>>(
    `SELECT count(*)::int AS creadas,
            count(opened_at)::int AS abiertas,
            count(used_at)::int AS usadas,
            count(*) FILTER (WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at > $1)::int AS activas,
            count(*) FILTER (WHERE used_at IS NULL AND revoked_at IS NULL AND expires_at <= $1)::int AS vencidas,
            count(*) FILTER (WHERE used_at IS NULL AND revoked_at IS NOT NULL)::int AS revocadas
       FROM bot_invitations`,
    [now],
  );
  const r = rows[0]!;
  return { ...r, tasa_apertura: pct(r.abiertas, r.creadas), tasa_vinculacion: pct(r.usadas, r.creadas) };
}

/**
 * The last `periods` days, weeks or months (local time, the current one included), oldest
 * first. One statement: every count is grouped once and joined to the series of periods.
 */
export async function telegramSeries(
  db: Queryable,
  opts: { grouping: StatsGrouping; periods: number; now: Date; timeZone: string; totalClients: number },
): Promise<StatsPeriod[]> {
  const unit = units[opts.grouping];
  const { rows } = await db.query<Omit<StatsPeriod, 'porcentaje_adopcion_al_cierre'>>(
    `WITH p AS (
       SELECT s AS start, s + ('1 ' || $1)::interval AS stop
         FROM generate_series(date_trunc($1, $2::timestamptz AT TIME ZONE $3) - ($4 - 1) * ('1 ' || $1)::interval,
                              date_trunc($1, $2::timestamptz AT TIME ZONE $3), ('1 ' || $1)::interval) AS s
     ),
     since AS (SELECT (min(start) AT TIME ZONE $3) AS t FROM p),
     ev AS (
       SELECT date_trunc($1, at AT TIME ZONE $3) AS start,
              count(*) FILTER (WHERE tipo = 'chat_nuevo')::int AS chats_nuevos,
              count(*) FILTER (WHERE tipo = 'vinculado')::int AS vinculaciones,
              count(*) FILTER (WHERE tipo = 'vinculado' AND (detalles->>'verificado')::boolean)::int AS verificadas,
              count(*) FILTER (WHERE tipo = 'vinculado' AND detalles->>'metodo' = 'invitacion')::int AS por_invitacion,
              count(*) FILTER (WHERE tipo = 'desvinculado' AND detalles->>'motivo' = 'baja')::int AS bajas,
              count(*) FILTER (WHERE tipo = 'bloqueado')::int AS bloqueos,
              count(*) FILTER (WHERE tipo = 'desbloqueado')::int AS desbloqueos
         FROM bot_events WHERE at >= (SELECT t FROM since) GROUP BY 1
     ),
     fa AS (
       SELECT date_trunc($1, at AT TIME ZONE $3) AS start, count(*)::int AS n
         FROM bot_failed_attempts WHERE at >= (SELECT t FROM since) GROUP BY 1
     ),
     inv AS (
       SELECT date_trunc($1, created_at AT TIME ZONE $3) AS start, count(*)::int AS creadas,
              count(opened_at)::int AS abiertas, count(used_at)::int AS usadas
         FROM bot_invitations WHERE created_at >= (SELECT t FROM since) GROUP BY 1
     ),
     -- Linked clients by the period of their link, in one scan of clients (a count per period
     -- scanned them once per period: 8 scans of 100,000 clients for the Resumen's 8 weeks). A
     -- link from before the series, or of unknown date, is counted from the first period on:
     -- its start is NULL here.
     lk AS (
       SELECT CASE WHEN c.linked_at >= (SELECT t FROM since)
                   THEN date_trunc($1, c.linked_at AT TIME ZONE $3) END AS start,
              count(*)::int AS n
         FROM clients c WHERE c.chat_id IS NOT NULL GROUP BY 1
     )
     SELECT to_char(p.start, 'YYYY-MM-DD') AS desde,
            COALESCE(ev.chats_nuevos, 0) AS chats_nuevos,
            COALESCE(ev.vinculaciones, 0) AS vinculaciones,
            COALESCE(ev.verificadas, 0) AS vinculaciones_verificadas,
            COALESCE(ev.por_invitacion, 0) AS vinculaciones_por_invitacion,
            COALESCE(ev.bajas, 0) AS bajas,
            COALESCE(ev.bloqueos, 0) AS bloqueos,
            COALESCE(ev.desbloqueos, 0) AS desbloqueos,
            COALESCE(fa.n, 0) AS intentos_fallidos,
            COALESCE(inv.creadas, 0) AS invitaciones_creadas,
            COALESCE(inv.abiertas, 0) AS invitaciones_abiertas,
            COALESCE(inv.usadas, 0) AS invitaciones_usadas,
            ((SELECT COALESCE(sum(n), 0) FROM lk WHERE lk.start IS NULL)
              + sum(COALESCE(lk.n, 0)) OVER (ORDER BY p.start))::int AS vinculados_al_cierre
       FROM p LEFT JOIN ev ON ev.start = p.start LEFT JOIN fa ON fa.start = p.start
              LEFT JOIN inv ON inv.start = p.start LEFT JOIN lk ON lk.start = p.start
      ORDER BY p.start`,
    [unit, opts.now, opts.timeZone, opts.periods],
  );
  return rows.map((r) => ({
    ...r,
    porcentaje_adopcion_al_cierre: pct(r.vinculados_al_cierre, opts.totalClients),
  }));
}
