import pg from 'pg';
import { isDatabaseUnavailable } from './errors.js';
import { sharedParsers } from './type-parsers.js';
import type { Db, Queryable, QueryResult, TransactionOptions } from './types.js';

export interface PostgresOptions {
  /** Schema to use as search_path (tests use one fresh schema per file). */
  schema?: string;
  max?: number;
  applicationName?: string;
  /**
   * Give up opening a connection (or waiting for a free one in the pool) after this long.
   * Unset = wait forever (tests and one-shot tools); the service sets DATABASE_CONNECT_TIMEOUT_MS.
   */
  connectTimeoutMs?: number;
  /**
   * Longest a statement may run: the server cancels it (statement_timeout) and, should the server
   * or the network not answer at all, the client gives up 1 s later and drops the connection.
   * Unset = no limit; the service sets DATABASE_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMs?: number;
  /** TCP keepalive on every connection, first probe after this long idle (default 10 s; 0 = off). */
  keepAliveMs?: number;
}

const types = {
  getTypeParser(oid: number, format?: string) {
    const parser = sharedParsers[oid];
    if (parser && format !== 'binary') return parser;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** The client-side deadline: the server's own timeout first, then ours for a silent server. */
const readTimeout = (statementMs: number | undefined) => (statementMs ? statementMs + 1000 : undefined);

function wrap(client: pg.Pool | pg.PoolClient, timeoutMs: () => number | undefined): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const res = await client.query({
        text,
        values: params as unknown[] | undefined,
        query_timeout: readTimeout(timeoutMs()),
      } as pg.QueryConfig);
      return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
    },
    async exec(sql: string) {
      await client.query({ text: sql, query_timeout: readTimeout(timeoutMs()) } as pg.QueryConfig);
    },
  };
}

/**
 * PostgreSQL server through a `pg` pool. With the timeouts set, a stalled or vanished server makes
 * every call fail within seconds (never hang), and the connections that failed are dropped from the
 * pool, so the service recovers by itself when the server is back.
 */
export async function createPostgresDb(url: string, opts: PostgresOptions = {}): Promise<Db> {
  if (opts.schema && !/^[a-z_][a-z0-9_]*$/.test(opts.schema)) throw new Error('invalid schema name');
  const keepAliveMs = opts.keepAliveMs ?? 10_000;
  const statementMs = opts.statementTimeoutMs;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    types,
    application_name: opts.applicationName ?? 'teltec-notificaciones',
    options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: statementMs,
    // A transaction left open by a vanished client must not hold locks on the server.
    idle_in_transaction_session_timeout: statementMs ? Math.max(statementMs * 4, 30_000) : undefined,
    keepAlive: keepAliveMs > 0,
    keepAliveInitialDelayMillis: keepAliveMs > 0 ? keepAliveMs : undefined,
  });
  // A broken idle connection must not crash the process; the pool drops it and reconnects.
  pool.on('error', () => {});
  // Fail fast (and with the real reason) when the server is unreachable.
  const probe = await pool.connect();
  probe.release();
  const q = wrap(pool, () => statementMs);
  return {
    kind: 'postgres',
    query: q.query,
    exec: q.exec,
    async transaction(fn, txOpts?: TransactionOptions) {
      const client = await pool.connect();
      // Long work (the daily generation) may ask for its own limit, for this transaction only.
      let limit = statementMs;
      let broken: unknown;
      // A checked-out client has no listener of the pool's: without ours, a socket error while
      // we hold it (the server reset the connection) would be an uncaught exception.
      const onError = (err: unknown) => {
        broken ??= err;
      };
      client.on('error', onError);
      try {
        await client.query({ text: 'BEGIN', query_timeout: readTimeout(limit) } as pg.QueryConfig);
        if (txOpts?.timeoutMs !== undefined && statementMs !== undefined) {
          await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.floor(txOpts.timeoutMs))}`);
          limit = txOpts.timeoutMs;
        }
        const result = await fn(wrap(client, () => limit));
        await client.query({ text: 'COMMIT', query_timeout: readTimeout(limit) } as pg.QueryConfig);
        return result;
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          // The connection is gone or silent: a ROLLBACK would only wait again. Drop it; the
          // server rolls back when it notices.
          broken = err;
        } else {
          await client
            .query({ text: 'ROLLBACK', query_timeout: readTimeout(statementMs) } as pg.QueryConfig)
            .catch((e: unknown) => {
              broken = e;
            });
        }
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken instanceof Error ? broken : broken ? new Error(String(broken)) : undefined);
      }
    },
    listen: (channel, onNotify) => listenOn(pool, channel, onNotify),
    close: () => pool.end(),
  };
}

/**
 * LISTEN on a connection of its own, taken from the pool for as long as it listens. A lost
 * connection is replaced (and reported as one notification, so nothing queued meanwhile waits
 * for the next poll).
 */
async function listenOn(
  pool: pg.Pool,
  channel: string,
  onNotify: (payload: string) => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error('invalid channel name');
  let stopped = false;
  let client: pg.PoolClient | undefined;
  const onMessage = (m: pg.Notification) => {
    if (m.channel === channel) onNotify(m.payload ?? '');
  };
  const connect = async (): Promise<void> => {
    const c = await pool.connect();
    c.on('notification', onMessage);
    c.once('error', () => {
      c.release(true);
      if (client === c) client = undefined;
      if (!stopped)
        setTimeout(
          () =>
            void connect()
              .then(() => onNotify(''))
              .catch(() => {}),
          1000,
        ).unref();
    });
    await c.query(`LISTEN ${channel}`);
    client = c;
  };
  await connect();
  return async () => {
    stopped = true;
    const c = client;
    client = undefined;
    if (!c) return;
    c.off('notification', onMessage);
    await c.query(`UNLISTEN ${channel}`).catch(() => {});
    c.release();
  };
}
