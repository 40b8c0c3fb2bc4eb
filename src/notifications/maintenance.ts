import type { Db } from '../db/index.js';

/**
 * Table upkeep the engine's write rate calls for. PostgreSQL's autovacuum does it on a server;
 * PGlite has no autovacuum, so without this its hot tables only grow dead rows (issue 16:
 * 207k dead rows after 100k messages) and every claim reads past them.
 */

/**
 * Tables written for every message (claims, attempts, pacing, bot updates); each attempt's row in
 * `notification_envios` is rewritten by its delivery reports (enviado → entregado → leido).
 */
export const HOT_TABLES = [
  'notifications',
  'notification_envios',
  'dispatch_pacer',
  'clients',
  'bot_updates',
  'job_runs',
] as const;

/**
 * `VACUUM (ANALYZE)` of the hot tables. MUST NOT run inside a transaction. At night the queue is
 * often empty: the statistics then say "no pending row" until the next ANALYZE, so the claim path
 * (`claimStatement`, `teltec_begin_attempts` in migration 030) reaches the rows it locks and
 * updates by id alone: a condition on `estado` there lets the planner scan a pending index it
 * thinks empty, once per row.
 */
export async function vacuumHotTables(db: Db): Promise<void> {
  await db.exec(`VACUUM (ANALYZE) ${HOT_TABLES.join(', ')}`);
}
