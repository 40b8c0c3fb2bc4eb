import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Cron } from 'croner';
import type { Clock } from '../clock.js';
import type { Db, Queryable } from '../db/index.js';
import type { Logger } from '../logger.js';

/**
 * In-process scheduler for daily jobs (croner for the timing).
 *
 * A job's **slot** is one scheduled time (e.g. 2026-03-10 08:00 local). A slot runs once across
 * all instances: the run holds a transaction-scoped advisory lock for the job and records
 * (job, slot) in `job_runs` in the same transaction as the job's own work, so a crash mid-run
 * leaves nothing recorded and the slot runs again. After downtime the latest missed slot runs at
 * start (catch-up); older missed slots are not replayed: jobs here compute the current truth.
 */

export interface ScheduledJob {
  name: string;
  /** Every day at this local time, 'HH:MM'. */
  dailyAt: string;
  /** Housekeeping the office never acts on: not listed to staff (the admin page's "próximas ejecuciones"). */
  internal?: boolean;
  /** The work, in the transaction that records the run. Returns details for job_runs. */
  run(tx: Queryable, ctx: { slot: Date; now: Date }): Promise<Record<string, unknown> | undefined>;
}

export interface SchedulerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  timeZone: string;
  jobs: ScheduledJob[];
  instance?: string;
  /** Besides the cron ticks, look for a due slot this often (default 10 min; catches clock jumps). */
  checkEveryMs?: number;
  /** After a failed run, try again after this long, doubling up to `checkEveryMs` (default 5 s). */
  retryMs?: number;
  /** Statement time limit of a job's transaction on PostgreSQL (default 10 min: long work). */
  jobTimeoutMs?: number;
}

export type JobOutcome = 'ejecutado' | 'ya_ejecutado' | 'en_otra_instancia' | 'error';

export interface JobRunReport {
  job: string;
  slot: string;
  resultado: JobOutcome;
  detalle?: Record<string, unknown>;
}

export interface Scheduler {
  /** Runs every job whose latest slot (at the clock's now) has not run yet. */
  runOnce(): Promise<JobRunReport[]>;
  /** Catch-up now, then on schedule until `stop()` or the signal aborts. */
  start(signal?: AbortSignal): void;
  stop(): Promise<void>;
}

function cronPattern(hhmm: string): string {
  const [h, m] = hhmm.split(':').map(Number);
  return `${m} ${h} * * *`;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const instance = deps.instance ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = deps.logger.child({ componente: 'scheduler' });
  const crons: Cron[] = [];
  let interval: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  let current: Promise<unknown> = Promise.resolve();
  let stopped = false;

  function latestSlot(job: ScheduledJob, now: Date): Date | undefined {
    const c = new Cron(cronPattern(job.dailyAt), { timezone: deps.timeZone, paused: true });
    // previousRuns is exclusive of the reference: a run at exactly 08:00:00.000 is that slot.
    return c.previousRuns(1, new Date(now.getTime() + 1))[0];
  }

  async function runJob(job: ScheduledJob): Promise<JobRunReport | undefined> {
    const now = deps.clock.now();
    const slot = latestSlot(job, now);
    if (!slot) return undefined;
    const key = slot.toISOString();
    try {
      return await deps.db.transaction(
        async (tx) => {
          const lock = await tx.query<{ got: boolean }>(
            `SELECT pg_try_advisory_xact_lock(hashtext('teltec:job:' || current_schema() || ':' || $1)) AS got`,
            [job.name],
          );
          if (!lock.rows[0]?.got)
            return { job: job.name, slot: key, resultado: 'en_otra_instancia' as const };
          const done = await tx.query('SELECT 1 FROM job_runs WHERE job = $1 AND slot = $2', [job.name, key]);
          if (done.rows.length > 0) return { job: job.name, slot: key, resultado: 'ya_ejecutado' as const };
          const detalle = (await job.run(tx, { slot, now })) ?? {};
          await tx.query(
            `INSERT INTO job_runs (job, slot, instance, started_at, finished_at, resultado)
           VALUES ($1, $2, $3, $4, $5, $6)`,
            [job.name, key, instance, now, deps.clock.now(), JSON.stringify(detalle)],
          );
          log.info({ job: job.name, slot: key, detalle }, `tarea programada ejecutada: ${job.name}`);
          return { job: job.name, slot: key, resultado: 'ejecutado' as const, detalle };
        },
        { timeoutMs: deps.jobTimeoutMs ?? 600_000 },
      );
    } catch (err) {
      log.error({ err, job: job.name, slot: key }, `la tarea programada ${job.name} falló; se reintentará`);
      return { job: job.name, slot: key, resultado: 'error' };
    }
  }

  async function runOnce(): Promise<JobRunReport[]> {
    const reports: JobRunReport[] = [];
    for (const job of deps.jobs) {
      const r = await runJob(job);
      if (r) reports.push(r);
    }
    return reports;
  }

  /** One run at a time inside this process. */
  const queueRun = () => {
    if (stopped) return current;
    current = current
      .then(runOnce)
      .then((reports) => scheduleRetry(reports.some((r) => r.resultado === 'error')))
      .catch(() => undefined);
    return current;
  };

  /** A failed run (database down) is tried again soon, backing off, not at the next tick. */
  function scheduleRetry(failed: boolean): void {
    if (!failed) {
      failures = 0;
      return;
    }
    failures++;
    if (stopped || retry) return;
    const everyMs = deps.checkEveryMs ?? 600_000;
    const waitMs = Math.min(everyMs, (deps.retryMs ?? 5000) * 2 ** Math.min(failures - 1, 20));
    retry = setTimeout(() => {
      retry = undefined;
      void queueRun();
    }, waitMs);
    retry.unref();
  }

  return {
    runOnce,
    start(signal) {
      stopped = false;
      void queueRun();
      for (const job of deps.jobs) {
        crons.push(
          new Cron(cronPattern(job.dailyAt), { timezone: deps.timeZone, protect: true }, () => {
            void queueRun();
          }),
        );
      }
      interval = setInterval(() => void queueRun(), deps.checkEveryMs ?? 600_000);
      interval.unref();
      signal?.addEventListener('abort', () => void this.stop(), { once: true });
      log.info(
        { tareas: deps.jobs.map((j) => `${j.name} ${j.dailyAt}`), zona: deps.timeZone },
        'planificador iniciado',
      );
    },
    async stop() {
      stopped = true;
      for (const c of crons.splice(0)) c.stop();
      if (interval) clearInterval(interval);
      interval = undefined;
      if (retry) clearTimeout(retry);
      retry = undefined;
      await current;
    },
  };
}
