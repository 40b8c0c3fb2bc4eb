import path from 'node:path';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { createPgliteDb, initialisePgliteDir, isPgliteInitialised, type PgliteOptions } from './pglite.js';
import { createPostgresDb, type PostgresOptions } from './postgres.js';
import { secureDataDir } from './private-dir.js';
import type { Db } from './types.js';

export { acquireDataDirLock, DataDirLockedError } from './data-dir-lock.js';
export {
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  isUniqueViolation,
  withDatabaseDeadline,
} from './errors.js';
export { migrate, pendingMigrations, readMigrations } from './migrate.js';
export { createPgliteDb, initialisePgliteDir, type PgliteOptions } from './pglite.js';
export { createPostgresDb, type PostgresOptions } from './postgres.js';
export { secureDataDir } from './private-dir.js';
export { ANALYZE_AFTER_ROWS, analyzeAfterBatch, type BatchTable } from './statistics.js';
export {
  BULK_STATEMENT_TIMEOUT_MS,
  type Db,
  type Queryable,
  type QueryResult,
  type Row,
  type TransactionOptions,
} from './types.js';

/**
 * Opens the configured database: PostgreSQL when `databaseUrl` is set, otherwise embedded PGlite
 * under `dataDir/pglite`, guarded by the one-process lock. Closing the Db releases the lock.
 */
export async function openDatabase(opts: {
  databaseUrl?: string;
  dataDir: string;
  /** PostgreSQL only: connect/statement timeouts and keepalive (see PostgresOptions). */
  postgres?: Pick<PostgresOptions, 'connectTimeoutMs' | 'statementTimeoutMs' | 'keepAliveMs'>;
  pglite?: PgliteOptions;
}): Promise<Db> {
  if (opts.databaseUrl) return createPostgresDb(opts.databaseUrl, opts.postgres);
  // Owner-only folder and files, and a umask that keeps new database files so (issue 12 §2).
  secureDataDir(opts.dataDir);
  const lock: DataDirLock = await acquireDataDirLock(opts.dataDir);
  try {
    const dir = path.join(opts.dataDir, 'pglite');
    if (opts.pglite?.initialiseInChild && !isPgliteInitialised(dir)) {
      // First start: initdb in a child that exits, so this process settles where any start does.
      await initialisePgliteDir(dir);
      secureDataDir(opts.dataDir); // initdb's files, made private like the rest
    }
    const db = await createPgliteDb(dir, opts.pglite);
    if (!opts.pglite?.initialiseInChild) secureDataDir(opts.dataDir); // files initdb just wrote
    return {
      ...db,
      async close() {
        await db.close();
        await lock.release();
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}
