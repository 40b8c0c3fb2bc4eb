import type { Queryable } from '../db/index.js';
import { countsByType, type StateCounts } from './repository.js';

/** The clients, and how many have Telegram linked. */
export async function clientCounts(db: Queryable) {
  const { rows } = await db.query<{ total_clientes: number; con_telegram: number }>(
    `SELECT count(*)::int AS total_clientes, count(*) FILTER (WHERE chat_id IS NOT NULL)::int AS con_telegram
       FROM clients`,
  );
  const r = rows[0]!;
  return {
    total_clientes: r.total_clientes,
    con_telegram: r.con_telegram,
    sin_telegram: r.total_clientes - r.con_telegram,
    porcentaje_telegram: r.total_clientes ? Math.round((r.con_telegram / r.total_clientes) * 10000) / 100 : 0,
  };
}

/** Counts by state over every type (`countsByType`): what the seed's /estadisticas/ answered. */
export function stateTotals(byType: Record<string, StateCounts>): StateCounts {
  const sum: StateCounts = { pendientes: 0, enviadas: 0, fallidas: 0, canceladas: 0 };
  for (const c of Object.values(byType)) {
    sum.pendientes += c.pendientes;
    sum.enviadas += c.enviadas;
    sum.fallidas += c.fallidas;
    sum.canceladas += c.canceladas;
  }
  return sum;
}

/** Pending = the seed's "pendiente"; counts by state as the old /estadisticas/ answered them. */
export async function notificationCounts(deps: { db: Queryable }) {
  return {
    ...(await clientCounts(deps.db)),
    notificaciones: stateTotals(await countsByType(deps.db)),
  };
}
