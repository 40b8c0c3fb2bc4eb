import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  backupFileName,
  RestoreRefusedError,
  recordManualBackup,
  restoreBackup,
  writeBackupFile,
} from '../backup/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { DataDirLockedError, type Db, migrate, openDatabase } from '../db/index.js';
import { type Diagnosis, formatDiagnosis, runDiagnosis } from '../diagnosis/index.js';
import { askService, ServiceUnreachableError } from './service-client.js';

/**
 * Operations commands of the CLI (issue 15): `respaldo`, `restaurar`, `diagnostico`. They run
 * before the CLI opens the database, because with the service running on PGlite the folder is
 * locked: then they ask the service over HTTP instead.
 */
export const OPS_COMMANDS = ['respaldo', 'restaurar', 'diagnostico'] as const;
export type OpsCommand = (typeof OPS_COMMANDS)[number];

export const opsUsage = `  respaldo [archivo]      guarda un respaldo completo (también con el servicio en marcha)
  restaurar <archivo>     restaura un respaldo en una base de datos vacía
  diagnostico             revisa base de datos, Telegram, reloj, disco, respaldos y ventana de envío`;

export function isOpsCommand(command: string): command is OpsCommand {
  return (OPS_COMMANDS as readonly string[]).includes(command);
}

export interface OpsContext {
  config: Config;
  out: (line: string) => void;
  clock: Clock;
}

export async function runOpsCommand(command: OpsCommand, args: string[], ctx: OpsContext): Promise<number> {
  try {
    switch (command) {
      case 'respaldo':
        return await backupCommand(args[0], ctx);
      case 'restaurar':
        return await restoreCommand(args[0], ctx);
      case 'diagnostico':
        return await diagnosisCommand(ctx);
    }
  } catch (err) {
    if (err instanceof ServiceUnreachableError || err instanceof RestoreRefusedError) {
      ctx.out(err.message);
      return 1;
    }
    throw err;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Opens the database, or null when the running service holds the embedded one. */
async function openUnlessServiceHoldsIt(config: Config): Promise<Db | null> {
  try {
    return await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (err) {
    if (err instanceof DataDirLockedError) return null;
    throw err;
  }
}

async function backupCommand(
  target: string | undefined,
  { config, out, clock }: OpsContext,
): Promise<number> {
  const started = clock.now();
  const file = path.resolve(target ?? backupFileName(config.databaseUrl ? 'postgres' : 'pglite', started));
  const db = await openUnlessServiceHoldsIt(config);
  if (!db) {
    const res = await askService(config, '/api/respaldo');
    const tmp = `${file}.${process.pid}.parcial`;
    try {
      await pipeline(
        Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
        createWriteStream(tmp, { mode: 0o600 }),
      );
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const { size } = await stat(file);
    out(`Respaldo guardado en ${file} (${formatBytes(size)}), pedido al servicio en marcha.`);
    return 0;
  }
  try {
    await migrate(db);
    try {
      const { bytes } = await writeBackupFile(db, { databaseUrl: config.databaseUrl }, file);
      await recordManualBackup(db, {
        status: 'ok',
        file,
        bytes,
        startedAt: started,
        finishedAt: clock.now(),
      });
      out(`Respaldo guardado en ${file} (${formatBytes(bytes)}).`);
      return 0;
    } catch (err) {
      const error = (err as Error).message;
      await recordManualBackup(db, { status: 'failed', error, startedAt: started, finishedAt: clock.now() });
      out(`No se pudo crear el respaldo: ${error}`);
      return 1;
    }
  } finally {
    await db.close();
  }
}

async function restoreCommand(file: string | undefined, { config, out }: OpsContext): Promise<number> {
  if (!file) {
    out('Indique el archivo del respaldo: teltec restaurar teltec-respaldo-….pglite.tar.gz');
    return 2;
  }
  let result: Awaited<ReturnType<typeof restoreBackup>>;
  try {
    result = await restoreBackup({
      file: path.resolve(file),
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
    });
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      out(
        `El servicio está usando ${config.dataDir}: deténgalo antes de restaurar ` +
          '(por ejemplo "sudo systemctl stop teltec"), o restaure en otro DATA_DIR vacío.',
      );
      return 1;
    }
    throw err;
  }
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const { rows } = await db.query<{ clientes: number; pagos: number; notificaciones: number }>(
      `SELECT (SELECT count(*) FROM clients)::int AS clientes, (SELECT count(*) FROM payments)::int AS pagos,
              (SELECT count(*) FROM notifications)::int AS notificaciones`,
    );
    const c = rows[0]!;
    out(
      `Respaldo restaurado (${result.format === 'pglite' ? 'base embebida' : 'PostgreSQL'}): ` +
        `${c.clientes} clientes, ${c.pagos} pagos, ${c.notificaciones} notificaciones.` +
        (result.migrationsApplied.length
          ? ` Migraciones aplicadas después: ${result.migrationsApplied.join(', ')}.`
          : ''),
    );
    return 0;
  } finally {
    await db.close();
  }
}

async function diagnosisCommand({ config, out, clock }: OpsContext): Promise<number> {
  let db: Db | null = null;
  let dbError: string | undefined;
  try {
    db = await openUnlessServiceHoldsIt(config);
  } catch (err) {
    dbError = (err as Error).message;
  }
  let diagnosis: Diagnosis;
  if (!db && !dbError) {
    // The running service holds the embedded database: it runs the same checks.
    diagnosis = (await (await askService(config, '/api/diagnostico')).json()) as Diagnosis;
    out(`(diagnóstico hecho por el servicio en marcha en ${config.host}:${config.port})`);
  } else {
    try {
      diagnosis = await runDiagnosis({ config, db, dbError, clock });
    } finally {
      await db?.close();
    }
  }
  for (const line of formatDiagnosis(diagnosis)) out(line);
  return diagnosis.correcto ? 0 : 1;
}
