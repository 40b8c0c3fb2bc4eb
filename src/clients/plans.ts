import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';

export interface Plan {
  id: number;
  nombre: string;
  velocidad_mbps: number;
  precio: number;
  clientes: number;
}

const select = `SELECT p.id, p.nombre, p.velocidad_mbps, p.precio,
                       (SELECT count(*)::int FROM clients c WHERE c.plan_id = p.id) AS clientes
                  FROM plans p`;

export function createPlansRepository(db: Queryable) {
  async function get(id: number): Promise<Plan> {
    const { rows } = await db.query<Plan>(`${select} WHERE p.id = $1`, [id]);
    if (!rows[0]) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
    return rows[0];
  }
  return {
    get,
    list: async () => (await db.query<Plan>(`${select} ORDER BY p.precio, p.nombre`)).rows,
    async create(p: { nombre: string; velocidad_mbps: number; precio: number }): Promise<Plan> {
      const { rows } = await db.query<{ id: number }>(
        'INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ($1, $2, $3) RETURNING id',
        [p.nombre, p.velocidad_mbps, p.precio],
      );
      return get(rows[0]!.id);
    },
    async update(
      id: number,
      p: Partial<{ nombre: string; velocidad_mbps: number; precio: number }>,
    ): Promise<Plan> {
      const res = await db.query(
        `UPDATE plans SET nombre = COALESCE($2, nombre), velocidad_mbps = COALESCE($3, velocidad_mbps),
                precio = COALESCE($4, precio), updated_at = now() WHERE id = $1`,
        [id, p.nombre ?? null, p.velocidad_mbps ?? null, p.precio ?? null],
      );
      if (res.rowCount === 0) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
      return get(id);
    },
    async remove(id: number): Promise<void> {
      const res = await db.query('DELETE FROM plans WHERE id = $1', [id]);
      if (res.rowCount === 0) throw new AppError('NO_ENCONTRADO', `No existe el plan ${id}.`);
    },
    /** Resolves `plan_id` or a plan name to an id; throws PLAN_NO_EXISTE naming what was given. */
    async resolveId(ref: {
      plan_id?: number | null;
      plan?: string | null;
    }): Promise<number | null | undefined> {
      if (ref.plan_id !== undefined && ref.plan_id !== null) {
        const { rows } = await db.query('SELECT 1 FROM plans WHERE id = $1', [ref.plan_id]);
        if (!rows[0]) throw new AppError('PLAN_NO_EXISTE', `El plan ${ref.plan_id} no existe.`);
        return ref.plan_id;
      }
      if (ref.plan) {
        const { rows } = await db.query<{ id: number }>(
          'SELECT id FROM plans WHERE lower(nombre) = lower($1)',
          [ref.plan],
        );
        if (!rows[0])
          throw new AppError(
            'PLAN_NO_EXISTE',
            `El plan "${ref.plan}" no existe. Créelo primero en /api/planes.`,
          );
        return rows[0].id;
      }
      return ref.plan_id === null ? null : undefined;
    },
  };
}
