import type { Queryable } from '../db/index.js';

/** Records one admin action: who (token name), what, on what, with which details. */
export async function audit(
  db: Queryable,
  entry: { actor: string | undefined; accion: string; objeto?: string; detalles?: unknown },
): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, accion, objeto, detalles) VALUES ($1, $2, $3, $4)', [
    entry.actor ?? 'sistema',
    entry.accion,
    entry.objeto ?? null,
    JSON.stringify(entry.detalles ?? {}),
  ]);
}
