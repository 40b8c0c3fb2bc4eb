import {
  classifyTelegramFailure,
  describeFailure,
  type TelegramFailure,
  type TelegramSender,
} from '../telegram/send.js';
import type { ChannelAdapter, ChannelFailure, ChannelPacing, ChannelVerdict } from './types.js';

/**
 * Telegram as a channel: sends through src/telegram/send.ts and judges failures with its one
 * classifier (`classifyTelegramFailure`). Telegram reports no delivery: its attempts stay
 * `enviado`. The provider id is 'chatId:messageId' (message ids are unique per chat only).
 */

export interface TelegramChannelOptions {
  sender: TelegramSender;
  /** SEND_RATE, SEND_PER_CHAT_RATE, SEND_CONCURRENCY (read per call: Ajustes may change them). */
  pacing: () => ChannelPacing;
  paidBroadcast?: boolean;
  /** Longest pause a 429 may impose (default 60 s). */
  maxRetryAfterMs?: number;
}

/** ChannelFailure → the Telegram failure it came from (the code carries the kind). */
function toTelegram(f: ChannelFailure): TelegramFailure {
  if (f.network || f.code === 'network' || f.code === 'timeout') {
    return { kind: 'network', message: f.message, timeout: f.code === 'timeout' };
  }
  return {
    kind: 'api',
    code: Number(f.code),
    description: f.message,
    ...(f.retryAfterMs !== undefined && { retryAfter: f.retryAfterMs / 1000 }),
  };
}

/** A Telegram failure as a channel failure (code: the HTTP-like error code, 'network' or 'timeout'). */
export function toChannelFailure(f: TelegramFailure): ChannelFailure {
  if (f.kind === 'network') {
    return { code: f.timeout ? 'timeout' : 'network', message: describeFailure(f), network: true };
  }
  return {
    code: String(f.code),
    message: f.description,
    httpStatus: f.code,
    ...(f.retryAfter !== undefined && { retryAfterMs: f.retryAfter * 1000 }),
  };
}

/** Telegram's verdict in the channel vocabulary. */
export function classifyTelegramChannelFailure(f: ChannelFailure, maxRetryAfterMs?: number): ChannelVerdict {
  const v = classifyTelegramFailure(toTelegram(f), maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs });
  switch (v.action) {
    case 'pause':
      return { action: 'pause', waitMs: v.waitMs, reason: v.reason, capped: v.capped };
    case 'retry':
      return { action: 'retry', reason: v.reason };
    case 'stop':
      return { action: 'stop', reason: v.reason };
    case 'fail':
      return v.unreachable
        ? { action: 'fail', reason: v.reason, unreachable: { reason: v.reason } }
        : { action: 'fail', reason: v.reason };
  }
}

export function createTelegramChannel(o: TelegramChannelOptions): ChannelAdapter {
  return {
    name: 'telegram',
    reportsDelivery: false,
    pacing: o.pacing,
    async send(m) {
      const chatId = Number(m.to);
      if (!Number.isSafeInteger(chatId)) {
        return {
          ok: false,
          failure: { code: '400', message: 'Bad Request: chat not found', httpStatus: 400 },
        };
      }
      const buttons = m.composed.buttons ?? [];
      const r = await o.sender.sendMessage(chatId, m.composed.text, {
        html: m.composed.html,
        paidBroadcast: o.paidBroadcast ?? false,
        // Payment notices' buttons (issue 13): an inline keyboard, two to a row; `id` is the callback data.
        ...(buttons.length > 0 && {
          replyMarkup: {
            inline_keyboard: Array.from({ length: Math.ceil(buttons.length / 2) }, (_, i) =>
              buttons.slice(i * 2, i * 2 + 2).map((b) => ({ text: b.title, callback_data: b.id })),
            ),
          },
        }),
        signal: m.signal,
      });
      if (r.ok) return { ok: true, providerId: `${chatId}:${r.messageId}`, messageNumber: r.messageId };
      return { ok: false, failure: toChannelFailure(r.failure) };
    },
    classify: (f) => classifyTelegramChannelFailure(f, o.maxRetryAfterMs),
    async check(signal) {
      const r = await o.sender.checkToken(signal);
      return r.ok ? { ok: true, detail: 'token válido' } : { ok: false, detail: describeFailure(r.failure) };
    },
  };
}
