import { beforeEach, expect, it, vi } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import { engineJobs, listenForQueued } from '../../src/notifications/index.js';
import { createScheduler, type ScheduledJob } from '../../src/scheduler/index.js';
import { describeEachDb, openSchema } from '../support/db.js';
import { countByState, nextChatId, seedClients, settingsFor, silent } from './support.js';

function countingJob(name = 'tarea', dailyAt = '08:00') {
  const runs: string[] = [];
  const job: ScheduledJob = {
    name,
    dailyAt,
    async run(_tx, { slot }) {
      runs.push(slot.toISOString());
      return { n: runs.length };
    },
  };
  return { job, runs };
}

describeEachDb('scheduler', (ctx) => {
  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE job_runs, notifications, clients RESTART IDENTITY CASCADE');
  });

  it('runs each daily slot once, catching up the latest one missed while down', async () => {
    // 07:30 in Guayaquil: the latest slot is yesterday's 08:00 (never run: catch-up).
    const clock = createManualClock('2026-03-10T12:30:00Z');
    const { job, runs } = countingJob();
    const s = createScheduler({
      db: ctx.db,
      clock,
      logger: silent,
      timeZone: 'America/Guayaquil',
      jobs: [job],
    });
    expect(await s.runOnce()).toEqual([
      { job: 'tarea', slot: '2026-03-09T13:00:00.000Z', resultado: 'ejecutado', detalle: { n: 1 } },
    ]);
    expect((await s.runOnce())[0]!.resultado).toBe('ya_ejecutado');
    clock.set('2026-03-10T13:00:00Z'); // 08:00 sharp
    expect((await s.runOnce())[0]).toMatchObject({
      slot: '2026-03-10T13:00:00.000Z',
      resultado: 'ejecutado',
    });
    // Down for three days: only the latest slot runs, once.
    clock.set('2026-03-13T20:00:00Z');
    expect((await s.runOnce())[0]).toMatchObject({
      slot: '2026-03-13T13:00:00.000Z',
      resultado: 'ejecutado',
    });
    expect((await s.runOnce())[0]!.resultado).toBe('ya_ejecutado');
    expect(runs).toEqual([
      '2026-03-09T13:00:00.000Z',
      '2026-03-10T13:00:00.000Z',
      '2026-03-13T13:00:00.000Z',
    ]);
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_runs');
    expect(rows[0]!.n).toBe(3);
  });

  it('a run that fails records nothing, so the slot runs again', async () => {
    const clock = createManualClock('2026-03-10T15:00:00Z');
    let fail = true;
    const job: ScheduledJob = {
      name: 'fragil',
      dailyAt: '08:00',
      async run(tx) {
        await tx.query(
          `INSERT INTO job_runs (job, slot, instance, started_at, finished_at) VALUES ('x', 'y', 'z', now(), now())`,
        );
        if (fail) throw new Error('se cayó a la mitad');
        return undefined;
      },
    };
    const s = createScheduler({
      db: ctx.db,
      clock,
      logger: silent,
      timeZone: 'America/Guayaquil',
      jobs: [job],
    });
    expect((await s.runOnce())[0]!.resultado).toBe('error');
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_runs');
    expect(rows[0]!.n).toBe(0); // the job's own writes rolled back with it
    fail = false;
    expect((await s.runOnce())[0]!.resultado).toBe('ejecutado');
  });

  it('with several instances each slot runs on one only', async () => {
    const clock = createManualClock('2026-03-10T15:00:00Z');
    const second: Db =
      ctx.kind === 'postgres' ? await openSchema((ctx.db as Db & { schema: string }).schema) : ctx.db;
    try {
      const slow: ScheduledJob = {
        name: 'lenta',
        dailyAt: '08:00',
        async run() {
          await new Promise((r) => setTimeout(r, 200));
          return undefined;
        },
      };
      const a = createScheduler({
        db: ctx.db,
        clock,
        logger: silent,
        timeZone: 'America/Guayaquil',
        jobs: [slow],
      });
      const b = createScheduler({
        db: second,
        clock,
        logger: silent,
        timeZone: 'America/Guayaquil',
        jobs: [slow],
      });
      const results = (await Promise.all([a.runOnce(), b.runOnce(), a.runOnce(), b.runOnce()])).flat();
      expect(results.filter((r) => r.resultado === 'ejecutado')).toHaveLength(1);
      expect(
        results.every((r) => ['ejecutado', 'ya_ejecutado', 'en_otra_instancia'].includes(r.resultado)),
      ).toBe(true);
    } finally {
      if (second !== ctx.db) await second.close();
    }
  });

  it('the daily generation job creates the day’s notices; start() catches up and stop() leaves nothing running', async () => {
    await seedClients(ctx.db, [{ chatId: nextChatId(), pago: '2026-02-13' }]);
    const clock = createManualClock('2026-03-10T15:00:00Z');
    let woken = 0;
    const unlisten = await listenForQueued(ctx.db, () => woken++);
    const s = createScheduler({
      db: ctx.db,
      clock,
      logger: silent,
      timeZone: 'America/Guayaquil',
      jobs: engineJobs({ settings: settingsFor(), dailyRunAt: '08:00' }),
    });
    s.start();
    await s.stop(); // waits for the catch-up run
    expect(await countByState(ctx.db)).toEqual({ pendiente: 1 });
    // The outbox woke the dispatchers (NOTIFY on commit), once.
    await vi.waitFor(() => expect(woken).toBe(1));
    await unlisten();
    const { rows } = await ctx.db.query<{ job: string; resultado: { total_creadas?: number } }>(
      'SELECT job, resultado FROM job_runs ORDER BY job',
    );
    expect(rows.map((r) => r.job)).toEqual([
      'generacion_diaria',
      'limpieza_canales',
      'limpieza_idempotencia',
      'vacuum_pglite',
    ]);
    expect(rows[0]!.resultado.total_creadas).toBe(1);
  });

  it('on PGlite (no autovacuum) the nightly job vacuums the hot tables after its run is recorded', async () => {
    const [id] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento)
       SELECT $1, 'manual', 'x', $2 FROM generate_series(1, 2000)`,
      [id, new Date('2026-03-10T15:00:00Z')],
    );
    for (let i = 0; i < 3; i++) await ctx.db.query(`UPDATE notifications SET intentos = intentos + 1`);
    const dead = async () => {
      await ctx.db.query('SELECT pg_stat_force_next_flush()');
      await ctx.db.query('SELECT pg_stat_clear_snapshot()');
      return (
        (
          await ctx.db.query<{ n: number }>(
            `SELECT n_dead_tup::int AS n FROM pg_stat_user_tables WHERE relname = 'notifications'`,
          )
        ).rows[0]?.n ?? 0
      );
    };
    if (ctx.kind === 'pglite') expect(await dead()).toBeGreaterThan(1000);
    const s = createScheduler({
      db: ctx.db,
      clock: createManualClock('2026-03-11T09:00:00Z'), // 04:00 in Guayaquil: after 03:30
      logger: silent,
      timeZone: 'America/Guayaquil',
      jobs: engineJobs({ settings: settingsFor(), dailyRunAt: '23:59', db: ctx.db }).filter(
        (j) => j.name === 'vacuum_pglite',
      ),
    });
    const [report] = await s.runOnce();
    expect(report!.resultado).toBe('ejecutado');
    if (ctx.kind === 'pglite') {
      expect(report!.detalle).toMatchObject({
        tablas: expect.arrayContaining(['notifications', 'notification_envios']),
      });
      await vi.waitFor(async () => expect(await dead()).toBeLessThan(100), { timeout: 10_000 });
    } else {
      expect(report!.detalle).toEqual({ omitido: 'PostgreSQL: autovacuum' });
    }
  });
});
