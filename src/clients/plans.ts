import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';

export interface Plan {
  id: number;
  nombre: string;
  velocidad_mbps: number;
  precio: number;
  clientes: number;
  /** Retired: its clients keep it, nobody new is put on it. */
  retirado: boolean;
  retirado_en: Date | null;
}

const select = `SELECT p.id, p.nombre, p.velocidad_mbps, p.precio,
                       (SELECT count(*)::int FROM clients c WHERE c.plan_id = p.id) AS clientes,
                       p.retirado_at IS NOT NULL AS retirado, p.retirado_at AS retirado_en
                  FROM plans p`;

export function createPlansRepository(db: Queryable) {
  async function get(id: number): Promise<Plan> {
    const { rows } = await db.query<Plan>(`${select} WHERE p.id = $1`, [id]);
    if (!rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
    return rows[0];
  }
  return {
    get,
    list: async () =>
      (await db.query<Plan>(`${select} ORDER BY p.retirado_at IS NOT NULL, p.precio, p.nombre`)).rows,
    async create(p: { nombre: string; velocidad_mbps: number; precio: number }): Promise<Plan> {
      const { rows } = await db.query<{ id: number }>(
        'INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ($1, $2, $3) RETURNING id',
        [p.nombre, p.velocidad_mbps, p.precio],
      );
      return get(rows[0]!.id);
    },
    async update(
      id: number,
      p: Partial<{ nombre: string; velocidad_mbps: number; precio: number; retirado: boolean }>,
      /** From the injected clock: the retirement time. */
      now: Date,
    ): Promise<Plan> {
      // Retiring keeps the first retirement time; putting a plan back on sale clears it.
      const res = await db.query(
        `UPDATE plans SET nombre = COALESCE($2, nombre), velocidad_mbps = COALESCE($3, velocidad_mbps),
                precio = COALESCE($4, precio),
                retirado_at = CASE WHEN $5::boolean IS NULL THEN retirado_at
                                   WHEN $5 THEN COALESCE(retirado_at, $6) ELSE NULL END,
                updated_at = now() WHERE id = $1`,
        [id, p.nombre ?? null, p.velocidad_mbps ?? null, p.precio ?? null, p.retirado ?? null, now],
      );
      if (res.rowCount === 0) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
      return get(id);
    },
    async remove(id: number): Promise<void> {
      // Checked here, not left to the foreign key: PGlite's error does not name the constraint.
      const res = await db.query(
        'DELETE FROM plans p WHERE p.id = $1 AND NOT EXISTS (SELECT 1 FROM clients c WHERE c.plan_id = p.id)',
        [id],
      );
      if (res.rowCount === 0 && (await db.query('SELECT 1 FROM plans WHERE id = $1', [id])).rows[0]) {
        throw new AppError('PLAN_EN_USO');
      }
      if (res.rowCount === 0) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
    },
    /**
     * Resolves `plan_id` or a plan name to an id; throws PLAN_NO_EXISTE naming what was given, and
     * PLAN_RETIRADO when the plan is retired — unless it is the client's current plan
     * (`currentPlanId`: a client already on a retired plan keeps it through an edit).
     */
    async resolveId(
      ref: { plan_id?: number | null; plan?: string | null },
      currentPlanId: number | null = null,
    ): Promise<number | null | undefined> {
      type Row = { id: number; nombre: string; retirado: boolean };
      let found: Row | undefined;
      if (ref.plan_id !== undefined && ref.plan_id !== null) {
        found = (
          await db.query<Row>(
            'SELECT id, nombre, retirado_at IS NOT NULL AS retirado FROM plans WHERE id = $1',
            [ref.plan_id],
          )
        ).rows[0];
        if (!found) throw new AppError('PLAN_NO_EXISTE', `El plan ${ref.plan_id} no existe.`);
      } else if (ref.plan) {
        found = (
          await db.query<Row>(
            'SELECT id, nombre, retirado_at IS NOT NULL AS retirado FROM plans WHERE lower(nombre) = lower($1)',
            [ref.plan],
          )
        ).rows[0];
        if (!found)
          throw new AppError(
            'PLAN_NO_EXISTE',
            `El plan "${ref.plan}" no existe. Créelo primero en /api/planes.`,
          );
      } else {
        return ref.plan_id === null ? null : undefined;
      }
      if (found.retirado && found.id !== currentPlanId) {
        throw new AppError(
          'PLAN_RETIRADO',
          `El plan "${found.nombre}" está retirado: sus clientes lo conservan, pero no se puede asignar a otros. Elija un plan vigente o vuelva a ponerlo en venta en Planes.`,
        );
      }
      return found.id;
    },
  };
}
