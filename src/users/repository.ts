import type { Queryable } from '../db/index.js';
import type { Role } from './roles.js';

/** A staff member as the API shows it (never the password hash). */
export interface User {
  id: number;
  usuario: string;
  nombre: string;
  rol: Role;
  activo: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, usuario, nombre, rol, activo, created_at, updated_at';

/** Every read and change of staff accounts. The hash is stored here and read only to verify. */
export function createUsersRepository(db: Queryable) {
  return {
    async count(): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      return rows[0]?.n ?? 0;
    },

    async list(): Promise<User[]> {
      const { rows } = await db.query<User>(`SELECT ${COLUMNS} FROM users ORDER BY lower(usuario)`);
      return rows;
    },

    async get(id: number): Promise<User | undefined> {
      const { rows } = await db.query<User>(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
      return rows[0];
    },

    /** The account and its hash, for sign-in (case-insensitive user name). */
    async findForSignIn(usuario: string): Promise<(User & { password_hash: string }) | undefined> {
      const { rows } = await db.query<User & { password_hash: string }>(
        `SELECT ${COLUMNS}, password_hash FROM users WHERE lower(usuario) = lower($1)`,
        [usuario],
      );
      return rows[0];
    },

    async create(u: {
      usuario: string;
      nombre: string;
      rol: Role;
      passwordHash: string;
      now: Date;
    }): Promise<User> {
      const { rows } = await db.query<User>(
        `INSERT INTO users (usuario, nombre, rol, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING ${COLUMNS}`,
        [u.usuario, u.nombre, u.rol, u.passwordHash, u.now],
      );
      return rows[0]!;
    },

    async update(
      id: number,
      p: { nombre?: string; rol?: Role; activo?: boolean; passwordHash?: string; now: Date },
    ): Promise<User | undefined> {
      const { rows } = await db.query<User>(
        `UPDATE users SET nombre = coalesce($2, nombre), rol = coalesce($3, rol),
                activo = coalesce($4, activo), password_hash = coalesce($5, password_hash), updated_at = $6
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, p.nombre ?? null, p.rol ?? null, p.activo ?? null, p.passwordHash ?? null, p.now],
      );
      return rows[0];
    },

    /** Active admins other than `exceptId` (the last admin cannot be demoted or deactivated). */
    async otherActiveAdmins(exceptId: number): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM users WHERE rol = 'admin' AND activo AND id <> $1`,
        [exceptId],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
