import { PGlite, type Transaction } from '@electric-sql/pglite';
import { sharedParsers } from './type-parsers.js';
import type { Db, Queryable, QueryResult } from './types.js';

type PgliteLike = Pick<PGlite, 'query' | 'exec'> | Transaction;

function wrap(pg: PgliteLike): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const res = await pg.query<T>(text, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      await pg.exec(sql);
    },
  };
}

/**
 * Embedded PostgreSQL (PGlite). `dataDir` undefined = in memory (tests).
 * PGlite is one process's database: callers MUST hold the data-dir lock (see `data-dir-lock.ts`).
 */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create(dataDir, { parsers: sharedParsers });
  const q = wrap(pg);
  return {
    kind: 'pglite',
    query: q.query,
    exec: q.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}
