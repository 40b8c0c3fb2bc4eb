import { setMaxListeners } from 'node:events';
import { ApiError, badRequest, forbidden, tooManyRequests } from './errors.js';
import { FaultPlan } from './faults.js';
import { FileStore } from './files.js';
import { RateLimiter } from './rate-limit.js';
import { ChatStore, isAllowedUpdate, UpdateQueue } from './state.js';
import type {
  BotInfo,
  CallRecord,
  FakeUser,
  FakeUserOptions,
  Fault,
  FaultFilter,
  RateLimits,
  SentMessage,
  StandinOptions,
  StandinStats,
  WebhookStatus,
} from './types.js';
import { SimulatedUser, type UserHost } from './users.js';
import { WebhookDelivery } from './webhook.js';

export const DEFAULT_TOKEN = '123456:TEST-TOKEN-standin';

const DEFAULT_BOT_INFO: BotInfo = {
  id: 123456,
  is_bot: true,
  first_name: 'TelTec Bot',
  username: 'TelTecTestBot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
};

/** How a waiting getUpdates ended. */
export type PollEnd = 'update' | 'timeout' | 'close' | 'gone' | 'terminated' | 'webhook';

interface Poller {
  finish(end: PollEnd): void;
}

interface SentWaiter {
  predicate: (m: SentMessage) => boolean;
  resolve: (m: SentMessage) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface BotCommand {
  command: string;
  description: string;
}

/**
 * Everything the stand-in knows and does, without HTTP: recorded calls, chats, the update queue, faults,
 * rate limits, the webhook. The HTTP server (server.ts) and the Bot API methods (methods.ts) build on it.
 */
export class StandinCore implements UserHost {
  readonly token: string;
  readonly botInfo: BotInfo;
  readonly sent: SentMessage[] = [];
  readonly calls: CallRecord[] = [];
  readonly stats: StandinStats = { calls: 0, sent: 0, tooMany: 0 };
  readonly chats = new ChatStore();
  readonly updates = new UpdateQueue();
  readonly faults = new FaultPlan();
  readonly commands = new Map<string, BotCommand[]>();
  /** Photos and documents users sent (getFile, file downloads). */
  readonly files = new FileStore();
  /** allowed_updates of the last getUpdates call that gave it. */
  pollingAllowedUpdates: string[] | undefined;
  latencyMs: number;
  /** Aborted by close(): ends sleeps, webhook requests and long polls. */
  protected readonly lifetime = new AbortController();
  readonly delivery: WebhookDelivery;
  private limits: RateLimits | false;
  private limiter: RateLimiter | undefined;
  private readonly sentWaiters = new Set<SentWaiter>();
  private readonly pollers = new Set<Poller>();
  private callbackQuerySeq = 0;

  constructor(opts: StandinOptions) {
    // Every request in flight sleeps on this signal: hundreds at once is normal, not a leak.
    setMaxListeners(0, this.lifetime.signal);
    this.token = opts.token ?? DEFAULT_TOKEN;
    this.botInfo = { ...DEFAULT_BOT_INFO, ...opts.botInfo, is_bot: true };
    this.latencyMs = nonNegative(opts.latencyMs ?? 0, 'latencyMs');
    this.limits = opts.limits ?? false;
    this.limiter = this.limits ? new RateLimiter(this.limits) : undefined;
    this.delivery = new WebhookDelivery(
      this.updates,
      {
        retryMs: nonNegative(opts.webhookRetryMs ?? 50, 'webhookRetryMs'),
        maxAttempts: Math.max(1, opts.webhookMaxAttempts ?? 5),
        timeoutMs: opts.webhookTimeoutMs ?? 10_000,
        ...(opts.webhookCa !== undefined && { ca: opts.webhookCa }),
      },
      this.lifetime.signal,
    );
  }

  get closed(): boolean {
    return this.lifetime.signal.aborted;
  }

  // ------------------------------------------------------------------------------- what the bot did

  recordCall(call: CallRecord): void {
    this.calls.push(call);
    this.stats.calls++;
    if (call.status === 429) this.stats.tooMany++;
  }

  recordSent(message: SentMessage): void {
    this.sent.push(message);
    this.stats.sent++;
    for (const waiter of this.sentWaiters) {
      let matched: boolean;
      try {
        matched = waiter.predicate(message);
      } catch (error) {
        this.endWaiter(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (matched) {
        this.endWaiter(waiter);
        waiter.resolve(message);
      }
    }
  }

  sentTo(chatId: number): SentMessage[] {
    return this.sent.filter((m) => m.chat_id === chatId);
  }

  waitForSent(predicate: (m: SentMessage) => boolean, timeoutMs = 5000): Promise<SentMessage> {
    const found = this.sent.find(predicate);
    if (found) return Promise.resolve(found);
    if (this.closed) return Promise.reject(new Error('waitForSent: the stand-in is closed'));
    return new Promise((resolve, reject) => {
      const waiter: SentWaiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.sentWaiters.delete(waiter);
          const last = this.sent.at(-1);
          const lastText = last ? `; last: ${JSON.stringify(last.text.slice(0, 80))}` : '';
          reject(
            new Error(
              `waitForSent: no matching message within ${timeoutMs} ms (${this.sent.length} sent${lastText})`,
            ),
          );
        }, timeoutMs),
      };
      this.sentWaiters.add(waiter);
    });
  }

  private endWaiter(waiter: SentWaiter): void {
    clearTimeout(waiter.timer);
    this.sentWaiters.delete(waiter);
  }

  reset(): void {
    // Truncate in place: callers may hold references to these arrays.
    this.sent.length = 0;
    this.calls.length = 0;
    this.stats.calls = 0;
    this.stats.sent = 0;
    this.stats.tooMany = 0;
    this.faults.clear();
    this.limiter = this.limits ? new RateLimiter(this.limits) : undefined;
  }

  // ------------------------------------------------------------------------------- faults and limits

  failNext(n: number, fault: Fault, filter?: FaultFilter): void {
    this.faults.failNext(n, fault, filter);
  }

  failRate(rate: number, faults: Fault[], seed?: number): void {
    this.faults.failRate(rate, faults, seed);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  get unknownChats(): Set<number> {
    return this.chats.unknown;
  }

  setLatency(ms: number): void {
    this.latencyMs = nonNegative(ms, 'latency');
  }

  setLimits(limits: RateLimits | false): void {
    this.limits = limits;
    this.limiter = limits ? new RateLimiter(limits) : undefined;
  }

  /** Takes a rate-limit token for a message to the chat, or throws 429. */
  rateLimit(chatId: number): void {
    const wait = this.limiter?.acquire(chatId) ?? 0;
    if (wait > 0) throw tooManyRequests(wait);
  }

  /** Throws the error Telegram gives for sending to an unknown chat or to a user who blocked the bot. */
  checkChatWritable(chatId: number): void {
    if (this.chats.unknown.has(chatId)) throw badRequest('chat not found');
    if (!this.chats.blocked.has(chatId)) return;
    const type = this.chats.chat(chatId).type;
    if (type === 'private') throw forbidden('bot was blocked by the user');
    throw forbidden(`bot was kicked from the ${type} chat`);
  }

  // ---------------------------------------------------------------------------------------- updates

  user(opts: FakeUserOptions): FakeUser {
    return new SimulatedUser(this, opts);
  }

  pushUpdate(update: object): Promise<void> {
    return this.enqueue({ ...update }, false);
  }

  deliverUpdate(body: Record<string, unknown>): Promise<void> {
    return this.enqueue(body, true);
  }

  nextCallbackQueryId(): string {
    this.callbackQuerySeq++;
    return `${this.botInfo.id}${String(this.callbackQuerySeq).padStart(8, '0')}`;
  }

  get pendingUpdates(): number {
    return this.updates.length;
  }

  /**
   * Queues an update, wakes long polls and starts webhook delivery. With a webhook, resolves after the
   * first POST of this update completed (successfully or not), so tests can await its effect.
   */
  private async enqueue(body: Record<string, unknown>, applyAllowedUpdates: boolean): Promise<void> {
    if (this.closed) throw new Error('the stand-in is closed');
    const type = Object.keys(body).find((key) => key !== 'update_id');
    const allowed = this.delivery.config ? this.delivery.config.allowedUpdates : this.pollingAllowedUpdates;
    if (applyAllowedUpdates && type !== undefined && !isAllowedUpdate(type, allowed)) return;
    const update = this.updates.push(body);
    this.finishPollers('update');
    if (!this.delivery.config) return;
    const attempted = this.delivery.afterFirstAttempt(update.update_id);
    this.delivery.kick();
    await attempted;
  }

  /** Waits for the next queued update, the timeout, or the end of the poll. */
  waitForUpdates(timeoutMs: number, clientGone: AbortSignal): Promise<PollEnd> {
    return new Promise((resolve) => {
      const onGone = () => poller.finish('gone');
      const timer = setTimeout(() => poller.finish('timeout'), timeoutMs);
      const poller: Poller = {
        finish: (end) => {
          clearTimeout(timer);
          clientGone.removeEventListener('abort', onGone);
          this.pollers.delete(poller);
          resolve(end);
        },
      };
      this.pollers.add(poller);
      clientGone.addEventListener('abort', onGone, { once: true });
      if (clientGone.aborted) onGone();
    });
  }

  finishPollers(end: PollEnd): void {
    for (const poller of [...this.pollers]) poller.finish(end);
  }

  dropPendingUpdates(): void {
    this.updates.clear();
    this.delivery.settleAll();
  }

  get webhook(): WebhookStatus {
    const { config, lastError, delivered, failed } = this.delivery;
    return {
      ...(config && { url: config.url }),
      ...(config?.secret !== undefined && { secret: config.secret }),
      ...(config?.allowedUpdates !== undefined && { allowedUpdates: [...config.allowedUpdates] }),
      ...(lastError && { lastError: { ...lastError } }),
      pending: this.updates.length,
      delivered,
      failed,
    };
  }

  /** Ends everything that is not HTTP: long polls answer, waiters reject, delivery and timers stop. */
  protected shutdown(): void {
    this.lifetime.abort(new ApiError(503, 'Service Unavailable: the stand-in is closing'));
    this.finishPollers('close');
    this.delivery.settleAll();
    for (const waiter of [...this.sentWaiters]) {
      this.endWaiter(waiter);
      waiter.reject(new Error('waitForSent: the stand-in was closed'));
    }
  }
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}
