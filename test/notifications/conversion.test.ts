import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import type { App } from '../../src/http/types.js';
import { conversionReport, generatePaymentNotices } from '../../src/notifications/index.js';
import { makePromise } from '../../src/receipts/index.js';
import { conversionLines, simulateMonth } from '../../src/sandbox/simulate-month.js';
import { auth, buildTestApp } from '../support/app.js';
import { createTestDb, describeEachDb } from '../support/db.js';
import {
  createPlan,
  nextChatId,
  seedClients,
  settingsFor,
  startTestStandin,
  testDispatcher,
} from './support.js';

/**
 * Issue 13 §7: of the cycles whose reminder was sent, who paid before the due date, after the 1st,
 * 2nd or 3rd overdue notice, after a promise — driven day by day with an injected clock through the
 * real generation, dispatcher (Bot API stand-in) and payment route.
 */
describeEachDb('conversion metrics (issue 13 §7)', (ctx) => {
  let app: App;
  let clock: ReturnType<typeof createManualClock>;
  let stand: Awaited<ReturnType<typeof startTestStandin>>;
  const s = settingsFor(); // reminder 5 days before, overdue every 5 days, 3 at most

  beforeAll(async () => {
    ({ app, clock } = await buildTestApp(ctx.db));
    stand = await startTestStandin();
  });
  afterAll(async () => {
    await app?.close();
    await stand?.standin.close();
  });

  async function day(db: Db, date: string) {
    clock.set(`${date}T13:00:00Z`);
    await generatePaymentNotices(db, s, { today: date, now: clock.now() });
    await testDispatcher(db, stand.sender, { clock, settings: s }).runOnce();
  }
  const pay = (id: number, fecha: string) =>
    app.inject({
      method: 'POST',
      url: `/api/clientes/${id}/pagos`,
      headers: auth,
      payload: { monto: 20, fecha },
    });

  it('classifies each reminded cycle by when it was paid; medians, channels, promises', async () => {
    const plan = await createPlan(ctx.db, 'Conversión 20', 20);
    // All due 2026-03-31 (last payment 03-01): reminder 03-26, overdue 03-31, 04-05, 04-10.
    const ids = await seedClients(
      ctx.db,
      Array.from({ length: 6 }, () => ({ pago: '2026-03-01', chatId: nextChatId(), planId: plan })),
    );
    const [onTime, after1, after2, after3, promised, never] = ids as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    // An unreachable client gets no reminder: not counted.
    await seedClients(ctx.db, [{ pago: '2026-03-01', planId: plan }]);

    for (let d = 26; d <= 31; d++) await day(ctx.db, `2026-03-${d}`);
    clock.set('2026-03-28T20:00:00Z');
    const first = await pay(onTime, '2026-03-28');
    expect(first.statusCode, first.body).toBe(201);
    clock.set('2026-03-31T20:00:00Z');
    await ctx.db.transaction((tx) =>
      makePromise(
        tx,
        { clientId: promised, ciclo: '2026-03-31', fecha: '2026-04-03', today: '2026-03-31', graceDays: 5 },
        clock.now(),
      ),
    );
    for (let d = 1; d <= 12; d++) {
      const date = `2026-04-${String(d).padStart(2, '0')}`;
      await day(ctx.db, date);
      clock.set(`${date}T20:00:00Z`);
      if (d === 1) expect((await pay(after1, date)).statusCode).toBe(201);
      if (d === 3) await pay(promised, date);
      if (d === 6) await pay(after2, date);
      if (d === 11) await pay(after3, date);
    }

    const r = await conversionReport(ctx.db, {
      desde: '2026-03-01',
      hasta: '2026-04-30',
      timeZone: s.timeZone,
    });
    expect(r).toMatchObject({
      recordados: 6,
      pagaron: 5,
      a_tiempo: 1,
      tras_aviso_1: 1,
      tras_aviso_2: 1,
      tras_aviso_3: 1,
      tras_promesa: 1,
      vencido_sin_aviso: 0,
      sin_pago: 1,
    });
    // Reminder on 03-26; payments 03-28 (2), 04-01 (6), 04-03 (8), 04-06 (11), 04-11 (16): median 8.
    expect(r.mediana_dias).toBe(8);
    expect(r.por_mes).toEqual([expect.objectContaining({ mes: '2026-03', recordados: 6, a_tiempo: 1 })]);
    expect(r.por_canal).toEqual([expect.objectContaining({ canal: 'telegram', recordados: 6, pagaron: 5 })]);
    expect(r.promesas).toMatchObject({ hechas: 1 });
    expect(never).toBeGreaterThan(0);

    // In the statistics API, beside the fields it always had.
    clock.set('2026-04-12T20:00:00Z');
    const api = await app.inject({
      method: 'GET',
      url: '/api/notificaciones/estadisticas/?desde=2026-03-01&hasta=2026-04-12',
      headers: auth,
    });
    expect(api.statusCode).toBe(200);
    const body = api.json();
    expect(body).toHaveProperty('tasa_entrega');
    expect(body).toHaveProperty('por_dia');
    expect(body.conversion).toMatchObject({ recordados: 6, pagaron: 5, tras_promesa: 1 });
  });
});

describeEachDb('simulated month on the demo data (issue 13 §7)', (ctx) => {
  it('advances the injected clock day by day and reports consistent figures', async () => {
    const db = ctx.db;
    const r = await simulateMonth({
      db,
      settings: settingsFor(),
      logger: pino({ level: 'silent' }),
      start: '2026-03-01',
      days: 12,
      clients: 45,
    });
    const c = r.conversion;
    expect(r.enviados).toBeGreaterThan(0);
    expect(c.recordados).toBeGreaterThan(0);
    const outcomes =
      c.a_tiempo +
      c.tras_aviso_1 +
      c.tras_aviso_2 +
      c.tras_aviso_3 +
      c.tras_promesa +
      c.vencido_sin_aviso +
      c.sin_pago;
    expect(outcomes).toBe(c.recordados);
    expect(c.pagaron).toBe(c.recordados - c.sin_pago);
    expect(conversionLines(r).join('\n')).toContain('antes del vencimiento');
    // Repeatable: the same seed on a fresh database gives the same figures.
    const again = await createTestDb(ctx.kind);
    try {
      const r2 = await simulateMonth({
        db: again,
        settings: settingsFor(),
        logger: pino({ level: 'silent' }),
        start: '2026-03-01',
        days: 12,
        clients: 45,
      });
      expect(r2).toEqual(r);
    } finally {
      await again.close();
    }
  });
});
