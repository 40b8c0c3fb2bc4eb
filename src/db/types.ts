/** A row as returned by the database, after our type parsers (see `type-parsers.ts`). */
export type Row = Record<string, unknown>;

export interface QueryResult<T> {
  rows: T[];
  /** Rows returned or affected by the statement. */
  rowCount: number;
}

/** Something that runs SQL: the database itself or a transaction lent by `Db.transaction`. */
export interface Queryable {
  /** One parameterised statement ($1, $2, …). */
  query<T = Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Several statements without parameters (migrations, scripts). */
  exec(sql: string): Promise<void>;
}

/**
 * The statement limit for bulk work a person starts on purpose (an import, a campaign to every
 * client, a generation): long, but still bounded. Ordinary requests keep
 * DATABASE_STATEMENT_TIMEOUT_MS, so a stalled database answers 503 within seconds.
 */
export const BULK_STATEMENT_TIMEOUT_MS = 120_000;

export interface TransactionOptions {
  /**
   * Statement time limit for this transaction only (long scheduled work), instead of the
   * connection's DATABASE_STATEMENT_TIMEOUT_MS. Ignored by the embedded database.
   */
  timeoutMs?: number;
}

/**
 * The one small database interface. Two implementations: embedded PGlite and a PostgreSQL server
 * through `pg`. Both speak the same SQL and return the same JS types:
 * `date` → 'YYYY-MM-DD' string, `int8`/`numeric` → number, `timestamptz` → Date, `jsonb` → value.
 */
export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  /** PGlite only: a consistent gzip'd tar of the data folder (backups, see src/backup). */
  dumpDataDir?(): Promise<Blob>;
  /**
   * PGlite in a folder only: the same tar as `dumpDataDir`, streamed into `file` from the folder
   * (memory stays flat, the event loop keeps running). Resolves to the bytes written.
   */
  writeDataDir?(file: string): Promise<number>;
  /**
   * LISTEN on `channel`: `onNotify` gets the payload of every NOTIFY on it (delivered on commit).
   * Resolves to the function that stops listening. Optional: a Db without it never wakes anyone.
   */
  listen?(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
