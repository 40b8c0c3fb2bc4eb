import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { UpdateQueue } from './state.js';
import { sleep, unixNow } from './util.js';

export interface WebhookConfig {
  url: string;
  secret?: string;
  allowedUpdates?: string[];
  maxConnections: number;
}

export interface DeliveryOptions {
  retryMs: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Extra trusted CA (PEM) for https webhooks. */
  ca?: string;
}

/**
 * POSTs queued updates to the webhook one at a time, oldest first. An update leaves the queue when the
 * webhook answers 2xx, or after `maxAttempts` failed attempts (then it counts in `failed`).
 */
export class WebhookDelivery {
  config: WebhookConfig | undefined;
  lastError: { date: number; message: string } | undefined;
  delivered = 0;
  failed = 0;
  // Invariant: at most one delivery loop runs; `running` is true exactly while it does.
  private running = false;
  private readonly attempts = new Map<number, number>();
  private readonly attemptWaiters = new Map<number, Array<() => void>>();

  constructor(
    private readonly queue: UpdateQueue,
    private readonly options: DeliveryOptions,
    private readonly lifetime: AbortSignal,
  ) {}

  set(config: WebhookConfig): void {
    if (this.config?.url !== config.url) this.lastError = undefined;
    this.config = config;
    this.kick();
  }

  remove(): void {
    this.config = undefined;
    this.settleAll();
  }

  /** Starts the delivery loop unless it runs already. */
  kick(): void {
    if (!this.running && this.config && !this.lifetime.aborted) void this.run();
  }

  /** Resolves after the first delivery attempt of the update (or when it will never be attempted). */
  afterFirstAttempt(updateId: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.attemptWaiters.get(updateId) ?? [];
      waiters.push(resolve);
      this.attemptWaiters.set(updateId, waiters);
    });
  }

  settleAll(): void {
    for (const waiters of this.attemptWaiters.values()) for (const resolve of waiters) resolve();
    this.attemptWaiters.clear();
  }

  private settle(updateId: number): void {
    for (const resolve of this.attemptWaiters.get(updateId) ?? []) resolve();
    this.attemptWaiters.delete(updateId);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const config = this.config;
        const update = this.queue.first();
        if (!config || !update || this.lifetime.aborted) break;
        const id = update.update_id;
        const ok = await this.post(config, update);
        if (ok) {
          this.queue.remove(id);
          this.attempts.delete(id);
          this.delivered++;
        } else {
          const attempts = (this.attempts.get(id) ?? 0) + 1;
          if (attempts >= this.options.maxAttempts) {
            this.queue.remove(id);
            this.attempts.delete(id);
            this.failed++;
          } else {
            this.attempts.set(id, attempts);
          }
        }
        this.settle(id);
        if (!ok) await sleep(this.options.retryMs, this.lifetime);
      }
    } catch {
      // Only the lifetime signal ends a sleep early: the stand-in is closing.
    } finally {
      this.running = false;
      // Nothing will be attempted until the next kick: no caller may keep waiting.
      this.settleAll();
    }
  }

  /** The same attempt through node:https trusting the extra CA (fetch cannot take one). Never throws. */
  private postTrusting(url: string, headers: Record<string, string>, update: object): Promise<boolean> {
    return new Promise((resolve) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          headers,
          ca: [...rootCertificates, this.options.ca!],
          signal: AbortSignal.any([this.lifetime, AbortSignal.timeout(this.options.timeoutMs)]),
        },
        (res) => {
          res.resume();
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(true);
            this.lastError = {
              date: unixNow(),
              message: `Wrong response from the webhook: ${status} ${res.statusMessage ?? ''}`.trim(),
            };
            resolve(false);
          });
        },
      );
      req.once('error', (error) => {
        if (!this.lifetime.aborted)
          this.lastError = { date: unixNow(), message: describeNetworkError({ cause: error }) };
        resolve(false);
      });
      req.end(JSON.stringify(update));
    });
  }

  /** One attempt; true when the webhook answered 2xx. Never throws. */
  private async post(config: WebhookConfig, update: object): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (config.secret) headers['x-telegram-bot-api-secret-token'] = config.secret;
    if (this.options.ca && config.url.startsWith('https:'))
      return this.postTrusting(config.url, headers, update);
    try {
      const response = await fetch(config.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(update),
        signal: AbortSignal.any([this.lifetime, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      // Read the body so the connection can be reused; webhook replies are not executed.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return true;
      this.lastError = {
        date: unixNow(),
        message: `Wrong response from the webhook: ${response.status} ${response.statusText}`.trim(),
      };
    } catch (error) {
      if (!this.lifetime.aborted) this.lastError = { date: unixNow(), message: describeNetworkError(error) };
    }
    return false;
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'Connection reset by peer';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Failed to resolve host: Name or service not known';
  }
  if ((error as { name?: string } | undefined)?.name === 'TimeoutError') return 'Read timeout expired';
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
