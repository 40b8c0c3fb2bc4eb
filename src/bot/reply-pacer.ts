import type { Api } from 'grammy';
import type { Queryable } from '../db/index.js';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logger.js';
import { pauseSendSlots, reserveSendSlots } from '../notifications/outbox.js';
import { type PaceClock, realPaceClock, SlotPacer } from '../notifications/rate-limiter.js';

/** Methods that put a message in a chat: they count against Telegram's global limit. */
const PACED = new Set(['sendMessage', 'editMessageText', 'sendPhoto', 'sendDocument', 'copyMessage']);

export interface ReplyPacerOptions {
  db: Queryable;
  /** The same rate the dispatcher uses (SEND_RATE): bot replies and notices share its slots. */
  ratePerSecond: number;
  logger: Logger;
  /**
   * Longest total wait for one call's 429s. Beyond it the call fails as it is (logged): an update
   * must finish before its inbox lease ends or the sweeper would handle it twice. Default 50 s.
   */
  maxWaitMs?: number;
  clock?: PaceClock;
}

/**
 * Bot replies go through the dispatcher's pacer (`dispatch_pacer`, the slots every instance shares),
 * so a campaign and the replies together stay under the rate; a reply that still meets a 429
 * pushes every sender back by `retry_after` and is sent again after it — never dropped for a 429.
 */
export function installReplyPacer(api: Api, o: ReplyPacerOptions): void {
  const log = o.logger.child({ component: 'bot' });
  const clock = o.clock ?? realPaceClock;
  const maxWaitMs = o.maxWaitMs ?? 50_000;
  const chunk = Math.max(1, Math.ceil((Number.isFinite(o.ratePerSecond) ? o.ratePerSecond : 1000) / 4));
  // Replies of concurrent handlers asking together share one reservation (see SlotPacer).
  const slots = new SlotPacer(
    o.ratePerSecond,
    (n, interval, now) => reserveSendSlots(o.db, n, interval, now),
    chunk,
  );

  api.config.use(async (prev, method, payload, signal) => {
    if (!PACED.has(method)) return prev(method, payload, signal);
    const abort = signal as unknown as AbortSignal | undefined;
    let waited = 0;
    for (;;) {
      const at = await slots.next(clock.now(), 1);
      const wait = at - clock.now();
      if (wait > 0) await sleep(wait, abort);
      const res = await prev(method, payload, signal);
      if (res.ok || res.error_code !== 429) return res;
      const retryMs = Math.max(1, res.parameters?.retry_after ?? 1) * 1000;
      if (waited + retryMs > maxWaitMs) {
        log.error(
          { method, esperaMs: retryMs },
          'Telegram pide esperar más de lo que la actualización puede retener: la respuesta no se envió',
        );
        return res;
      }
      const until = clock.now() + retryMs;
      slots.pause(until);
      await pauseSendSlots(o.db, until).catch(() => {});
      log.warn({ method, esperaMs: retryMs }, 'Telegram pidió esperar (429): la respuesta sale después');
      await sleep(retryMs, abort);
      waited += retryMs;
    }
  });
}
