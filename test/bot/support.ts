import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import {
  ALLOWED_UPDATES,
  type BotDeps,
  type BotService,
  createBot,
  createPollingRunner,
  type PollingRunner,
} from '../../src/bot/index.js';
import { createClientsRepository } from '../../src/clients/index.js';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { Db } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import { WEBHOOK_PATH } from '../../src/http/routes/telegram.js';
import type { App } from '../../src/http/types.js';
import { createSettingsProvider } from '../../src/settings/index.js';
import type { FakeUser, FakeUserOptions, SentMessage, Standin } from '../../src/telegram/standin/index.js';
import { startStandin } from '../../src/telegram/standin/index.js';
import { TEST_ADMIN_TOKEN, TEST_WEBHOOK_SECRET, testConfig } from '../support/app.js';

let botSeq = 0;

export type Transport = 'polling' | 'webhook';

export const BASE_NOW = '2026-03-10T15:00:00Z';

export interface BotHarness {
  mode: Transport;
  db: Db;
  standin: Standin;
  bot: BotService;
  app: App;
  config: Config;
  clock: ReturnType<typeof createManualClock>;
  runner: PollingRunner;
  /** Delivers what is queued (polling) and waits until every update is handled. */
  settle(): Promise<void>;
  user(opts: FakeUserOptions): FakeUser;
  /** Runs an action as the user, settles, and returns the bot's messages to that chat it caused. */
  act(user: FakeUser, action: (u: FakeUser) => Promise<void>): Promise<SentMessage[]>;
  /** Sends a text and returns the texts the bot answered with, joined. */
  say(user: FakeUser, text: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The real bot over a real database and the Bot API stand-in, reached by long polling
 * (`runOnce`, no timers) or through the real webhook route on a listening app.
 */
export async function startBotHarness(
  db: Db,
  opts: {
    mode: Transport;
    now?: string;
    env?: Record<string, string>;
    bot?: Partial<BotDeps>;
    logger?: Logger;
    /** One settings provider for the API and the bot, as in main.ts (Ajustes without restart). */
    liveSettings?: boolean;
  },
): Promise<BotHarness> {
  // Update ids are per bot: each harness is its own bot, so harnesses sharing a database never collide.
  botSeq += 1;
  const botId = 900_000 + botSeq * 1000 + Math.floor(Math.random() * 1000);
  const standin = await startStandin({ token: `${botId}:TEST-TOKEN-harness`, botInfo: { id: botId } });
  const clock = createManualClock(opts.now ?? BASE_NOW);
  const config = testConfig({
    TELEGRAM_BOT_TOKEN: standin.token,
    TELEGRAM_API_ROOT: standin.url,
    EMPRESA_TELEFONO: '02 234 5678',
    EMPRESA_WHATSAPP: '0991234567',
    EMPRESA_EMAIL: 'atencion@teltec.ec',
    EMPRESA_DIRECCION: 'Av. Amazonas N12-34, Quito',
    // Tests share one database and one clock: the hourly lookup budget has its own test.
    CEDULA_LOOKUPS_PER_HOUR: '100000',
    ...opts.env,
  });
  const logger = opts.logger ?? pino({ level: process.env.BOT_TEST_LOG ?? 'silent' });
  const settings = opts.liveSettings ? createSettingsProvider({ db, config }) : undefined;
  const bot = createBot({
    db,
    config,
    logger,
    clock,
    ...(settings && { company: () => settings.company() }),
    ...opts.bot,
  });
  await bot.init();
  const app = await buildApi({
    db,
    config,
    logger,
    clock,
    adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    bot,
    ...(settings && { settings }),
  });
  const runner = createPollingRunner(bot, { logger });
  if (opts.mode === 'webhook') {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    await bot.api.setWebhook(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
      secret_token: TEST_WEBHOOK_SECRET,
      allowed_updates: [...ALLOWED_UPDATES],
    });
  } else {
    await app.ready();
  }

  async function settle() {
    for (;;) {
      if (opts.mode === 'polling') while ((await runner.runOnce(undefined, 0)) > 0);
      await bot.drain();
      if (standin.pendingUpdates === 0) return;
      if (opts.mode === 'webhook') await new Promise((r) => setTimeout(r, 5));
    }
  }

  const h: BotHarness = {
    mode: opts.mode,
    db,
    standin,
    bot,
    app,
    config,
    clock,
    runner,
    settle,
    user: (o) => standin.user(o),
    async act(user, action) {
      const before = standin.sent.length;
      await action(user);
      await settle();
      return standin.sent.slice(before).filter((m) => m.chat_id === user.chatId);
    },
    async say(user, text) {
      const msgs = await h.act(user, (u) => u.send(text));
      return msgs.map((m) => m.text).join('\n---\n');
    },
    async close() {
      await bot.stop(2000);
      await app.close();
      await standin.close();
    },
  };
  return h;
}

let seq = 0;
/** Unique numbers per test file run (cédulas, chats), so tests sharing a database never collide. */
export function nextId(): number {
  seq += 1;
  return seq;
}

export interface SeedClient {
  nombre?: string;
  telefono?: string | null;
  fecha_ultimo_pago?: string | null;
  dia_pago?: number | null;
  plan?: boolean;
  estado?: 'activo' | 'suspendido' | 'retirado';
}

/** Creates a client with a fresh valid cédula (and the 'Hogar 50' plan, $25). */
export async function seedClient(db: Db, cedula: string, c: SeedClient = {}) {
  const repo = createClientsRepository(db, () => ({
    today: '2026-03-10',
    cycleDays: 30,
    reminderDaysBefore: 5,
  }));
  let planId: number | null = null;
  if (c.plan !== false) {
    const found = await db.query<{ id: number }>(`SELECT id FROM plans WHERE nombre = 'Hogar 50'`);
    planId =
      found.rows[0]?.id ??
      (
        await db.query<{ id: number }>(
          `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25) RETURNING id`,
        )
      ).rows[0]!.id;
  }
  return repo.create({
    cedula,
    nombre: c.nombre ?? 'María Pérez',
    telefono: c.telefono === undefined ? '0987654321' : c.telefono,
    plan_id: planId,
    estado: c.estado,
    fecha_ultimo_pago: c.fecha_ultimo_pago === undefined ? '2026-03-01' : c.fecha_ultimo_pago,
    dia_pago: c.dia_pago ?? null,
  });
}

export async function clientRow(db: Db, id: number) {
  const { rows } = await db.query<{
    chat_id: number | null;
    link_verified: boolean;
    telegram_blocked: boolean;
    telegram_user_id: number | null;
    pref_ofertas: boolean;
    pref_mantenimiento: boolean;
    linked_at: Date | null;
  }>(
    `SELECT chat_id, link_verified, telegram_blocked, telegram_user_id, pref_ofertas, pref_mantenimiento, linked_at
       FROM clients WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

/**
 * A database that can be made to fail like an unreachable server: everything (`down`), or only
 * the statements matching `failing`. Errors carry ECONNREFUSED, as `pg` reports a lost server.
 */
export function breakable(db: Db): Db & { down: boolean; failing: RegExp | null } {
  const fail = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const check = (sql: string) => {
    if (state.down || state.failing?.test(sql)) throw fail();
  };
  const wrap = (q: Pick<Db, 'query' | 'exec'>) => ({
    async query<T>(sql: string, params?: readonly unknown[]) {
      check(sql);
      return q.query<T>(sql, params);
    },
    async exec(sql: string) {
      check(sql);
      return q.exec(sql);
    },
  });
  const state = {
    kind: db.kind,
    down: false,
    failing: null as RegExp | null,
    ...wrap(db),
    transaction<T>(fn: (tx: Parameters<Parameters<Db['transaction']>[0]>[0]) => Promise<T>): Promise<T> {
      if (state.down) return Promise.reject(fail());
      return db.transaction((tx) => fn(wrap(tx)));
    },
    close: () => db.close(),
  };
  return state;
}
