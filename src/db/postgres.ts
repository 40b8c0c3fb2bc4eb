import pg from 'pg';
import { sharedParsers } from './type-parsers.js';
import type { Db, Queryable, QueryResult } from './types.js';

export interface PostgresOptions {
  /** Schema to use as search_path (tests use one fresh schema per file). */
  schema?: string;
  max?: number;
  applicationName?: string;
}

const types = {
  getTypeParser(oid: number, format?: string) {
    const parser = sharedParsers[oid];
    if (parser && format !== 'binary') return parser;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const res = await client.query(text, params as unknown[] | undefined);
      return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

/** PostgreSQL server through a `pg` pool. */
export async function createPostgresDb(url: string, opts: PostgresOptions = {}): Promise<Db> {
  if (opts.schema && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error('invalid schema name');
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types,
    application_name: opts.applicationName ?? 'teltec-notificaciones',
    options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
  });
  // A broken idle connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Fail fast (and with the real reason) when the server is unreachable.
  const probe = await pool.connect();
  probe.release();
  const q = wrap(pool);
  return {
    kind: 'postgres',
    query: q.query,
    exec: q.exec,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
