import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../support/db.js';
import { type BotHarness, startBotHarness } from './support.js';

/**
 * Issue 12 §8: during a campaign the stand-in's enforced rate limit answers 429 to some bot
 * replies. The replies share the dispatcher's pacer and wait out retry_after: none is lost.
 */
describeEachDb('bot replies under Telegram rate limits', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling', env: { SEND_RATE: '5' } });
  });
  afterAll(async () => {
    h?.standin.setLimits(false);
    await h?.close();
  });

  it('a reply that meets a 429 during a campaign is sent after retry_after, never dropped', async () => {
    h.standin.setLimits({ globalPerSecond: 5, burst: 5, perChatPerSecond: 100, perChatBurst: 100 });
    const pacerBefore = await ctx.db.query<{ next: number }>(
      'SELECT next_slot_ms::float8 AS next FROM dispatch_pacer WHERE id = 1',
    );
    // A campaign from another sender spends Telegram's budget while clients write to the bot.
    const campaign = Array.from({ length: 8 }, (_, i) =>
      fetch(`${h.standin.url}/bot${h.standin.token}/sendMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: 990_000 + i, text: 'Oferta' }),
      }),
    );
    await Promise.all(campaign);
    const users = Array.from({ length: 12 }, (_, i) => h.user({ chatId: 991_000 + i }));
    await Promise.all(users.map((u) => u.command('help')));
    await h.settle();
    for (const u of users) {
      const got = h.standin.sentTo(u.chatId);
      expect(got, `chat ${u.chatId}`).toHaveLength(1);
      expect(got[0]!.text).toContain('/status');
    }
    expect(h.standin.stats.tooMany).toBeGreaterThan(0);
    // The 429 pushed the shared pacer: the dispatcher waits too.
    const pacerAfter = await ctx.db.query<{ next: number }>(
      'SELECT next_slot_ms::float8 AS next FROM dispatch_pacer WHERE id = 1',
    );
    expect(pacerAfter.rows[0]!.next).toBeGreaterThan(pacerBefore.rows[0]!.next);
    const inbox = await ctx.db.query<{ estado: string; n: number }>(
      `SELECT estado, count(*)::int AS n FROM bot_updates WHERE chat_id >= 991000 AND chat_id < 992000 GROUP BY estado`,
    );
    expect(inbox.rows).toEqual([{ estado: 'procesado', n: 12 }]);
  }, 60_000);
});
