import { createManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { generatePaymentNotices, toEngineSettings } from '../src/notifications/index.js';
import {
  benchDb,
  fmt,
  hasFlag,
  heading,
  line,
  postgresAvailable,
  seedManyClients,
} from './engine-support.js';

/**
 * Generation of payment notices for 100,000 (and, with --million, 1,000,000) clients, on PGlite and
 * PostgreSQL: the first run (creates the day's notices), and a re-run that creates nothing.
 * Targets: 1,000,000 clients ≤ 20 s on PostgreSQL, ≤ 30 s on PGlite; re-run ≤ 5 s.
 */
export async function run(): Promise<void> {
  heading('Generación de avisos de pago (SQL por conjuntos)');
  const sizes = hasFlag('--million') ? [100_000, 1_000_000] : [100_000];
  const kinds: ('pglite' | 'postgres')[] = ['postgres', 'pglite'];
  if (!(await postgresAvailable())) kinds.shift();
  const settings = toEngineSettings(parseConfig({}));
  const clock = createManualClock('2026-03-10T13:00:00Z');
  for (const kind of kinds) {
    for (const n of sizes) {
      const db = await benchDb(kind);
      try {
        let t = performance.now();
        await seedManyClients(db, n);
        const seedMs = performance.now() - t;
        t = performance.now();
        const first = await generatePaymentNotices(db, settings, { today: '2026-03-10', now: clock.now() });
        const firstMs = performance.now() - t;
        t = performance.now();
        const again = await generatePaymentNotices(db, settings, { today: '2026-03-10', now: clock.now() });
        const againMs = performance.now() - t;
        line(`${kind} ${fmt(n)} clientes: carga de datos`, `${fmt(seedMs / 1000, 1)} s`);
        line(
          `${kind} ${fmt(n)} clientes: generación (${fmt(first.total_creadas)} avisos)`,
          `${fmt(firstMs / 1000, 2)} s`,
        );
        line(
          `${kind} ${fmt(n)} clientes: repetición (crea ${again.total_creadas})`,
          `${fmt(againMs / 1000, 2)} s`,
        );
      } finally {
        await db.close();
      }
    }
  }
  if (!hasFlag('--million')) console.log('  (1.000.000 clientes: npm run bench -- --million)');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
