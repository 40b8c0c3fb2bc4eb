import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import {
  acquireDataDirLock,
  createPgliteDb,
  createPostgresDb,
  type Db,
  migrate,
  type Queryable,
} from '../db/index.js';
import { detectBackupFormat } from './files.js';
import { libpqEnv, runPgTool } from './pg-tools.js';
import { forgetRunningBackups } from './records.js';

/** A restore refused before anything changed (not empty, wrong kind of file…). */
export class RestoreRefusedError extends Error {
  override name = 'RestoreRefusedError';
}

/** Tables whose rows are the provider's data: any row means "not empty". */
const DATA_TABLES = ['clients', 'payments', 'plans', 'notifications', 'campaigns', 'bot_chats'];

/** The tables (of DATA_TABLES) that hold rows in `q`'s schema. */
export async function tablesWithData(q: Queryable): Promise<string[]> {
  const found: string[] = [];
  for (const t of DATA_TABLES) {
    const { rows } = await q.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [t]);
    if (!rows[0]?.r) continue;
    const any = await q.query(`SELECT 1 FROM ${t} LIMIT 1`);
    if (any.rows.length > 0) found.push(t);
  }
  return found;
}

function refuseNotEmpty(where: string, tables: string[]): never {
  throw new RestoreRefusedError(
    `La base de datos de destino (${where}) no está vacía: tiene datos en ${tables.join(', ')}. ` +
      'Restaurar la reemplazaría. Use una base vacía (otro DATA_DIR, u otra base en DATABASE_URL) ' +
      'o mueva la actual a otro lugar antes de restaurar.',
  );
}

export interface RestoreResult {
  format: 'pglite' | 'postgres';
  /** Migrations applied after loading (a backup of an older release is brought up to date). */
  migrationsApplied: number[];
}

/**
 * Restores `file` into an EMPTY database: DATA_DIR (PGlite, with the service stopped) or
 * DATABASE_URL (PostgreSQL, with `pg_restore`). Refuses a database with data, and a file of the
 * other kind, before changing anything. Then migrates, so an older release's backup is current.
 */
export async function restoreBackup(opts: {
  file: string;
  dataDir: string;
  databaseUrl?: string;
}): Promise<RestoreResult> {
  if (!existsSync(opts.file)) throw new RestoreRefusedError(`No existe el archivo ${opts.file}.`);
  const format = await detectBackupFormat(opts.file);
  if (!format) {
    throw new RestoreRefusedError(
      `${opts.file} no es un respaldo de TelTec (ni de la base embebida ni de pg_dump en formato custom).`,
    );
  }
  if (format === 'postgres' && !opts.databaseUrl) {
    throw new RestoreRefusedError(
      'Es un respaldo de PostgreSQL (pg_dump): defina DATABASE_URL con la base vacía donde restaurarlo.',
    );
  }
  if (format === 'pglite' && opts.databaseUrl) {
    throw new RestoreRefusedError(
      'Es un respaldo de la base embebida (PGlite): quite DATABASE_URL para restaurarlo en DATA_DIR.',
    );
  }
  const applied =
    format === 'pglite'
      ? await restorePglite(opts.file, opts.dataDir)
      : await restorePostgres(opts.file, opts.databaseUrl!);
  return { format, migrationsApplied: applied };
}

async function finish(db: Db): Promise<number[]> {
  try {
    const applied = await migrate(db);
    await forgetRunningBackups(db);
    return applied;
  } finally {
    await db.close();
  }
}

async function restorePglite(file: string, dataDir: string): Promise<number[]> {
  // Throws DataDirLockedError (with what to do) while the service runs on this folder.
  const lock = await acquireDataDirLock(dataDir);
  try {
    const target = path.join(dataDir, 'pglite');
    if (existsSync(target) && readdirSync(target).length > 0) {
      const current = await createPgliteDb(target);
      const tables = await tablesWithData(current).finally(() => current.close());
      if (tables.length > 0) refuseNotEmpty(target, tables);
      // Empty (perhaps migrated): nothing to keep.
      await rm(target, { recursive: true, force: true });
    }
    const loaded = await PGlite.create(target, { loadDataDir: new Blob([await readFile(file)]) });
    await loaded.close();
    return await finish(await createPgliteDb(target));
  } finally {
    await lock.release();
  }
}

async function restorePostgres(file: string, databaseUrl: string): Promise<number[]> {
  const db = await createPostgresDb(databaseUrl, { max: 1 });
  try {
    const tables = await tablesWithData(db);
    if (tables.length > 0) refuseNotEmpty('DATABASE_URL', tables);
    const { rows } = await db.query<{ schema: string; migrated: string | null }>(
      `SELECT current_schema() AS schema, to_regclass('schema_migrations')::text AS migrated`,
    );
    if (rows[0]?.migrated) {
      // Migrated but empty: the backup brings its own structure (possibly of an older release).
      if (rows[0].schema !== 'public') {
        throw new RestoreRefusedError(
          'Restaurar en PostgreSQL requiere el esquema public (el de DATABASE_URL).',
        );
      }
      await db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    }
  } finally {
    await db.close();
  }
  const database = libpqEnv(databaseUrl).PGDATABASE ?? 'postgres';
  await runPgTool(
    'pg_restore',
    [
      '--no-owner',
      '--no-privileges',
      '--single-transaction',
      '--exit-on-error',
      `--dbname=${database}`,
      file,
    ],
    databaseUrl,
  );
  return finish(await createPostgresDb(databaseUrl, { max: 1 }));
}
