import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/index.js';
import type { BackupFormat } from './files.js';
import { runPgTool } from './pg-tools.js';

export function backupFormatOf(db: Db): BackupFormat {
  return db.kind === 'pglite' ? 'pglite' : 'postgres';
}

/**
 * Writes a consistent backup of `db` to `file`: PGlite dumps its folder while no statement runs;
 * PostgreSQL uses `pg_dump` (one snapshot). The file appears only when complete (temp + rename),
 * so a crash never leaves a half backup under the final name.
 */
export async function writeBackupFile(
  db: Db,
  opts: { databaseUrl?: string },
  file: string,
): Promise<{ format: BackupFormat; bytes: number }> {
  const format = backupFormatOf(db);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.parcial`;
  try {
    if (format === 'pglite') {
      if (!db.writeDataDir && !db.dumpDataDir)
        throw new Error('esta base embebida no permite copiar su carpeta');
      // Flush the WAL into the data files so the copy restores without replaying it.
      await db.exec('CHECKPOINT');
      if (db.writeDataDir) {
        await db.writeDataDir(tmp); // streamed from the folder: flat memory
      } else {
        const blob = await db.dumpDataDir!(); // in memory (a database without a folder)
        await writeFile(tmp, Buffer.from(await blob.arrayBuffer()), { mode: 0o600 });
      }
    } else {
      if (!opts.databaseUrl) throw new Error('falta DATABASE_URL para pg_dump');
      await runPgTool(
        'pg_dump',
        ['--format=custom', '--no-owner', '--no-privileges', `--file=${tmp}`],
        opts.databaseUrl,
      );
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { format, bytes: (await stat(file)).size };
}
