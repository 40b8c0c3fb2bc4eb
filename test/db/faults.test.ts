import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { createPostgresDb, type Db } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import type { Dispatcher } from '../../src/notifications/index.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import {
  countByState,
  nextChatId,
  seedClients,
  silent,
  startTestStandin,
  T0,
  testDispatcher,
} from '../notifications/support.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { createTestDb } from '../support/db.js';
import { type ProxyMode, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * Issue 12 §3: PostgreSQL faults driven through a TCP proxy in front of the real server. With the
 * database refused, stalled or silently dropped, requests answer 503 within 10 s, /ready goes red
 * within seconds and green again by itself, /health stays 200, and the dispatcher and scheduler
 * back off and then send/run what waited.
 */
const url = inject('postgresUrl');
const d = url ? describe : describe.skip;

const timeouts = { DATABASE_CONNECT_TIMEOUT_MS: '1000', DATABASE_STATEMENT_TIMEOUT_MS: '2000' };

d('PostgreSQL faults through a TCP proxy [postgres]', () => {
  let direct: Db & { schema?: string };
  let proxy: TcpProxy;
  let viaProxy: Db;
  let app: App;
  let standin: Standin;
  let dispatcher: Dispatcher;
  let scheduler: Scheduler;
  let runs = 0;
  const engineAbort = new AbortController();
  let running: Promise<void>;
  let runFailed: unknown;

  beforeAll(async () => {
    direct = await createTestDb('postgres');
    const target = new URL(url!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const config = testConfig(timeouts);
    viaProxy = await createPostgresDb(proxy.urlFor(url!), {
      schema: direct.schema,
      max: 4,
      ...config.database,
    });
    const clock = createManualClock(T0);
    const s = await startTestStandin();
    standin = s.standin;
    dispatcher = testDispatcher(viaProxy, s.sender, {
      clock,
      options: { idleMs: 50, maxDbBackoffMs: 500 },
    });
    scheduler = createScheduler({
      db: viaProxy,
      clock,
      logger: silent,
      timeZone: 'America/Guayaquil',
      retryMs: 100,
      checkEveryMs: 1000,
      jobs: [
        {
          name: 'prueba',
          dailyAt: '08:00',
          async run(tx) {
            runs++;
            await tx.query('SELECT 1');
            return {};
          },
        },
      ],
    });
    app = await buildApi({
      db: viaProxy,
      config,
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    });
    await app.ready();
    running = dispatcher.run(engineAbort.signal).catch((err) => {
      runFailed = err;
    });
  });

  afterAll(async () => {
    await proxy?.mode('pass');
    await scheduler?.stop();
    await dispatcher?.stop({ drainMs: 2000 });
    engineAbort.abort();
    await running;
    await app?.close();
    await viaProxy?.close();
    await proxy?.close();
    await standin?.close();
    await direct?.close();
  });

  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const t = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - t };
  }

  async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<number> {
    const t = performance.now();
    while (!(await cond())) {
      if (performance.now() - t > ms) throw new Error(`timeout: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return performance.now() - t;
  }

  const ready = async () => (await app.inject({ method: 'GET', url: '/ready' })).statusCode;

  async function queue(n: number): Promise<number[]> {
    const ids = await seedClients(
      direct,
      Array.from({ length: n }, () => ({ chatId: nextChatId() })),
    );
    await direct.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento)
       SELECT id, 'manual', 'Aviso de prueba', $2 FROM unnest($1::int[]) AS id`,
      [ids, new Date(T0)],
    );
    return ids;
  }

  it('works through the proxy when nothing fails', async () => {
    expect(await ready()).toBe(200);
    const ids = await queue(3);
    await until(
      async () => (await countByState(direct, 'client_id = ANY($1)', [ids])).enviado === 3,
      10_000,
      'first sends',
    );
  });

  for (const fault of ['refuse', 'stall', 'drop'] as ProxyMode[]) {
    it(`${fault}: 503 within 10 s, /ready red then green, the queue resumes`, async () => {
      await proxy.mode(fault);
      const ids = await queue(5); // queued while the service cannot see the database

      const list = await timed(() => app.inject({ method: 'GET', url: '/api/clientes', headers: auth }));
      expect(list.value.statusCode).toBe(503);
      expect(list.value.json().error.code).toBe('BASE_DE_DATOS_NO_DISPONIBLE');
      expect(list.ms).toBeLessThan(10_000);

      const write = await timed(() =>
        app.inject({
          method: 'POST',
          url: '/api/clientes',
          headers: auth,
          payload: { cedula: '1710034065', nombre: 'Durante la falla' },
        }),
      );
      expect(write.value.statusCode).toBe(503);
      expect(write.ms).toBeLessThan(10_000);

      const red = await timed(ready);
      expect(red.value).toBe(503);
      expect(red.ms).toBeLessThan(5000);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);

      // The scheduler fails fast and says so; nothing recorded.
      const reports = await timed(() => scheduler.runOnce());
      expect(reports.value.map((r) => r.resultado)).toEqual(['error']);
      expect(reports.ms).toBeLessThan(10_000);

      await proxy.mode('pass');
      const back = await until(async () => (await ready()) === 200, 15_000, '/ready green again');
      expect(back).toBeLessThan(15_000);
      await until(
        async () => (await countByState(direct, 'client_id = ANY($1)', [ids])).enviado === 5,
        20_000,
        'queued notices sent after the fault',
      );
      expect(runFailed).toBeUndefined();
      expect(dispatcher.state).not.toBe('detenido');
      expect((await app.inject({ method: 'GET', url: '/api/clientes', headers: auth })).statusCode).toBe(200);
    }, 60_000);
  }

  it('the scheduler runs the slot it missed once the database is back (it backs off, no tight loop)', async () => {
    await direct.query('DELETE FROM job_runs');
    runs = 0;
    await proxy.mode('refuse');
    scheduler.start();
    await new Promise((r) => setTimeout(r, 1500));
    expect(runs).toBe(0);
    await proxy.mode('pass');
    const recorded = async () =>
      (await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_runs`)).rows[0]!.n;
    await until(async () => (await recorded()) === 1, 10_000, 'scheduled job after the fault');
    expect(runs).toBe(1);
    await scheduler.stop();
  }, 30_000);
});
