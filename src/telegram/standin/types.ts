/**
 * Public types of the Telegram Bot API stand-in: a real HTTP server on 127.0.0.1 that speaks enough of
 * the Bot API for tests and for the offline sandbox. JSON shapes follow https://core.telegram.org/bots/api
 * (snake_case, as on the wire).
 */

/** The `getMe` result. */
export interface BotInfo {
  id: number;
  is_bot: true;
  first_name: string;
  last_name?: string;
  username: string;
  can_join_groups: boolean;
  can_read_all_group_messages: boolean;
  supports_inline_queries: boolean;
  can_connect_to_business: boolean;
  has_main_web_app: boolean;
}

/**
 * Telegram-like rate limits, applied to `sendMessage` and `editMessageText` only.
 * Two token buckets must both have a token: one global, one per chat.
 */
export interface RateLimits {
  /** Global refill rate, messages per second (default 30). */
  globalPerSecond?: number;
  /** Per-chat refill rate, messages per second (default 1). */
  perChatPerSecond?: number;
  /** Global bucket size (default = globalPerSecond). */
  burst?: number;
  /**
   * Per-chat bucket size (default 2: one message per second plus a tolerance of one, since Telegram lets a
   * short burst through in a private chat). Three back-to-back messages to one chat hit the limit.
   */
  perChatBurst?: number;
}

export interface StandinOptions {
  /** The only accepted bot token; any other answers 401 (default '123456:TEST-TOKEN-standin'). */
  token?: string;
  /** Overrides for the `getMe` result. */
  botInfo?: Partial<BotInfo>;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
  /** Delay added before every answer, in ms (default 0). */
  latencyMs?: number;
  /** Rate limits; off unless given. */
  limits?: RateLimits | false;
  /** Delay between webhook delivery attempts of one update, in ms (default 50). */
  webhookRetryMs?: number;
  /** Attempts per update before it is dropped and counted in `webhook.failed` (default 5). */
  webhookMaxAttempts?: number;
  /** Timeout of one webhook POST, in ms (default 10 000). */
  webhookTimeoutMs?: number;
  /**
   * PEM certificate(s) of a CA the webhook's HTTPS server may be signed by, trusted besides the
   * system's (e.g. Caddy's local CA with `tls internal`), as Telegram trusts a public CA.
   */
  webhookCa?: string;
}

export type Fault =
  /** 429 'Too Many Requests: retry after N' with parameters.retry_after = N. */
  | { kind: 'retry_after'; seconds: number }
  /** 403 'Forbidden: bot was blocked by the user'. */
  | { kind: 'blocked' }
  /** 403 'Forbidden: user is deactivated'. */
  | { kind: 'deactivated' }
  /** 400 'Bad Request: chat not found'. */
  | { kind: 'chat_not_found' }
  /** 5xx (default 500). */
  | { kind: 'server_error'; status?: number }
  /** 401 'Unauthorized'. */
  | { kind: 'unauthorized' }
  /** Answers correctly, but `ms` later. */
  | { kind: 'slow'; ms: number }
  /** Destroys the socket without answering. */
  | { kind: 'drop' }
  /**
   * A Bot API server or proxy that echoes the request URL — token included — in its error
   * description: 502 'Bad Gateway: upstream error for POST https://api.telegram.org/bot<token>/…'
   * (or, with `status: 400`, 'Bad Request: chat not found (POST …)'). `encoded` writes the
   * token's ':' as '%3A', as some proxies do.
   */
  | { kind: 'echo_url'; status?: number; encoded?: boolean };

export interface FaultFilter {
  /** Exact Bot API method name. Without it a fault matches every method except `getUpdates`. */
  method?: string;
  /** Matches calls whose `chat_id` is this chat. */
  chatId?: number;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [key: string]: unknown;
}

/** One Telegram HTML module for the service and the stand-in (src/telegram/html.ts). */
export type { MessageEntity } from '../html.js';

/** A message the bot sent or edited successfully. */
export interface SentMessage {
  message_id: number;
  chat_id: number;
  /** The text as the bot sent it (markup included). */
  text: string;
  parse_mode: string | undefined;
  reply_markup: unknown;
  /** Unix time, seconds. */
  date: number;
  method: 'sendMessage' | 'editMessageText';
}

/**
 * One Bot API call, successful or not. `status` is the HTTP status, or 0 when no answer was sent (a `drop`
 * fault, a client that hung up, or the stand-in closing).
 */
export interface CallRecord {
  method: string;
  params: Record<string, unknown>;
  /** Arrival time, ms since the epoch. */
  at: number;
  status: number;
}

export interface StandinStats {
  /** Recorded calls (same as `calls.length` until `reset`). */
  calls: number;
  /** Successful sendMessage/editMessageText. */
  sent: number;
  /** 429 answers, from rate limits and from faults. */
  tooMany: number;
}

export interface WebhookStatus {
  url?: string;
  secret?: string;
  allowedUpdates?: string[];
  lastError?: { date: number; message: string };
  /** Updates not yet delivered (or, without a webhook, not yet fetched by getUpdates). */
  pending: number;
  /** Updates the webhook accepted with a 2xx. */
  delivered: number;
  /** Updates dropped after `webhookMaxAttempts` failed attempts. */
  failed: number;
}

export type ChatType = 'private' | 'group' | 'supergroup';

export interface FakeUserOptions {
  chatId: number;
  /** Default: chatId for a private chat, |chatId| otherwise. */
  userId?: number;
  /** Default 'Test'. */
  firstName?: string;
  username?: string;
  /** Default 'private'. */
  chatType?: ChatType;
  /** Sent as from.language_code when given. */
  languageCode?: string;
}

/** A simulated Telegram user. Every action resolves once its update is queued (or, with a webhook, POSTed). */
export interface FakeUser {
  readonly chatId: number;
  readonly userId: number;
  /** A text message; a leading '/command' gets a bot_command entity like on Telegram. */
  send(text: string): Promise<void>;
  /** '/cmd' or '/cmd payload' ('cmd' may be given with or without the slash). */
  command(cmd: string, payload?: string): Promise<void>;
  /**
   * Shares a contact. `userId` defaults to the user's own id; another id simulates forwarding someone
   * else's contact; null omits user_id (a contact without a Telegram account).
   */
  shareContact(phone: string, opts?: { userId?: number | null; firstName?: string }): Promise<void>;
  /**
   * Presses an inline button: a callback_query with `data` whose message is the bot's last message in this
   * chat, or message `messageId`. Rejects when the chat has no bot message and no messageId is given.
   * The data is not checked against the message's keyboard, so stale or forged presses can be simulated.
   */
  press(data: string, messageId?: number): Promise<void>;
  /**
   * Sends a photo (served back by getFile and the file download). `fileSize` overrides the size told
   * to the bot, to simulate a client that lies about it.
   */
  sendPhoto(bytes: Uint8Array, opts?: { caption?: string; fileSize?: number }): Promise<void>;
  /** Sends a document (a PDF, or anything renamed) with its file name and MIME type as the client says. */
  sendDocument(
    bytes: Uint8Array,
    opts: { fileName: string; mimeType?: string; fileSize?: number; caption?: string },
  ): Promise<void>;
  /** my_chat_member member -> kicked; afterwards sends to this chat answer 403. */
  block(): Promise<void>;
  /** my_chat_member kicked -> member; sends work again. */
  unblock(): Promise<void>;
}

export interface Standin {
  /** Base URL without trailing slash, e.g. 'http://127.0.0.1:40123' (grammY apiRoot / TELEGRAM_API_ROOT). */
  readonly url: string;
  readonly token: string;
  readonly botInfo: BotInfo;
  /** Closes the server, ends long polls and sockets, stops timers. Idempotent. */
  close(): Promise<void>;

  /** Every successful sendMessage/editMessageText, oldest first. */
  readonly sent: SentMessage[];
  /** Every call, including failed ones, in the order they were answered. */
  readonly calls: CallRecord[];
  readonly stats: StandinStats;
  sentTo(chatId: number): SentMessage[];
  /** First sent message matching (already sent or future); rejects after timeoutMs (default 5000). */
  waitForSent(predicate: (m: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  /** Clears sent, calls, stats, faults and rate-limit buckets. Chats, updates and the webhook stay. */
  reset(): void;

  user(opts: FakeUserOptions): FakeUser;
  /** Queues a raw update as is (update_id is assigned when missing; allowed_updates is not applied). */
  pushUpdate(update: object): Promise<void>;
  /** Updates waiting for getUpdates or webhook delivery. */
  readonly pendingUpdates: number;

  /** The next n calls matching the filter fail with the fault (queued faults are used first-in first-out). */
  failNext(n: number, fault: Fault, filter?: FaultFilter): void;
  /** Each sendMessage fails with probability `rate`, with a fault picked from `faults` (seeded PRNG). */
  failRate(rate: number, faults: Fault[], seed?: number): void;
  clearFaults(): void;

  /** Chats that answer 400 'chat not found'. */
  readonly unknownChats: Set<number>;
  setLatency(ms: number): void;
  setLimits(limits: RateLimits | false): void;

  readonly webhook: WebhookStatus;
}
