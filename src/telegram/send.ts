import { Api, GrammyError, HttpError } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { redactBotToken, rememberSecret } from './redact.js';

/**
 * Sending to Telegram for the notification engine, and the one classifier of failed calls.
 *
 * Two error kinds, as in grammY: "Telegram answered no" (`api`: code, description,
 * `parameters.retry_after`) and "could not reach Telegram" (`network`: refused, reset, dropped,
 * timed out). `classifyTelegramFailure` is the pure function that turns either into what the
 * sender does next; every send goes through it.
 */

export type TelegramFailure =
  | { kind: 'api'; code: number; description: string; retryAfter?: number }
  | { kind: 'network'; message: string; timeout: boolean };

export type SendResult =
  | { ok: true; messageId: number; date: number }
  | { ok: false; failure: TelegramFailure };

/** Why a chat cannot be reached; stored in clients.telegram_unreachable. */
export type UnreachableReason = 'blocked' | 'deactivated' | 'chat_not_found';

export type Verdict =
  /** 429: every send of the dispatcher waits `waitMs`; the row goes back to the queue, uncounted. */
  | { action: 'pause'; waitMs: number; capped: boolean; reason: 'rate_limited' }
  /** 5xx, network errors, timeouts: retry this row later with backoff. */
  | { action: 'retry'; reason: 'server_error' | 'network' | 'timeout' }
  /** This row can never be sent: fail it now. `unreachable` marks the client. */
  | { action: 'fail'; reason: UnreachableReason | 'rejected'; unreachable: boolean }
  /** 401 (or 404: wrong token or API root): stop sending everything and alert. */
  | { action: 'stop'; reason: 'unauthorized' };

export interface ClassifyOptions {
  /** Longest pause a 429 may impose; a longer `retry_after` is capped (default 60 s). */
  maxRetryAfterMs?: number;
}

/** The one classifier of failed Telegram calls. Pure: same input, same verdict. */
export function classifyTelegramFailure(f: TelegramFailure, opts: ClassifyOptions = {}): Verdict {
  if (f.kind === 'network') return { action: 'retry', reason: f.timeout ? 'timeout' : 'network' };
  const text = f.description.toLowerCase();
  if (f.code === 429) {
    const max = opts.maxRetryAfterMs ?? 60_000;
    const asked = Math.max(1, f.retryAfter ?? 1) * 1000;
    return { action: 'pause', waitMs: Math.min(asked, max), capped: asked > max, reason: 'rate_limited' };
  }
  if (f.code === 401 || f.code === 404) return { action: 'stop', reason: 'unauthorized' };
  if (f.code >= 500 || f.code === 409 || f.code === 420) return { action: 'retry', reason: 'server_error' };
  if (f.code === 403) {
    if (text.includes('deactivated')) return { action: 'fail', reason: 'deactivated', unreachable: true };
    // blocked by the user, kicked from a group, can't initiate conversation: the chat is closed to us.
    return { action: 'fail', reason: 'blocked', unreachable: true };
  }
  if (f.code === 400 && /chat not found|user not found|peer_id_invalid|chat_id is empty/.test(text)) {
    return { action: 'fail', reason: 'chat_not_found', unreachable: true };
  }
  // Any other 400: this message is wrong (bad markup, too long…); retrying sends the same thing.
  return { action: 'fail', reason: 'rejected', unreachable: false };
}

export interface BackoffOptions {
  /** Delay after the first failed attempt (default 60 s). */
  baseMs: number;
  /** Growth per attempt (default 4: 1 min, 4 min, 16 min, 64 min, 4 h 16 min). */
  factor: number;
  /** Longest delay (default 6 h). */
  maxMs: number;
  /** ± share of the delay drawn at random so that failed rows do not come back together (default 0.2). */
  jitter: number;
}

export const defaultBackoff: BackoffOptions = {
  baseMs: 60_000,
  factor: 4,
  maxMs: 6 * 3600_000,
  jitter: 0.2,
};

/** Delay before the next attempt after `attempt` failed attempts (1-based). Pure given `random`. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number): number {
  const raw = Math.min(opts.maxMs, opts.baseMs * opts.factor ** Math.max(0, attempt - 1));
  const spread = raw * opts.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(raw + spread));
}

/** Text for `ultimo_error`: code and description, or the network error, never the token. */
export function describeFailure(f: TelegramFailure): string {
  const text = f.kind === 'api' ? `${f.code}: ${f.description}` : `red: ${f.message}`;
  return redactBotToken(text).slice(0, 500);
}

/** Maps anything a grammY call threw to a TelegramFailure. */
export function toTelegramFailure(err: unknown): TelegramFailure {
  if (err instanceof GrammyError) {
    return {
      kind: 'api',
      code: err.error_code,
      description: redactBotToken(err.description),
      ...(err.parameters.retry_after !== undefined && { retryAfter: err.parameters.retry_after }),
    };
  }
  if (err instanceof HttpError) {
    const inner = err.error as { message?: string; name?: string; type?: string } | undefined;
    const message = inner?.message ?? err.message;
    const timeout = /timed out|timeout/i.test(message) || inner?.name === 'AbortError';
    return { kind: 'network', message: redactBotToken(message), timeout };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'network', message: redactBotToken(message), timeout: /timed out|timeout/i.test(message) };
}

export interface SendOptions {
  /** true = the text is Telegram HTML (values already escaped). */
  html: boolean;
  /** Telegram's paid broadcasts (up to 1000 msg/s, charged in Stars). */
  paidBroadcast?: boolean;
  /** Inline keyboard (payment notices' buttons). */
  replyMarkup?: InlineKeyboardMarkup;
  signal?: AbortSignal;
}

/** What the engine needs from Telegram. Never throws: a failure is a value. */
export interface TelegramSender {
  sendMessage(chatId: number, text: string, opts: SendOptions): Promise<SendResult>;
  /** Checks the token (used to resume after a 401). */
  checkToken(signal?: AbortSignal): Promise<SendResult>;
}

export interface TelegramSenderOptions {
  token: string;
  /** Bot API root without trailing slash (the stand-in's URL in tests). */
  apiRoot: string;
  /** Longest wait for one call before it counts as a timeout (default 30 s). */
  timeoutMs?: number;
}

/** sendMessage's options for a message of ours: the same for the dispatcher and the test send. */
export function telegramMessageOptions(o: {
  html: boolean;
  paidBroadcast?: boolean | undefined;
  replyMarkup?: InlineKeyboardMarkup | undefined;
}) {
  return {
    ...(o.html && { parse_mode: 'HTML' as const }),
    ...(o.paidBroadcast && { allow_paid_broadcast: true }),
    ...(o.replyMarkup && { reply_markup: o.replyMarkup }),
    link_preview_options: { is_disabled: true },
  };
}

/** The engine's Telegram client, on grammY's `Api`. */
export function createTelegramSender(opts: TelegramSenderOptions): TelegramSender {
  rememberSecret(opts.token);
  const api = new Api(opts.token, {
    apiRoot: opts.apiRoot,
    timeoutSeconds: (opts.timeoutMs ?? 30_000) / 1000,
  });
  return {
    async sendMessage(chatId, text, o) {
      try {
        const m = await api.sendMessage(
          chatId,
          text,
          telegramMessageOptions(o),
          o.signal as Parameters<Api['sendMessage']>[3],
        );
        return { ok: true, messageId: m.message_id, date: m.date };
      } catch (err) {
        return { ok: false, failure: toTelegramFailure(err) };
      }
    },
    async checkToken(signal) {
      try {
        const me = await api.getMe(signal as Parameters<Api['getMe']>[0]);
        return { ok: true, messageId: 0, date: me.id };
      } catch (err) {
        return { ok: false, failure: toTelegramFailure(err) };
      }
    },
  };
}
