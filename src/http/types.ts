import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { BotService } from '../bot/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { Dispatcher, EngineMetrics } from '../notifications/index.js';
import type { Sandbox } from '../sandbox/index.js';
import type { SettingsProvider } from '../settings/index.js';
import type { SettleSmsFailures } from '../sms/index.js';
import type { WhatsAppService } from '../whatsapp/index.js';
import type { AdminToken } from './auth.js';

/** What the HTTP API needs; built by `main.ts` (or a test) and handed to `buildApi`. */
export interface ApiDeps {
  db: Db;
  config: Config;
  logger: Logger;
  clock: Clock;
  adminTokens: AdminToken[];
  /** Sandbox mode (no TELEGRAM_BOT_TOKEN): the Bot API stand-in and its chats. */
  sandbox?: Sandbox;
  /** The Telegram bot (webhook, invitations, test sends); absent without a bot token. */
  bot?: BotService;
  /** Notification engine services (issue 3): the dispatcher (absent = POST /procesar/ answers 503). */
  engine?: { dispatcher?: Dispatcher; metrics?: EngineMetrics };
  /** Ajustes (issue 14): settings stored in the database; built from `db` and `config` when absent. */
  settings?: SettingsProvider;
  /** WhatsApp Business (issue 10): webhook, templates; absent without WHATSAPP_TOKEN. */
  whatsapp?: WhatsAppService;
  /**
   * Channels whose delivery reports arrive over HTTP (SMS, issue 11): an attempt a report closes as
   * failed, classified, is settled by the outbox (next channel for must-deliver notices).
   */
  settleAsyncFailures?: SettleSmsFailures;
  /** true while the service shuts down: every request answers 503 SERVICIO_DETENIENDOSE. */
  isClosing?: () => boolean;
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** true = no admin token needed (health, webhook, static pages). Everything else needs it. */
    public?: boolean;
  }
  interface FastifyRequest {
    /** Who made this request, for the audit log: user name, "ana (token cron)" or the admin token's name. */
    actor?: string;
  }
}
