import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotService, createBot, startBotRuntime } from '../../src/bot/index.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { seedClient } from './support.js';

const TOKEN = '555001:TEST-TOKEN-startup';

/** Answers within `ms` or fails: the endpoint must never wait on Telegram. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms)),
  ]);
}

/** Issue 12 §7: Telegram unreachable at start. */
describeEachDb('bot start with Telegram unreachable', (ctx) => {
  let blackhole: Server;
  const sockets = new Set<Socket>();
  let blackholeUrl: string;
  let refusedUrl: string;
  beforeAll(async () => {
    // Accepts connections and never answers (a stalled proxy): getMe would wait its whole timeout.
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    blackholeUrl = `http://127.0.0.1:${(blackhole.address() as { port: number }).port}`;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    refusedUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  async function start(apiRoot: string, env: Record<string, string> = {}) {
    let logs = '';
    const logger = pino(
      { level: 'debug' },
      new Writable({
        write(chunk, _e, cb) {
          logs += chunk.toString();
          cb();
        },
      }),
    );
    const config = testConfig({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: apiRoot, ...env });
    const clock = createManualClock('2026-03-10T15:00:00Z');
    const bot: BotService = createBot({ db: ctx.db, config, logger, clock });
    const app: App = await buildApi({
      db: ctx.db,
      config,
      logger,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      bot,
    });
    await app.ready();
    const abort = new AbortController();
    const runtime = startBotRuntime(bot, { config, logger, signal: abort.signal });
    return {
      app,
      logs: () => logs,
      async close() {
        abort.abort();
        await runtime.done;
        await app.close();
      },
    };
  }

  const invite = (app: App, id: number) =>
    within(app.inject({ method: 'POST', url: `/api/clientes/${id}/invitacion`, headers: auth }), 5000);

  describe('invitation endpoint', () => {
    it('answers at once with the configured @username while getMe hangs', async () => {
      const s = await start(blackholeUrl, { TELEGRAM_BOT_USERNAME: '@TelTecAvisosBot' });
      try {
        const c = await seedClient(ctx.db, cedulaFor(93_001));
        const res = await invite(s.app, c.id);
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().enlace).toContain('https://t.me/TelTecAvisosBot?start=');
      } finally {
        await s.close();
      }
    });

    it('answers at once with the @username stored from an earlier start, or 503 when none is known', async () => {
      const s = await start(blackholeUrl);
      try {
        const c = await seedClient(ctx.db, cedulaFor(93_002));
        const none = await invite(s.app, c.id);
        expect(none.statusCode).toBe(503);
        expect(none.json().error.code).toBe('BOT_NO_INICIADO');
        await ctx.db.query(
          `INSERT INTO bot_identity (bot_id, username, updated_at) VALUES (555001, 'TelTecGuardadoBot', now())`,
        );
        const res = await invite(s.app, c.id);
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().enlace).toContain('https://t.me/TelTecGuardadoBot?start=');
      } finally {
        await s.close();
        await ctx.db.query('DELETE FROM bot_identity');
      }
    });
  });

  it('says once, in Spanish and with the cause, that Telegram cannot be reached, and keeps retrying', async () => {
    const s = await start(refusedUrl);
    try {
      const lines = () =>
        s
          .logs()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { level: number; msg: string; intentos?: number });
      const deadline = Date.now() + 10_000;
      // Wait for at least one retry after the first failure.
      while (!lines().some((l) => l.level === 20 && l.msg.includes('falló otra vez'))) {
        if (Date.now() > deadline) throw new Error(`no retry logged:\n${s.logs()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const errors = lines().filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.msg).toContain('No se pudo contactar a Telegram');
      expect(errors[0]!.msg).toMatch(/Sin conexión con Telegram|ECONNREFUSED|fetch failed/);
      expect(errors[0]!.msg).not.toContain('TEST-TOKEN');
    } finally {
      await s.close();
    }
  }, 30_000);
});
