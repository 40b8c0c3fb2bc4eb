/**
 * `npm run bench`: runs every benchmark in sequence and prints figures (not pass/fail tests).
 * Pass names to run only some: `npm run bench -- startup webhook`. Flags (`--million`,
 * `--all-dbs`) are read by the benchmarks themselves.
 */
import { benchStartup } from './startup.js';

const benches: Record<string, () => Promise<void>> = {
  startup: benchStartup,
  generacion: async () => (await import('./engine-generation.js')).run(),
  memoria: async () => (await import('./memory.js')).run(),
  reclamo: async () => (await import('./engine-claim.js')).run(),
  despacho: async () => (await import('./engine-dispatch.js')).run(),
  simulacro: async () => (await import('./engine-crash.js')).run(),
  webhook: async () => (await import('./webhook.js')).benchWebhook(),
  admin: async () => (await import('./admin.js')).run(),
  exportar: async () => (await import('./export.js')).run(),
  listas: async () => (await import('./lists.js')).run(),
  whatsapp: async () => (await import('./whatsapp.js')).run(),
  fallback: async () => (await import('./fallback.js')).run(),
};

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const unknown = only.filter((n) => !(n in benches));
if (unknown.length) {
  console.error(`Benchmark desconocido: ${unknown.join(', ')}. Hay: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n== ${name} ==`);
  await run();
}
