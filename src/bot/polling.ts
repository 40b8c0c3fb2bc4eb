import { GrammyError, HttpError } from 'grammy';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logger.js';
import { ALLOWED_UPDATES, type BotService, describe, type GrammySignal } from './bot.js';

export interface PollingOptions {
  logger: Logger;
  /** Long-poll timeout in seconds (Telegram holds the request this long when idle). Default 25. */
  timeoutSeconds?: number;
  /** First back-off after a failure, doubled up to 30 s. Default 1000 ms. */
  retryMs?: number;
}

export interface PollingRunner {
  /**
   * One getUpdates call; records every update it got (in order) and moves the offset past the
   * ones recorded. Returns how many it got. Throws what getUpdates or the inbox threw.
   */
  runOnce(signal?: AbortSignal, timeoutSeconds?: number): Promise<number>;
  /** Removes any webhook, then polls until the signal aborts; failures back off and retry. */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Long polling for an office PC without HTTPS. Updates go through the same inbox as the webhook
 * (recorded once, then handled), and the offset only moves past what the inbox holds: a crash
 * or a database failure never loses an update.
 */
export function createPollingRunner(service: BotService, opts: PollingOptions): PollingRunner {
  const log = opts.logger.child({ component: 'bot-polling' });
  const timeoutSeconds = opts.timeoutSeconds ?? 25;
  const baseRetry = opts.retryMs ?? 1000;
  let offset = 0;

  const runner: PollingRunner = {
    async runOnce(signal, timeout = 0) {
      const updates = await service.api.getUpdates(
        { offset, limit: 100, timeout, allowed_updates: [...ALLOWED_UPDATES] },
        signal as unknown as GrammySignal,
      );
      for (const update of updates) {
        await service.receive(update);
        offset = update.update_id + 1;
      }
      return updates.length;
    },

    async run(signal) {
      try {
        await service.api.deleteWebhook({ drop_pending_updates: false }, signal as unknown as GrammySignal);
      } catch (err) {
        if (!signal.aborted)
          log.warn({ err: describe(err) }, 'no se pudo quitar el webhook antes de usar long polling');
      }
      let retry = baseRetry;
      while (!signal.aborted) {
        try {
          await runner.runOnce(signal, timeoutSeconds);
          retry = baseRetry;
        } catch (err) {
          if (signal.aborted) break;
          if (err instanceof GrammyError && err.error_code === 401) {
            log.fatal(
              'Telegram rechazó el token del bot (401): long polling detenido. Revise TELEGRAM_BOT_TOKEN.',
            );
            return;
          }
          if (err instanceof GrammyError && err.error_code === 409) {
            log.warn(
              { err: describe(err) },
              'Telegram no entrega por long polling (hay un webhook activo u otra instancia del bot)',
            );
            retry = Math.max(retry, 5000);
          } else {
            const kind =
              err instanceof HttpError ? 'sin conexión con Telegram' : 'fallo al recibir actualizaciones';
            log.warn({ err: describe(err), retryMs: retry }, kind);
          }
          await sleep(retry, signal);
          retry = Math.min(retry * 2, 30_000);
        }
      }
    },
  };
  return runner;
}
