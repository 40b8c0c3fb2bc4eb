import { pino } from 'pino';
import { createManualClock } from '../src/clock.js';
import { migrate } from '../src/db/index.js';
import { buildApi } from '../src/http/app.js';
import { TEST_ADMIN_TOKEN, testConfig } from '../test/support/app.js';
import { benchDb, fmt, heading, line, postgresAvailable, seedManyClients } from './engine-support.js';

const N = 100_000;
const NOW = '2026-03-10T15:00:00Z';

/**
 * `npm run bench -- exportar`: the clients CSV export of 100,000 clients over real HTTP, and
 * /health's worst latency while it runs (polled every 10 ms). Goals (issue 16 §2): ≤ 3 s for
 * 100,000 clients and /health within 100 ms throughout.
 */
export async function run(): Promise<void> {
  heading(`Exportación CSV de ${fmt(N)} clientes (meta: ≤ 3 s; /health ≤ 100 ms durante la exportación)`);
  const kinds: ('pglite' | 'postgres')[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];
  const only = process.argv.find((a) => a.startsWith('--db='))?.slice('--db='.length);
  if (only === 'pglite' || only === 'postgres') kinds.splice(0, kinds.length, only);
  for (const kind of kinds) {
    const db = await benchDb(kind);
    try {
      await migrate(db);
      await seedManyClients(db, N);
      const app = await buildApi({
        db,
        config: testConfig(),
        logger: pino({ level: 'silent' }),
        clock: createManualClock(NOW),
        adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      try {
        // This process's own HTTP client (fetch) loads on its first request: one /health before the
        // clock starts, so the worst latency below is the service's, not the client's start-up.
        await fetch(`${base}/health`).then((r) => r.arrayBuffer());
        const rss0 = process.memoryUsage().rss;
        let worst = 0;
        let answers = 0;
        let done = false;
        const poll = (async () => {
          while (!done) {
            const t = performance.now();
            await fetch(`${base}/health`).then((r) => r.arrayBuffer());
            worst = Math.max(worst, performance.now() - t);
            answers++;
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const res = await fetch(`${base}/api/clientes/exportar`, {
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        });
        let bytes = 0;
        let firstByte = 0;
        let peakRss = rss0;
        const reader = res.body!.getReader();
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          if (!firstByte) firstByte = performance.now() - t0;
          bytes += value.byteLength;
          peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
        const total = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        done = true;
        await poll;
        line(
          `${kind}: tiempo total`,
          `${fmt(total / 1000, 2)} s (meta ≤ 3 s; ${fmt(total / 3000, 2)}× la meta)`,
        );
        // PGlite, the server and this client share the process: its CPU time is the export's work,
        // whatever else the machine runs (on PostgreSQL the database's own time is not in it).
        line(`${kind}: tiempo de CPU del proceso`, `${fmt((cpu.user + cpu.system) / 1e6, 2)} s`);
        line(`${kind}: primer byte`, `${fmt(firstByte)} ms`);
        line(`${kind}: tamaño`, `${fmt(bytes / 1e6, 1)} MB`);
        line(
          `${kind}: /health peor latencia`,
          `${fmt(worst, 1)} ms en ${answers} respuestas (meta ≤ 100 ms)`,
        );
        line(`${kind}: memoria (RSS) durante la exportación`, `+${fmt((peakRss - rss0) / 1e6)} MB`);
      } finally {
        await app.close();
      }
    } finally {
      await db.close();
    }
  }
}
