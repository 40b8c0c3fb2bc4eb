/**
 * `npm run bench`: runs every benchmark in sequence and prints figures (not pass/fail tests).
 * Pass names to run only some: `npm run bench -- startup webhook`. Flags (`--million`,
 * `--all-dbs`) are read by the benchmarks themselves.
 * With more than one to run, each runs in a process of its own: in one process a bench measured
 * the heap the previous ones left (the export's worst /health, 122 ms after the admin page's
 * Chromium and a dozen closed PGlite instances, against 11–42 ms in six runs on its own).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
const chosen = Object.entries(benches).filter(([name]) => !only.length || only.includes(name));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
for (const [name, run] of chosen) {
  // A child's heading is its parent's.
  if (!process.env.TELTEC_BENCH_CHILD) console.log(`\n== ${name} ==`);
  if (chosen.length === 1) {
    await run();
    continue;
  }
  // The same Node.js with the same loader (tsx), this script, one bench and the flags.
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), name, ...flags],
    { stdio: 'inherit', env: { ...process.env, TELTEC_BENCH_CHILD: '1' } },
  );
  if (child.status !== 0) {
    console.error(`Benchmark ${name}: terminó con ${child.status ?? child.signal}`);
    process.exit(child.status || 1);
  }
}
