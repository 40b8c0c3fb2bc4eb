import { createChannelRegistry, createTelegramChannel } from '../channels/index.js';
import type { ChannelAdapter } from '../channels/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { createTelegramSender } from '../telegram/send.js';
import type { TemplateResolver } from './compose.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import type { EngineMetrics } from './metrics.js';
import { type EngineSettings, toEngineSettings } from './types.js';

/**
 * The dispatcher the settings describe (`SEND_*`, `PAID_BROADCAST`, the bot token and API root),
 * for the service and for `teltec procesar`, with the other channels' adapters (WhatsApp, SMS,
 * e-mail) built by main.ts. Undefined without any channel: nothing to send with.
 */
export function dispatcherFromConfig(deps: {
  db: Db;
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics?: EngineMetrics;
  releaseOrphansAtStart?: boolean;
  /** Ajustes (issue 14): settings stored in the database, read per cycle. */
  getSettings?: () => Promise<EngineSettings>;
  /** Channels besides Telegram (issue 10/11): their adapters, paced by their own `pacing()`. */
  channels?: readonly ChannelAdapter[];
  /** WhatsApp templates outside the 24 h window (src/whatsapp `templateResolverFor(db)`). */
  resolveTemplate?: TemplateResolver;
}): Dispatcher | undefined {
  const { config } = deps;
  const others = deps.channels ?? [];
  if (!config.telegram.token && others.length === 0) return undefined;
  const leaseMs = config.engine.leaseSeconds * 1000;
  const sender = config.telegram.token
    ? createTelegramSender({
        token: config.telegram.token,
        apiRoot: config.telegram.apiRoot,
        // A call never outlives half the lease, so a slow Telegram cannot make a row go twice.
        timeoutMs: Math.min(30_000, leaseMs / 2),
      })
    : undefined;
  const telegram = sender
    ? [
        createTelegramChannel({
          sender,
          pacing: () => ({
            ratePerSecond: config.engine.ratePerSecond,
            perRecipientIntervalMs: 1000 / config.engine.perChatPerSecond,
            concurrency: config.engine.concurrency,
          }),
          paidBroadcast: config.engine.paidBroadcast,
          // As the dispatcher's own: a 429 never pauses longer than the lease (default 60 s).
          maxRetryAfterMs: Math.min(60_000, leaseMs),
        }),
      ]
    : [];
  return createDispatcher({
    db: deps.db,
    ...(sender && { sender }),
    // Without other channels the dispatcher builds Telegram's adapter from `sender` itself.
    ...(others.length > 0 && { channels: createChannelRegistry([...telegram, ...others]) }),
    ...(deps.resolveTemplate && { resolveTemplate: deps.resolveTemplate }),
    clock: deps.clock,
    logger: deps.logger,
    settings: toEngineSettings(config),
    getSettings: deps.getSettings,
    metrics: deps.metrics,
    options: {
      ratePerSecond: config.engine.ratePerSecond,
      fallbackOrder: config.fallback.order,
      noDeliveryMinutes: config.fallback.noDeliveryMinutes,
      perChatPerSecond: config.engine.perChatPerSecond,
      concurrency: config.engine.concurrency,
      maxAttempts: config.engine.maxAttempts,
      paidBroadcast: config.engine.paidBroadcast,
      leaseMs,
      releaseOrphansAtStart: deps.releaseOrphansAtStart,
    },
  });
}
