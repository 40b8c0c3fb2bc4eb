import type { BotService, ReceiveOutcome } from './bot.js';
import { isDataError } from './db-errors.js';

/** The logging the webhook needs (a pino or Fastify request logger). */
export interface WebhookLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type WebhookResult =
  | { status: 200; outcome: ReceiveOutcome }
  /** Our failure (database unreachable, stopping): Telegram must deliver the update again. */
  | { status: 503; reason: string };

/**
 * What the webhook answers for one body, secret already checked. Never throws. 200 for anything
 * that is not our fault — a malformed or unknown body would only be sent again and stall the
 * chat's queue at Telegram; 503 only when the update could not be recorded.
 */
export async function acceptWebhookBody(
  service: BotService,
  raw: string | Buffer | undefined,
  log: WebhookLog,
): Promise<WebhookResult> {
  const text = raw === undefined ? '' : typeof raw === 'string' ? raw : raw.toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    log.warn({ bytes: text.length }, 'webhook: el cuerpo no es JSON; ignorado');
    return { status: 200, outcome: 'ignorado' };
  }
  try {
    return { status: 200, outcome: await service.receive(body, text) };
  } catch (err) {
    if (isDataError(err)) {
      log.warn({ err }, 'webhook: la actualización no se puede guardar tal como llegó; ignorada');
      return { status: 200, outcome: 'ignorado' };
    }
    log.error({ err }, 'webhook: no se pudo registrar la actualización; Telegram la reenviará');
    return {
      status: 503,
      reason: (err as { code?: string }).code === 'BOT_STOPPING' ? 'deteniendo' : 'base_de_datos',
    };
  }
}
