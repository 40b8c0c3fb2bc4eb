/**
 * `npm run bench`: runs every benchmark in sequence and prints figures (not pass/fail tests).
 * Pass names to run only some: `npm run bench -- startup`.
 */
import { benchStartup } from './startup.js';

const benches: Record<string, () => Promise<void>> = {
  startup: benchStartup,
  webhook: async () => (await import('./webhook.js')).benchWebhook(),
};

const only = process.argv.slice(2);
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
