import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotService, createBot, startBotRuntime } from '../../src/bot/index.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { type Standin, startStandin } from '../../src/telegram/standin/index.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

const HOOK = 'https://127.0.0.1:9/api/notificaciones/telegram/webhook/';

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Issue 12 §9 / issue 9 (sandbox): the webhook setting switches how updates arrive, for real. */
describeEachDb('bot delivery mode', (ctx) => {
  describe('long polling ⇄ webhook through the API', () => {
    let standin: Standin;
    let bot: BotService;
    let app: App;
    const abort = new AbortController();
    let runtime: ReturnType<typeof startBotRuntime>;
    let logs = '';
    beforeAll(async () => {
      standin = await startStandin({ token: '777001:TEST-TOKEN-delivery', botInfo: { id: 777001 } });
      const config = testConfig({ TELEGRAM_BOT_TOKEN: standin.token, TELEGRAM_API_ROOT: standin.url });
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk, _enc, cb) {
            logs += chunk.toString();
            cb();
          },
        }),
      );
      bot = createBot({ db: ctx.db, config, logger, clock: createManualClock('2026-03-10T15:00:00Z') });
      app = await buildApi({
        db: ctx.db,
        config,
        logger,
        clock: createManualClock('2026-03-10T15:00:00Z'),
        adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
        bot,
      });
      await app.ready();
      runtime = startBotRuntime(bot, { config, logger, signal: abort.signal });
    });
    afterAll(async () => {
      abort.abort();
      await bot?.stop(2000);
      await runtime?.done;
      await app?.close();
      await standin?.close();
    });

    it('setting a webhook stops long polling and says so; DELETE goes back to polling', async () => {
      await until(() => bot.delivery.isPolling());
      const u = standin.user({ chatId: 51_001 });
      await u.command('help');
      await standin.waitForSent((m) => m.chat_id === 51_001, 5000);

      const set = await app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: HOOK },
      });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json().descripcion).toContain('dejó el long polling');
      expect(set.json().info).toMatchObject({ modo: 'webhook', url: HOOK, long_polling_activo: false });
      expect(bot.delivery.isPolling()).toBe(false);
      expect(logs).toContain('deja el long polling');
      const ajustes = await app.inject({ url: '/api/ajustes', headers: auth });
      expect(ajustes.json().modo_telegram).toBe('webhook');
      // No getUpdates is attempted any more (Telegram would answer 409 to each).
      const polls = () => standin.calls.filter((c) => c.method === 'getUpdates').length;
      const before = polls();
      await new Promise((r) => setTimeout(r, 300));
      expect(polls()).toBe(before);

      const back = await app.inject({
        method: 'DELETE',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
      });
      expect(back.statusCode, back.body).toBe(200);
      expect(back.json().descripcion).toContain('volvió a long polling');
      expect(back.json().info).toMatchObject({ modo: 'long_polling', url: '', long_polling_activo: true });
      expect(standin.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
      expect((await app.inject({ url: '/api/ajustes', headers: auth })).json().modo_telegram).toBe(
        'long_polling',
      );
      // And the bot answers again.
      await u.command('contact');
      await standin.waitForSent((m) => m.chat_id === 51_001 && (m.text ?? '').includes('Horario'), 5000);
      const audit = await ctx.db.query<{ accion: string }>(
        `SELECT accion FROM audit_log WHERE accion IN ('telegram.configurar_webhook', 'telegram.quitar_webhook') ORDER BY id`,
      );
      expect(audit.rows.map((r) => r.accion)).toEqual([
        'telegram.configurar_webhook',
        'telegram.quitar_webhook',
      ]);
    });
  });

  describe('sandbox', () => {
    let sandbox: Sandbox;
    let bot: BotService;
    let app: App;
    beforeAll(async () => {
      const logger = pino({ level: 'silent' });
      sandbox = (await startSandbox(testConfig({}), logger))!;
      const config = sandbox.config;
      bot = createBot({ db: ctx.db, config, logger, clock: createManualClock('2026-03-10T15:00:00Z') });
      app = await buildApi({
        db: ctx.db,
        config,
        logger,
        clock: createManualClock('2026-03-10T15:00:00Z'),
        adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
        bot,
        sandbox,
      });
      await app.ready();
    });
    afterAll(async () => {
      await app?.close();
      await sandbox?.close();
    });

    it("the seed's configurar-webhook call is refused clearly and the sandbox bot keeps its local mode", async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: 'https://teltec.ec/api/notificaciones/telegram/webhook/' },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('WEBHOOK_EN_SANDBOX');
      expect(res.json().error.mensaje).toContain('sandbox');
      expect(sandbox.standin.calls.some((c) => c.method === 'setWebhook')).toBe(false);
      expect(sandbox.standin.webhook.url).toBeUndefined();
      // The way back exists in sandbox mode too (a no-op here).
      const del = await app.inject({
        method: 'DELETE',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
      });
      expect(del.statusCode, del.body).toBe(200);
      expect(del.json().info.modo).toBe('long_polling');
    });
  });
});
