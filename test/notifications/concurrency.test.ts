import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import type { Dispatcher } from '../../src/notifications/index.js';
import type { TelegramSender } from '../../src/telegram/send.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { describeEachDb, openSchema } from '../support/db.js';
import { countByState, nextChatId, seedClients, startTestStandin, T0, testDispatcher } from './support.js';

/** Most calls that started within any window of `ms`. */
function peakIn(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= ms) from++;
    peak = Math.max(peak, to - from + 1);
  }
  return peak;
}

describeEachDb('two dispatchers on one database', (ctx) => {
  let standin: Standin;
  let sender: TelegramSender;
  beforeAll(async () => {
    ({ standin, sender } = await startTestStandin({ latencyMs: 2 }));
  });
  afterAll(async () => {
    await standin.close();
  });

  it('send each row exactly once and together stay under the global rate', async () => {
    // PostgreSQL: two pools, as two service instances would have. PGlite: one database, two senders.
    const rows = ctx.kind === 'postgres' ? 5000 : 1000;
    const rate = ctx.kind === 'postgres' ? 1000 : 400;
    const chats = Array.from({ length: rows }, () => nextChatId());
    await seedClients(
      ctx.db,
      chats.map((chatId) => ({ chatId })),
    );
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento)
       SELECT id, 'manual', 'Hola ' || id, $1 FROM clients`,
      [new Date(T0)],
    );
    const second: Db =
      ctx.kind === 'postgres' ? await openSchema((ctx.db as Db & { schema: string }).schema, 8) : ctx.db;
    const options = { ratePerSecond: rate, concurrency: 16, perChatPerSecond: 1 };
    const a: Dispatcher = testDispatcher(ctx.db, sender, { options: { ...options, worker: 'a' } });
    const b: Dispatcher = testDispatcher(second, sender, { options: { ...options, worker: 'b' } });
    let byA = 0;
    let byB = 0;
    a.on((e) => {
      if (e.type === 'sent') byA++;
    });
    b.on((e) => {
      if (e.type === 'sent') byB++;
    });
    try {
      const started = Date.now();
      const [ra, rb] = await Promise.all([a.runOnce(), b.runOnce()]);
      const elapsed = Date.now() - started;
      expect(ra.enviadas + rb.enviadas).toBe(rows);
      expect(byA).toBeGreaterThan(rows / 10);
      expect(byB).toBeGreaterThan(rows / 10);
      expect(await countByState(ctx.db)).toEqual({ enviado: rows });
      expect(standin.sent).toHaveLength(rows);
      expect(new Set(standin.sent.map((m) => m.chat_id)).size).toBe(rows);
      // The shared pacer: together at most `rate` per second (a little slack for arrival jitter).
      const times = standin.calls.filter((c) => c.method === 'sendMessage').map((c) => c.at);
      expect(peakIn(times, 1000)).toBeLessThanOrEqual(Math.ceil(rate * 1.1));
      expect(elapsed).toBeGreaterThanOrEqual(((rows - rate * 1.1) / rate) * 1000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      if (second !== ctx.db) await second.close();
    }
  });
});
