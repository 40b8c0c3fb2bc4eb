import path from 'node:path';
import { Cron } from 'croner';
import { clearAlert, raiseAlert } from '../alerts/index.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { writeBackupFile } from './dump.js';
import { backupFileName, pruneBackups } from './files.js';
import { claimBackupSlot, finishBackup } from './records.js';

export interface BackupSchedulerDeps {
  db: Db;
  databaseUrl?: string;
  clock: Clock;
  logger: Logger;
  timeZone: string;
  /** Local time 'HH:MM'. */
  dailyAt: string;
  dir: string;
  keep: number;
  /** Besides the daily tick, look for a due slot this often (default 10 min). */
  checkEveryMs?: number;
  /** The catch-up check waits this long after start, so start-up stays fast (default 1 min). */
  firstCheckAfterMs?: number;
}

export interface BackupRunReport {
  slot: string;
  resultado: 'respaldado' | 'ya_ejecutado' | 'fallido';
  archivo?: string;
  bytes?: number;
  borrados?: string[];
  error?: string;
}

export interface BackupScheduler {
  /** Backs up once when today's slot (the latest one at the clock's now) has no backup yet. */
  runOnce(): Promise<BackupRunReport | undefined>;
  start(signal?: AbortSignal): void;
  stop(): Promise<void>;
}

/**
 * The daily backup. Not a job of the engine's scheduler: that one runs jobs inside a transaction,
 * and a PGlite dump needs the database to itself. A slot runs once across instances
 * (`claimBackupSlot`); a missed slot runs at start; a failed one is retried an hour later.
 */
export function createBackupScheduler(deps: BackupSchedulerDeps): BackupScheduler {
  const log = deps.logger.child({ componente: 'respaldos' });
  const [h, m] = deps.dailyAt.split(':').map(Number);
  const pattern = `${m} ${h} * * *`;
  let cron: Cron | undefined;
  let interval: NodeJS.Timeout | undefined;
  let first: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function runOnce(): Promise<BackupRunReport | undefined> {
    const now = deps.clock.now();
    const slot = new Cron(pattern, { timezone: deps.timeZone, paused: true }).previousRuns(
      1,
      new Date(now.getTime() + 1),
    )[0];
    if (!slot) return undefined;
    const id = await claimBackupSlot(deps.db, slot, now);
    if (id === null) return { slot: slot.toISOString(), resultado: 'ya_ejecutado' };
    const file = path.join(deps.dir, backupFileName(deps.db.kind === 'pglite' ? 'pglite' : 'postgres', now));
    try {
      const { bytes } = await writeBackupFile(deps.db, { databaseUrl: deps.databaseUrl }, file);
      const borrados = await pruneBackups(deps.dir, deps.keep);
      await finishBackup(deps.db, id, { status: 'ok', file, bytes, finishedAt: deps.clock.now() });
      log.info({ archivo: file, bytes, borrados }, `respaldo diario guardado en ${file}`);
      await clearAlert(deps.db, 'respaldo_fallido', deps.clock.now()).catch(() => {}); // staff alerts
      return { slot: slot.toISOString(), resultado: 'respaldado', archivo: file, bytes, borrados };
    } catch (err) {
      const error = (err as Error).message;
      await finishBackup(deps.db, id, { status: 'failed', error, finishedAt: deps.clock.now() }).catch(
        () => {},
      );
      log.error({ err }, `el respaldo diario falló: ${error}`);
      // Staff alerts (issue 15 §5): once per incident, cleared by the next good backup.
      await raiseAlert(
        deps.db,
        {
          clave: 'respaldo_fallido',
          titulo: 'El respaldo diario falló',
          detalle: `${error}. Revise BACKUP_DIR (espacio, permisos) o haga un respaldo con "npx teltec respaldo".`,
        },
        deps.clock.now(),
      ).catch(() => {});
      return { slot: slot.toISOString(), resultado: 'fallido', error };
    }
  }

  const queueRun = () => {
    if (stopped) return current;
    current = current.then(runOnce).catch((err) => log.error({ err }, 'respaldo diario: error inesperado'));
    return current;
  };

  return {
    runOnce,
    start(signal) {
      stopped = false;
      first = setTimeout(() => void queueRun(), deps.firstCheckAfterMs ?? 60_000);
      first.unref();
      cron = new Cron(pattern, { timezone: deps.timeZone, protect: true }, () => void queueRun());
      interval = setInterval(() => void queueRun(), deps.checkEveryMs ?? 600_000);
      interval.unref();
      signal?.addEventListener('abort', () => void this.stop(), { once: true });
      log.info(
        { hora: deps.dailyAt, carpeta: deps.dir, conservar: deps.keep },
        `respaldo diario a las ${deps.dailyAt} en ${deps.dir} (se conservan ${deps.keep})`,
      );
    },
    async stop() {
      stopped = true;
      cron?.stop();
      clearTimeout(first);
      if (interval) clearInterval(interval);
      interval = undefined;
      await current;
    },
  };
}
