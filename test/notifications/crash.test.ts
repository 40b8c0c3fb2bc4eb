import { expect, inject, it } from 'vitest';
import { runCrashDrill } from './drill.js';

// A real service process, killed with SIGKILL twice in the middle of a campaign, on each database.
// The 10,000-message version with more kills runs in the benchmark (npm run bench).
for (const kind of ['pglite', 'postgres'] as const) {
  const url = inject('postgresUrl');
  const run = kind === 'postgres' && !url ? it.skip : it;
  run(
    `kill -9 mid-campaign and restart [${kind}]: nothing lost, duplicates only from sends in flight`,
    async () => {
      const r = await runCrashDrill({
        kind,
        messages: 1500,
        kills: 2,
        concurrency: 8,
        postgresUrl: url ?? undefined,
        leaseSeconds: 5,
      });
      expect(r.states).toEqual({ enviado: 1500 });
      expect(r.claimedLeft).toBe(0);
      expect(r.duplicates).toBeLessThanOrEqual(r.allowedDuplicates);
      for (const ms of r.resumeMs) expect(ms).toBeLessThan(60_000);
      expect(r.lastExitCode).toBe(0);
    },
    90_000,
  );
}
