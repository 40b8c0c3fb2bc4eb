import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, seedClient, startBotHarness } from './support.js';

const BUDGET = 20;

/**
 * Issue 12 §1: the enumeration drill. Many chats (each its own Telegram user) try cédulas at once
 * through the stand-in; at most CEDULA_LOOKUPS_PER_HOUR lookups are answered in the hour, the rest
 * hear "intente más tarde" with nothing about the cédula, and staff can see it happened.
 */
describeEachDb('cédula enumeration drill', (ctx) => {
  let h: BotHarness;
  let logs = '';
  beforeAll(async () => {
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          logs += chunk.toString();
          cb();
        },
      }),
    );
    h = await startBotHarness(ctx.db, {
      mode: 'polling',
      env: { CEDULA_LOOKUPS_PER_HOUR: String(BUDGET) },
      logger,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers at most the hourly budget across 60 chats; the rest get "intente más tarde"; staff see it', async () => {
    const real: string[] = [];
    for (let i = 0; i < 10; i++) {
      real.push(cedulaFor(70_000 + i));
      await seedClient(ctx.db, real[i]!, {
        nombre: `Cliente Real ${i}`,
        telefono: `09870010${String(i).padStart(2, '0')}`,
      });
    }
    const chats = Array.from({ length: 60 }, (_, i) => h.user({ chatId: 880_000 + i }));
    const before = h.standin.sent.length;
    // Each chat tries three cédulas (real and made-up), all at the same time.
    await Promise.all(
      chats.flatMap((u, i) =>
        [0, 1, 2].map((k) => u.send(k === 0 ? real[i % 10]! : cedulaFor(71_000 + i * 3 + k))),
      ),
    );
    await h.settle();
    const replies = h.standin.sent.slice(before).map((m) => m.text ?? '');
    expect(replies).toHaveLength(180);
    const busy = replies.filter((t) => t.includes('intente más tarde'));
    const answered = replies.filter((t) => !t.includes('intente más tarde'));
    expect(answered.length).toBeLessThanOrEqual(BUDGET);
    expect(answered.length).toBe(BUDGET);
    // A refused lookup says nothing about the cédula: every one is the same text.
    expect(new Set(busy).size).toBe(1);
    expect(busy[0]).not.toMatch(/Compartir|no coincide|vinculad|Cliente Real/);

    const metrics = await h.bot.metrics.registry.getSingleMetricAsString('teltec_bot_cedula_lookups_total');
    expect(metrics).toContain(`teltec_bot_cedula_lookups_total{resultado="consultada"} ${BUDGET}`);
    expect(metrics).toContain(`teltec_bot_cedula_lookups_total{resultado="limite_global"} ${180 - BUDGET}`);
    const warn = logs
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40 && l.msg.includes('presupuesto de consultas de cédula'));
    expect(warn.length).toBeGreaterThanOrEqual(1);
    expect(warn.length).toBeLessThanOrEqual(2); // said once, not once per refusal
    const stats = await h.app.inject({ url: '/api/notificaciones/telegram/estadisticas/', headers: auth });
    expect(stats.json().consultas_cedula).toMatchObject({
      ultima_hora: BUDGET,
      presupuesto_por_hora: BUDGET,
      rechazadas_ultima_hora: 180 - BUDGET,
      presupuesto_agotado: true,
    });

    // An hour later the budget is back.
    h.clock.advance(61 * 60_000);
    const late = h.user({ chatId: 889_999 });
    expect(await h.say(late, real[0]!)).toContain('Compartir mi número');
  }, 120_000);

  it('every lookup counts against the Telegram user, hits that do not finish verification too', async () => {
    h.clock.advance(3 * 3600_000);
    const c = cedulaFor(72_000);
    await seedClient(ctx.db, c, { telefono: '0987002000' });
    const u = h.user({ chatId: 887_001 });
    for (let i = 0; i < 5; i++) {
      // The same real cédula five times, never sharing the contact: five lookups.
      expect(await h.say(u, c)).toContain('Compartir mi número');
    }
    const sixth = await h.say(u, cedulaFor(72_001));
    expect(sixth).toContain('máximo de 5 intentos');
    expect(sixth).not.toContain('Compartir');
  });
});
