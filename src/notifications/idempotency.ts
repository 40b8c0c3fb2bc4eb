import { createHash } from 'node:crypto';
import { BULK_STATEMENT_TIMEOUT_MS, type Db, type Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';

/**
 * Idempotency keys for requests that create things (mass sends): the first request with a key does
 * the work and stores its answer in the same transaction; a replay gets that answer back, even
 * when both arrive at once (the second waits on the key's row, then reads the stored answer).
 * A replay with another body is refused.
 */

export interface IdempotentAnswer<T> {
  status: number;
  body: T;
  replayed: boolean;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function fingerprintOf(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

export async function withIdempotencyKey<T>(
  db: Db,
  key: { scope: string; key: string; fingerprint: string } | undefined,
  fn: (tx: Queryable) => Promise<{ status: number; body: T }>,
): Promise<IdempotentAnswer<T>> {
  if (!key) {
    const r = await db.transaction(fn, { timeoutMs: BULK_STATEMENT_TIMEOUT_MS });
    return { ...r, replayed: false };
  }
  // Campaigns to every client run here: the bulk statement limit, not a request's.
  return db.transaction(
    async (tx) => {
      const mine = await tx.query(
        `INSERT INTO idempotency_keys (scope, key, status, response, fingerprint) VALUES ($1, $2, 0, '{}', $3)
       ON CONFLICT (scope, key) DO NOTHING RETURNING 1`,
        [key.scope, key.key, key.fingerprint],
      );
      if (mine.rows.length === 0) {
        const { rows } = await tx.query<{ status: number; response: T; fingerprint: string | null }>(
          'SELECT status, response, fingerprint FROM idempotency_keys WHERE scope = $1 AND key = $2',
          [key.scope, key.key],
        );
        const stored = rows[0]!;
        if (stored.fingerprint !== null && stored.fingerprint !== key.fingerprint) {
          throw new AppError('IDEMPOTENCIA_CONFLICTO');
        }
        return { status: stored.status, body: stored.response, replayed: true };
      }
      const r = await fn(tx);
      await tx.query('UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2', [
        key.scope,
        key.key,
        r.status,
        JSON.stringify(r.body),
      ]);
      return { ...r, replayed: false };
    },
    { timeoutMs: BULK_STATEMENT_TIMEOUT_MS },
  );
}

/** Keys older than `days` are forgotten (a daily job). */
export async function purgeIdempotencyKeys(db: Queryable, now: Date, days = 7): Promise<number> {
  const res = await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < $1::timestamptz - $2 * interval '1 day'`,
    [now, days],
  );
  return res.rowCount;
}
