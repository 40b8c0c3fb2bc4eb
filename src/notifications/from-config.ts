import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { createTelegramSender } from '../telegram/send.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import type { EngineMetrics } from './metrics.js';
import { type EngineSettings, toEngineSettings } from './types.js';

/**
 * The dispatcher the settings describe (`SEND_*`, `PAID_BROADCAST`, the bot token and API root),
 * for the service and for `teltec procesar`. Undefined without a bot token: nothing to send with.
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
}): Dispatcher | undefined {
  const { config } = deps;
  if (!config.telegram.token) return undefined;
  const leaseMs = config.engine.leaseSeconds * 1000;
  return createDispatcher({
    db: deps.db,
    sender: createTelegramSender({
      token: config.telegram.token,
      apiRoot: config.telegram.apiRoot,
      // A call never outlives half the lease, so a slow Telegram cannot make a row go twice.
      timeoutMs: Math.min(30_000, leaseMs / 2),
    }),
    clock: deps.clock,
    logger: deps.logger,
    settings: toEngineSettings(config),
    getSettings: deps.getSettings,
    metrics: deps.metrics,
    options: {
      ratePerSecond: config.engine.ratePerSecond,
      perChatPerSecond: config.engine.perChatPerSecond,
      concurrency: config.engine.concurrency,
      maxAttempts: config.engine.maxAttempts,
      paidBroadcast: config.engine.paidBroadcast,
      leaseMs,
      releaseOrphansAtStart: deps.releaseOrphansAtStart,
    },
  });
}
