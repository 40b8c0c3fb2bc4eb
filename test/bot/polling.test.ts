import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPollingRunner } from '../../src/bot/index.js';
import { describeEachDb } from '../support/db.js';
import { type BotHarness, breakable, startBotHarness } from './support.js';

describeEachDb('bot long polling', (ctx) => {
  let h: BotHarness;
  let db: ReturnType<typeof breakable>;
  beforeAll(async () => {
    db = breakable(ctx.db);
    h = await startBotHarness(db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('moves the offset only past updates the inbox holds: nothing is lost while the database is down', async () => {
    const u = h.user({ chatId: 910_001 });
    await u.command('help');
    await u.command('contact');
    db.down = true;
    try {
      await expect(h.runner.runOnce(undefined, 0)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      db.down = false;
    }
    // Telegram still holds both (not confirmed); fetched again, each handled once.
    expect(h.standin.pendingUpdates).toBe(2);
    await h.settle();
    const texts = h.standin.sentTo(910_001).map((m) => m.text);
    expect(texts).toHaveLength(2);
    expect(texts[0]).toContain('/preferencias');
    expect(texts[1]).toContain('02 234 5678');
  });

  it('run() removes a webhook, polls until aborted, and stops at once', async () => {
    await h.bot.api.setWebhook('https://teltec.example.ec/hook');
    const abort = new AbortController();
    const runner = createPollingRunner(h.bot, { logger: pino({ level: 'silent' }), timeoutSeconds: 20 });
    const running = runner.run(abort.signal);
    const u = h.user({ chatId: 910_002 });
    await u.command('help');
    await h.standin.waitForSent((m) => m.chat_id === 910_002, 5000);
    expect(h.standin.webhook.url).toBeUndefined();
    const t0 = performance.now();
    abort.abort();
    await running;
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('stops polling when Telegram refuses the token (401)', async () => {
    h.standin.failNext(1, { kind: 'unauthorized' }, { method: 'getUpdates' });
    const abort = new AbortController();
    const runner = createPollingRunner(h.bot, { logger: pino({ level: 'silent' }), timeoutSeconds: 1 });
    await runner.run(abort.signal);
    expect(abort.signal.aborted).toBe(false);
  });
});
