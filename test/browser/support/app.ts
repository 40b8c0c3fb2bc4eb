import { pino } from 'pino';
import { type BotService, createBot } from '../../../src/bot/index.js';
import { recordEnabledChannels } from '../../../src/channels/index.js';
import { createManualClock } from '../../../src/clock.js';
import type { Db } from '../../../src/db/index.js';
import { buildApi } from '../../../src/http/app.js';
import type { App } from '../../../src/http/types.js';
import { seedDemoData } from '../../../src/sandbox/index.js';
import { type Standin, startStandin } from '../../../src/telegram/standin/index.js';
import { localDate } from '../../../src/time.js';
import { createWhatsAppService } from '../../../src/whatsapp/service.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../../src/whatsapp/standin/index.js';
import { TEST_ADMIN_TOKEN, testConfig } from '../../support/app.js';
import { createTestDb } from '../../support/db.js';

export interface RunningApp {
  app: App;
  db: Db;
  /** http://127.0.0.1:<port> */
  url: string;
  token: string;
  /** With `bot: true`: the Bot API stand-in the service talks to (a real HTTP server on 127.0.0.1). */
  standin?: Standin;
  bot?: BotService;
  /** With `whatsapp: true`: the Cloud API stand-in the WhatsApp service talks to. */
  whatsapp?: WhatsAppStandin;
  close(): Promise<void>;
}

/**
 * The real app, in-process, listening on 127.0.0.1 (random port) over a fresh PGlite database,
 * optionally with the 80 demo clients. The clock is fixed, so payment states never depend on today.
 */
export async function startApp(
  opts: {
    demo?: boolean;
    now?: string;
    bot?: boolean;
    whatsapp?: boolean;
    env?: Record<string, string>;
  } = {},
): Promise<RunningApp> {
  const db = await createTestDb('pglite');
  const clock = createManualClock(opts.now ?? '2026-03-10T15:00:00Z');
  // A bot (not started: no polling loop) that talks to the stand-in, when the page needs Telegram.
  const standin = opts.bot
    ? await startStandin({ token: '555001:TEST-TOKEN-browser', botInfo: { id: 555001 } })
    : undefined;
  // With `whatsapp`: the Cloud API stand-in and a WhatsApp service on it (no template loop).
  const wa = opts.whatsapp ? await startWhatsAppStandin({ pairIntervalMs: 0 }) : undefined;
  const config = testConfig({
    ...(standin && { TELEGRAM_BOT_TOKEN: standin.token, TELEGRAM_API_ROOT: standin.url }),
    ...(wa && {
      WHATSAPP_TOKEN: wa.token,
      WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
      WHATSAPP_BUSINESS_ACCOUNT_ID: wa.businessAccountId,
      WHATSAPP_APP_SECRET: wa.appSecret,
      WHATSAPP_API_ROOT: wa.url,
    }),
    ...opts.env,
  });
  const logger = pino({ level: 'silent' });
  const bot = standin ? createBot({ db, config, logger, clock }) : undefined;
  await bot?.init();
  if (opts.demo) {
    await seedDemoData(db, { today: localDate(clock.now(), config.timeZone), link: false });
  }
  // As main.ts does: reach counts the channels this app has (Telegram, and WhatsApp when asked).
  await recordEnabledChannels(db, ['telegram', ...(wa ? (['whatsapp'] as const) : [])], clock.now());
  const whatsapp = wa
    ? createWhatsAppService({
        db,
        config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
        clock,
        logger,
      })
    : undefined;
  await whatsapp?.templateSync.runOnce();
  const app = await buildApi({
    db,
    config,
    logger,
    clock,
    adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    bot,
    whatsapp,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    db,
    url,
    token: TEST_ADMIN_TOKEN,
    standin,
    bot,
    whatsapp: wa,
    async close() {
      await app.close();
      await bot?.stop(1000);
      await standin?.close();
      await wa?.close();
      await db.close();
    },
  };
}
