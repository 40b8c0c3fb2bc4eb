import type { Queryable } from '../db/index.js';

/** Pending = the seed's "pendiente"; counts by state as the old /estadisticas/ answered them. */
export async function notificationCounts(deps: { db: Queryable }) {
  const { rows } = await deps.db.query<{
    total_clientes: number;
    con_telegram: number;
    pendientes: number;
    enviadas: number;
    fallidas: number;
    canceladas: number;
  }>(
    `SELECT (SELECT count(*)::int FROM clients) AS total_clientes,
            (SELECT count(*)::int FROM clients WHERE chat_id IS NOT NULL) AS con_telegram,
            count(*) FILTER (WHERE estado = 'pendiente')::int AS pendientes,
            count(*) FILTER (WHERE estado IN ('enviado', 'entregado', 'leido'))::int AS enviadas,
            count(*) FILTER (WHERE estado = 'fallido')::int AS fallidas,
            count(*) FILTER (WHERE estado = 'cancelado')::int AS canceladas
       FROM notifications`,
  );
  const r = rows[0]!;
  const sin = r.total_clientes - r.con_telegram;
  return {
    total_clientes: r.total_clientes,
    con_telegram: r.con_telegram,
    sin_telegram: sin,
    porcentaje_telegram: r.total_clientes ? Math.round((r.con_telegram / r.total_clientes) * 10000) / 100 : 0,
    notificaciones: {
      pendientes: r.pendientes,
      enviadas: r.enviadas,
      fallidas: r.fallidas,
      canceladas: r.canceladas,
    },
  };
}
