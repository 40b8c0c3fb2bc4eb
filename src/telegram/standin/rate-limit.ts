import type { RateLimits } from './types.js';

/** A token bucket refilled lazily from the clock: no timers. */
class TokenBucket {
  // Invariant: 0 <= tokens <= burst after every refill.
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Seconds until one token is available; 0 when one is available now. */
  waitSeconds(now: number): number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return this.tokens >= 1 ? 0 : (1 - this.tokens) / this.perSecond;
  }

  take(): void {
    this.tokens -= 1;
  }

  /** Full again: the bucket can be forgotten. */
  isFull(now: number): boolean {
    return this.waitSeconds(now) === 0 && this.tokens >= this.burst;
  }
}

export const DEFAULT_LIMITS: Required<RateLimits> = {
  globalPerSecond: 30,
  perChatPerSecond: 1,
  burst: 30,
  perChatBurst: 2,
};

/** Global and per-chat buckets; a message passes only when both have a token, and then takes one from each. */
export class RateLimiter {
  private readonly limits: Required<RateLimits>;
  private readonly global: TokenBucket;
  private readonly perChat = new Map<number, TokenBucket>();

  constructor(
    limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    const globalPerSecond = positive(
      limits.globalPerSecond,
      DEFAULT_LIMITS.globalPerSecond,
      'globalPerSecond',
    );
    this.limits = {
      globalPerSecond,
      perChatPerSecond: positive(
        limits.perChatPerSecond,
        DEFAULT_LIMITS.perChatPerSecond,
        'perChatPerSecond',
      ),
      burst: positive(limits.burst, globalPerSecond, 'burst'),
      perChatBurst: positive(limits.perChatBurst, DEFAULT_LIMITS.perChatBurst, 'perChatBurst'),
    };
    this.global = new TokenBucket(this.limits.globalPerSecond, this.limits.burst, now());
  }

  /** 0 when the message may go now (a token was taken), else the seconds to wait (nothing taken). */
  acquire(chatId: number): number {
    const now = this.now();
    let chat = this.perChat.get(chatId);
    if (!chat) {
      if (this.perChat.size >= 10_000) this.forgetFullBuckets(now);
      chat = new TokenBucket(this.limits.perChatPerSecond, this.limits.perChatBurst, now);
      this.perChat.set(chatId, chat);
    }
    const wait = Math.max(this.global.waitSeconds(now), chat.waitSeconds(now));
    if (wait > 0) return wait;
    this.global.take();
    chat.take();
    return 0;
  }

  private forgetFullBuckets(now: number): void {
    for (const [chatId, bucket] of this.perChat) if (bucket.isFull(now)) this.perChat.delete(chatId);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0))
    throw new RangeError(`limits.${name} must be a positive number`);
  return value;
}
