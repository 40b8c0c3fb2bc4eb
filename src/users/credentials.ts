import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import type { User } from './repository.js';

/**
 * Sessions (browser sign-in), personal API tokens and the failed sign-in limit. Every secret is
 * random (256 bits) and stored only as its SHA-256, so a database dump opens nothing.
 */

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const newSecret = () => randomBytes(32).toString('base64url');

/** Constant-time equality for two secrets of any length. */
export function sameSecret(a: string | undefined, b: string): boolean {
  return timingSafeEqual(sha256(a ?? ''), sha256(b)) && a !== undefined;
}

/** API tokens start with this, so a leaked one is easy to recognise (secret scanners, logs). */
export const TOKEN_PREFIX = 'ttk_';

export interface SessionInfo {
  sessionId: number;
  csrfToken: string;
  user: User;
}

const USER_COLUMNS = `u.id, u.usuario, u.nombre, u.rol, u.activo, u.created_at, u.updated_at`;

function userOf(r: Record<string, unknown>): User {
  return {
    id: r.id as number,
    usuario: r.usuario as string,
    nombre: r.nombre as string,
    rol: r.rol as User['rol'],
    activo: r.activo as boolean,
    created_at: r.created_at as Date,
    updated_at: r.updated_at as Date,
  };
}

export function createSessionStore(db: Queryable) {
  return {
    /** Opens a session; the secret goes in the cookie and nowhere else. */
    async open(p: { userId: number; ip?: string; userAgent?: string; now: Date }) {
      const secret = newSecret();
      const csrfToken = newSecret();
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO sessions (token_hash, user_id, csrf_token, ip, user_agent, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
        [sha256(secret), p.userId, csrfToken, p.ip ?? null, p.userAgent?.slice(0, 300) ?? null, p.now],
      );
      return { secret, csrfToken, sessionId: rows[0]!.id };
    },

    /**
     * The session a cookie names, if it is still alive: its user is active and it was used within
     * `idleMs`. Using it moves its idle deadline (written at most once a minute).
     */
    async find(secret: string, now: Date, idleMs: number): Promise<SessionInfo | null> {
      if (!secret || secret.length > 100) return null;
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT s.id AS session_id, s.csrf_token, s.last_seen_at, ${USER_COLUMNS}
           FROM sessions s JOIN users u ON u.id = s.user_id
          WHERE s.token_hash = $1`,
        [sha256(secret)],
      );
      const r = rows[0];
      if (!r) return null;
      const lastSeen = (r.last_seen_at as Date).getTime();
      if (!r.activo || now.getTime() - lastSeen >= idleMs) {
        await db.query('DELETE FROM sessions WHERE id = $1', [r.session_id]);
        return null;
      }
      if (now.getTime() - lastSeen > 60_000) {
        await db.query('UPDATE sessions SET last_seen_at = $2 WHERE id = $1', [r.session_id, now]);
      }
      return { sessionId: r.session_id as number, csrfToken: r.csrf_token as string, user: userOf(r) };
    },

    async close(sessionId: number): Promise<void> {
      await db.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
    },

    /** "Cerrar otras sesiones": every session of the user but `keepId`. Returns how many closed. */
    async closeOthers(userId: number, keepId?: number): Promise<number> {
      const r = await db.query('DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2', [
        userId,
        keepId ?? null,
      ]);
      return r.rowCount;
    },

    async list(userId: number) {
      const { rows } = await db.query<{
        id: number;
        ip: string | null;
        user_agent: string | null;
        created_at: Date;
        last_seen_at: Date;
      }>(
        `SELECT id, ip, user_agent, created_at, last_seen_at FROM sessions WHERE user_id = $1
          ORDER BY last_seen_at DESC`,
        [userId],
      );
      return rows;
    },
  };
}

export interface ApiTokenRow {
  id: number;
  user_id: number;
  usuario: string;
  nombre: string;
  prefijo: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export function createApiTokenStore(db: Queryable) {
  return {
    /** Creates a token; the secret is returned once and stored only hashed. */
    async create(p: { userId: number; nombre: string; now: Date }) {
      const token = TOKEN_PREFIX + newSecret();
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO api_tokens (user_id, nombre, token_hash, prefijo, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [p.userId, p.nombre, sha256(token), token.slice(0, TOKEN_PREFIX.length + 6), p.now],
      );
      return { id: rows[0]!.id, token, prefijo: token.slice(0, TOKEN_PREFIX.length + 6) };
    },

    /** The live token a Bearer header carries: not revoked, owner active. Records its last use. */
    async find(token: string, now: Date): Promise<{ tokenId: number; nombre: string; user: User } | null> {
      if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return null;
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT t.id AS token_id, t.nombre AS token_nombre, t.last_used_at, ${USER_COLUMNS}
           FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.activo`,
        [sha256(token)],
      );
      const r = rows[0];
      if (!r) return null;
      const last = r.last_used_at as Date | null;
      if (!last || now.getTime() - last.getTime() > 60_000) {
        await db.query('UPDATE api_tokens SET last_used_at = $2 WHERE id = $1', [r.token_id, now]);
      }
      return { tokenId: r.token_id as number, nombre: r.token_nombre as string, user: userOf(r) };
    },

    /** Tokens of one user, or of everybody (`userId` undefined), newest first. */
    async list(userId?: number): Promise<ApiTokenRow[]> {
      const { rows } = await db.query<ApiTokenRow>(
        `SELECT t.id, t.user_id, u.usuario, t.nombre, t.prefijo, t.created_at, t.last_used_at, t.revoked_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE ($1::bigint IS NULL OR t.user_id = $1)
          ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC`,
        [userId ?? null],
      );
      return rows;
    },

    async get(id: number): Promise<ApiTokenRow | undefined> {
      const { rows } = await db.query<ApiTokenRow>(
        `SELECT t.id, t.user_id, u.usuario, t.nombre, t.prefijo, t.created_at, t.last_used_at, t.revoked_at
           FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1`,
        [id],
      );
      return rows[0];
    },

    async revoke(id: number, now: Date): Promise<boolean> {
      const r = await db.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL', [
        id,
        now,
      ]);
      return r.rowCount > 0;
    },
  };
}

/** Failed sign-ins allowed per user name and per address within the window. */
export const SIGN_IN_LIMIT = { attempts: 5, windowMs: 15 * 60_000 } as const;

/**
 * The failed sign-in limit, in the database so it survives a restart and holds across instances.
 */
export function createSignInLimiter(db: Queryable, limit = SIGN_IN_LIMIT) {
  return {
    /** Seconds until the next attempt is allowed, or 0 when it is allowed now. */
    async retryAfter(usuario: string, ip: string, now: Date): Promise<number> {
      const since = new Date(now.getTime() - limit.windowMs);
      const { rows } = await db.query<{ by_user: Date | null; by_ip: Date | null }>(
        `SELECT
           (SELECT at FROM login_failures WHERE usuario = lower($1) AND at > $3
             ORDER BY at DESC OFFSET $4 - 1 LIMIT 1) AS by_user,
           (SELECT at FROM login_failures WHERE ip = $2 AND at > $3
             ORDER BY at DESC OFFSET $4 - 1 LIMIT 1) AS by_ip`,
        [usuario, ip, since, limit.attempts],
      );
      const r = rows[0];
      // The oldest of the last `attempts` failures leaves the window first.
      const blockers = [r?.by_user, r?.by_ip].filter((d): d is Date => d instanceof Date);
      if (blockers.length === 0) return 0;
      const free = Math.max(...blockers.map((d) => d.getTime() + limit.windowMs));
      return Math.max(1, Math.ceil((free - now.getTime()) / 1000));
    },

    async recordFailure(usuario: string, ip: string, now: Date): Promise<void> {
      await db.query('INSERT INTO login_failures (usuario, ip, at) VALUES (lower($1), $2, $3)', [
        usuario.slice(0, 100),
        ip,
        now,
      ]);
      // Housekeeping: failures older than a day count for nothing.
      await db.query('DELETE FROM login_failures WHERE at < $1', [new Date(now.getTime() - 86_400_000)]);
    },

    /** A successful sign-in forgives the user name's failures (not the address's). */
    async clearUser(usuario: string): Promise<void> {
      await db.query('DELETE FROM login_failures WHERE usuario = lower($1)', [usuario]);
    },
  };
}
