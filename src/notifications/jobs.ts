import type { ScheduledJob } from '../scheduler/index.js';
import { generateUnderLock } from './generator.js';
import { purgeIdempotencyKeys } from './idempotency.js';
import type { EngineMetrics } from './metrics.js';
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
}): ScheduledJob[] {
  const calendar = createCalendar(deps.settings.timeZone);
  return [
    {
      name: 'generacion_diaria',
      get dailyAt() {
        return deps.getDailyRunAt?.() ?? deps.dailyRunAt;
      },
      async run(tx, { now }) {
        const report = await generateUnderLock(
          tx,
          (await deps.getSettings?.()) ?? deps.settings,
          { today: calendar.date(now), now },
          deps.metrics,
        );
        return { ...report };
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
  ];
}
