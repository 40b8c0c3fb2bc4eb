import type { Api, Bot } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { EngineSettings } from '../notifications/index.js';
import type { BotContext } from './context.js';
import type { DeliveryControl } from './delivery.js';
import type { BotMetrics } from './metrics.js';
import type { Texts } from './texts.js';

/** What `createBot` needs, and what it returns. */
export interface BotDeps {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  /** Default: config.telegram.token (required one way or the other). */
  token?: string;
  /** Default: config.telegram.apiRoot. */
  apiRoot?: string;
  /** The company data in effect (Ajustes); default: config.company, fixed at start. */
  company?: () => Config['company'];
  /** Known bot identity (tests); otherwise `init()` asks getMe. */
  botInfo?: UserFromGetMe;
  /** The secret Telegram must send to the webhook. Default: config.telegram.webhookSecret. */
  webhookSecret?: string;
  /** Updates handled at the same time (updates of one chat always one after another). Default 32. */
  concurrency?: number;
  /**
   * Updates held in memory waiting for their turn. Beyond it an update is still recorded (and
   * answered 200) but left in the inbox, where the sweeper takes it once its lease ends. Default 10,000.
   */
  maxQueued?: number;
  /** How long a received update is reserved for this process before the sweeper retries it. */
  leaseMs?: number;
  /** Attempts at an update whose handling hit a database failure. Default 5. */
  maxAttempts?: number;
  /**
   * The settings in effect (Ajustes, no restart): company data, how to pay, opening hours.
   * main.ts passes `() => settings.engine()`. Default: the environment's (toEngineSettings).
   */
  getEngineSettings?: () => Promise<EngineSettings>;
  /** Called after each update is handled (metrics, benchmarks). */
  onUpdate?: (e: HandledUpdate) => void;
}

export interface HandledUpdate {
  updateId: number;
  chatId: number | null;
  tipo: string;
  outcome: 'procesado' | 'fallido' | 'reintentar';
  /** From "received" to "handled", in ms. */
  ms: number;
}

export type ReceiveOutcome = 'aceptado' | 'duplicado' | 'ignorado';

export interface BotService {
  /** The grammY bot (its middleware is the conversation). */
  readonly bot: Bot<BotContext>;
  readonly api: Api;
  /** Telegram's id of the bot (the digits before ':' in the token). */
  readonly botId: number;
  readonly webhookSecret: string | undefined;
  readonly texts: Texts;
  /** The bot's Prometheus metrics (served with the engine's). */
  readonly metrics: BotMetrics;
  /** Webhook or long polling: the one switch (the runtime attaches the polling loop). */
  readonly delivery: DeliveryControl;
  /** @username, known once initialised. */
  username(): string | undefined;
  /** getMe (unless botInfo was given). */
  init(signal?: AbortSignal): Promise<void>;
  /** setMyCommands; a failure is logged and reported as false, never thrown. */
  registerCommands(): Promise<boolean>;
  /**
   * Records an update in the inbox (once per update_id) and schedules its handling; resolves
   * as soon as it is recorded. 'ignorado' = not an update (logged). Throws only when the
   * update could not be recorded (the database is down), so that Telegram delivers it again.
   */
  receive(body: unknown, rawJson?: string): Promise<ReceiveOutcome>;
  /** Resolves when every scheduled update has been handled. */
  drain(): Promise<void>;
  /** One sweep: re-handles updates whose handling died (lease expired), forgets old ones. */
  runOnce(): Promise<{ reclaimed: number; pruned: number }>;
  /** Sweeps every `intervalMs` until the signal aborts. */
  run(signal: AbortSignal, intervalMs?: number): Promise<void>;
  /** Stops taking updates and waits (up to `timeoutMs`) for those in hand. */
  stop(timeoutMs?: number): Promise<void>;
}
