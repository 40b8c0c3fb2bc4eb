import type { Config } from '../config.js';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logger.js';
import { ALLOWED_UPDATES, type BotService, describe } from './bot.js';
import { createPollingRunner } from './polling.js';

export type BotMode = 'webhook' | 'polling';

/** The webhook route, relative to PUBLIC_URL. */
export const WEBHOOK_ROUTE = '/api/notificaciones/telegram/webhook/';

export interface BotRuntime {
  mode: BotMode;
  /** The webhook URL set at start (webhook mode). */
  webhookUrl?: string;
  /** Settles once the signal aborted and every loop ended. */
  done: Promise<void>;
}

/**
 * Starts the bot for `main.ts`: webhook mode with PUBLIC_URL (setWebhook with our secret,
 * retried until Telegram accepts), long polling without it. In both: getMe and setMyCommands
 * (a failure is logged and retried, never fatal), and the inbox sweeper. Says which mode.
 */
export function startBotRuntime(
  bot: BotService,
  opts: { config: Config; logger: Logger; signal: AbortSignal },
): BotRuntime {
  const { config, logger, signal } = opts;
  const log = logger.child({ component: 'bot' });
  const publicUrl = config.telegram.publicUrl;
  const mode: BotMode = publicUrl ? 'webhook' : 'polling';
  const webhookUrl = publicUrl ? publicUrl + WEBHOOK_ROUTE : undefined;
  if (webhookUrl) {
    log.info({ mode, webhookUrl }, `bot de Telegram en modo webhook: Telegram entregará en ${webhookUrl}`);
  } else {
    log.info(
      { mode },
      'bot de Telegram en modo long polling (sin PUBLIC_URL): el servicio consulta a Telegram',
    );
  }

  /** Runs `step` until it succeeds or the service stops, backing off from 1 s to 60 s. */
  // Said once, with the cause; the retries that follow are debug lines, and success is said again.
  async function untilDone(what: string, step: () => Promise<void>): Promise<boolean> {
    let wait = 1000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        await step();
        if (failures > 0)
          log.info({ intentos: failures + 1 }, `${what}: lo logró tras ${failures + 1} intentos`);
        return true;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        const causa = describe(err);
        if (failures === 1) {
          log.error(
            { err: causa, retryMs: wait },
            `No se pudo contactar a Telegram (${what}): ${causa}. El servicio sigue atendiendo y ` +
              'reintenta en segundo plano; las invitaciones usan el @usuario guardado o TELEGRAM_BOT_USERNAME.',
          );
        } else {
          log.debug(
            { err: causa, retryMs: wait, intentos: failures },
            `${what}: falló otra vez, se reintentará`,
          );
        }
        await sleep(wait, signal);
        wait = Math.min(wait * 2, 60_000);
      }
    }
    return false;
  }

  const setup = (async () => {
    if (!(await untilDone('conexión con Telegram (getMe)', () => bot.init(signal)))) return;
    log.info({ username: bot.username() }, `bot conectado como @${bot.username()}`);
    await bot.registerCommands();
    if (webhookUrl) {
      const secret = bot.webhookSecret;
      if (!secret) {
        log.error('no hay secreto para el webhook: no se configura (defina TELEGRAM_WEBHOOK_SECRET)');
        return;
      }
      const ok = await untilDone('configurar el webhook (setWebhook)', () =>
        bot.delivery.useWebhook(webhookUrl, { secret, allowedUpdates: ALLOWED_UPDATES }),
      );
      if (ok) log.info({ webhookUrl }, 'webhook configurado en Telegram');
    }
  })();

  const loops: Promise<void>[] = [setup, bot.run(signal)];
  // The polling loop belongs to the delivery switch: a webhook set later (API) stops it, and
  // removing the webhook starts it again.
  const runner = createPollingRunner(bot, { logger });
  loops.push(
    setup.then(() => {
      if (signal.aborted) return;
      bot.delivery.attachPolling((s) => runner.run(s), signal, webhookUrl ? 'webhook' : 'polling');
    }),
  );
  const done = Promise.all(loops).then(
    () => bot.delivery.idle(),
    (err) => log.error({ err }, 'el bot se detuvo por un error'),
  );
  return { mode, webhookUrl, done };
}
