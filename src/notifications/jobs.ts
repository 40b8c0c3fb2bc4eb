import type { Db, Queryable } from '../db/index.js';
import type { ScheduledJob } from '../scheduler/index.js';
import { generateUnderLock } from './generator.js';
import { purgeIdempotencyKeys } from './idempotency.js';
import { HOT_TABLES, vacuumHotTables } from './maintenance.js';
import type { EngineMetrics } from './metrics.js';
import { clearExpiredUnreachable, purgeParkedStatuses } from './outbox.js';
import type { EngineSettings } from './types.js';
import { createCalendar } from './window.js';

/** The engine's scheduled jobs: daily generation of payment notices, and housekeeping. */
export function engineJobs(deps: {
  settings: EngineSettings;
  dailyRunAt: string;
  /** Ajustes (issue 14): settings and daily hour in effect, read per run (no restart needed). */
  getSettings?: () => Promise<EngineSettings>;
  getDailyRunAt?: () => string;
  metrics?: EngineMetrics;
  /** The database: on PGlite (no autovacuum) a nightly job vacuums the hot tables. */
  db?: Db;
  /** Where a failed vacuum is reported (it runs after the job's transaction commits). */
  onVacuumError?: (err: unknown) => void;
  /**
   * Runs in the daily generation's transaction before the rules (issue 13: promises to pay are
   * settled, so a broken one's notice and the generator's agree). Its report joins the run's.
   */
  beforeGeneration?: (
    tx: Queryable,
    settings: EngineSettings,
    at: { today: string; now: Date },
  ) => Promise<Record<string, unknown>>;
}): ScheduledJob[] {
  const calendar = createCalendar(deps.settings.timeZone);
  return [
    {
      name: 'generacion_diaria',
      get dailyAt() {
        return deps.getDailyRunAt?.() ?? deps.dailyRunAt;
      },
      async run(tx, { now }) {
        const settings = (await deps.getSettings?.()) ?? deps.settings;
        const at = { today: calendar.date(now), now };
        const before = deps.beforeGeneration ? await deps.beforeGeneration(tx, settings, at) : {};
        const report = await generateUnderLock(tx, settings, at, deps.metrics);
        return { ...before, ...report };
      },
    },
    {
      name: 'limpieza_idempotencia',
      dailyAt: '03:00',
      internal: true,
      async run(tx, { now }) {
        return { borradas: await purgeIdempotencyKeys(tx, now) };
      },
    },
    {
      // Channels (issue 10): delivery statuses about messages never known (7 days, as Meta
      // redelivers), and unreachable marks that expired (WhatsApp: 30 days).
      name: 'limpieza_canales',
      dailyAt: '03:10',
      internal: true,
      async run(tx, { now }) {
        return {
          estados_descartados: await purgeParkedStatuses(tx, new Date(now.getTime() - 7 * 86_400_000)),
          marcas_vencidas: await clearExpiredUnreachable(tx, now),
        };
      },
    },
    {
      name: 'vacuum_pglite',
      dailyAt: '03:30',
      internal: true,
      async run() {
        const db = deps.db;
        if (db?.kind !== 'pglite') return { omitido: 'PostgreSQL: autovacuum' };
        // VACUUM cannot run in the job's transaction. PGlite queues this statement behind the
        // transaction, so it runs right after the run is recorded.
        void vacuumHotTables(db).catch((err) => deps.onVacuumError?.(err));
        return { tablas: [...HOT_TABLES] };
      },
    },
  ];
}
