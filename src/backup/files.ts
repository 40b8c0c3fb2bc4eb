import { open, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Backup files. Two formats, told apart by their first bytes:
 * - `pglite`: its data folder as a gzip'd tar in the layout of PGlite's own dump (written by
 *   `writeDataDir`, streamed), restored with `loadDataDir`;
 * - `postgres`: `pg_dump --format=custom` ("PGDMP…"), restored with `pg_restore`.
 */
export type BackupFormat = 'pglite' | 'postgres';

const EXTENSION: Record<BackupFormat, string> = { pglite: 'pglite.tar.gz', postgres: 'pgdump' };
const NAME = /^teltec-respaldo-\d{8}-\d{6}\.(pglite\.tar\.gz|pgdump)$/;

/** 'teltec-respaldo-20260310-150000.pgdump' (UTC: names sort in time order). */
export function backupFileName(format: BackupFormat, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `teltec-respaldo-${stamp}.${EXTENSION[format]}`;
}

export async function detectBackupFormat(file: string): Promise<BackupFormat | null> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(5);
    const { bytesRead } = await fh.read(head, 0, 5, 0);
    if (bytesRead >= 5 && head.toString('latin1') === 'PGDMP') return 'postgres';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'pglite';
    return null;
  } finally {
    await fh.close();
  }
}

/** Keeps the newest `keep` backup files in `dir` (only files named by `backupFileName`). */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => NAME.test(n)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep));
  for (const n of old) await unlink(path.join(dir, n));
  return old;
}
