/**
 * Pacing of sends. Two limits, both must allow a send:
 * - global: send slots `1000 / rate` ms apart, reserved in small chunks from a source shared by
 *   every instance (the `dispatch_pacer` row), so several instances together stay under the rate;
 * - per chat: one message per `1000 / perChatRate` ms to the same client, inside this process
 *   (across instances the claim never hands out a client another instance is sending to).
 * Times are wall-clock epoch milliseconds from a `PaceClock` (real time: Telegram counts real seconds).
 */

import { createBatcher } from '../lib/batch.js';

export interface PaceClock {
  now(): number;
}

export const realPaceClock: PaceClock = { now: () => Date.now() };

/** Reserves `n` slots `intervalMs` apart from the shared pacer; resolves to the first slot's time. */
export type ReserveSlots = (n: number, intervalMs: number, nowMs: number) => Promise<number>;

export class SlotPacer {
  readonly intervalMs: number;
  // Invariant: slots ascending; every slot was reserved for this process and is used at most once.
  private slots: number[] = [];
  private pausedUntil = 0;
  private readonly reserve: ReserveSlots | undefined;

  constructor(
    ratePerSecond: number,
    reserve: ReserveSlots | undefined,
    private readonly chunk: number,
  ) {
    this.intervalMs = Number.isFinite(ratePerSecond) ? 1000 / ratePerSecond : 0;
    this.reserve = reserve && groupReservations(reserve);
  }

  get unlimited(): boolean {
    return this.intervalMs === 0;
  }

  /** Epoch ms at which the next send may start (reserving slots when none is left). */
  async next(nowMs: number, wanted: number): Promise<number> {
    if (this.unlimited) return Math.max(nowMs, this.pausedUntil);
    // A slot that passed unused is not banked: using it late would let a burst through.
    while (this.slots.length && this.slots[0]! < nowMs - this.intervalMs) this.slots.shift();
    while (this.slots.length && this.slots[0]! < this.pausedUntil) this.slots.shift();
    if (this.slots.length === 0) {
      const n = Math.max(1, Math.min(this.chunk, wanted));
      const from = Math.max(nowMs, this.pausedUntil);
      const start = this.reserve ? await this.reserve(n, this.intervalMs, from) : this.localStart(from, n);
      for (let i = 0; i < n; i++) this.slots.push(start + i * this.intervalMs);
    }
    return Math.max(this.slots.shift()!, this.pausedUntil);
  }

  /** Pauses every send of this process until `untilMs` (a 429). */
  pause(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }

  pausedUntilMs(): number {
    return this.pausedUntil;
  }

  // Without a shared source: this process alone keeps the pace.
  private localNext = 0;
  private localStart(from: number, n: number): number {
    const start = Math.max(this.localNext, from);
    this.localNext = start + n * this.intervalMs;
    return start;
  }
}

export class ChatPacer {
  private readonly gapMs: number;
  private readonly last = new Map<number, number>();

  constructor(perChatPerSecond: number) {
    this.gapMs = 1000 / perChatPerSecond;
  }

  /** Milliseconds until this client may get another message (0 = now). */
  waitMs(key: number, nowMs: number): number {
    const at = this.last.get(key);
    return at === undefined ? 0 : Math.max(0, at + this.gapMs - nowMs);
  }

  /** The first key that may receive now (-1 if none), and how long the soonest of them waits. */
  firstReady(keys: readonly number[], nowMs: number): { index: number; soonestMs: number } {
    let soonestMs = Number.POSITIVE_INFINITY;
    for (let i = 0; i < keys.length; i++) {
      const w = this.waitMs(keys[i]!, nowMs);
      if (w === 0) return { index: i, soonestMs: 0 };
      soonestMs = Math.min(soonestMs, w);
    }
    return { index: -1, soonestMs };
  }

  mark(key: number, nowMs: number): void {
    this.last.set(key, nowMs);
    if (this.last.size > 50_000) this.prune(nowMs);
  }

  prune(nowMs: number): void {
    for (const [k, at] of this.last) if (at + this.gapMs <= nowMs) this.last.delete(k);
  }
}

/**
 * The pacing of one channel other than the one the pump paces (the engine's SEND_RATE and per-chat
 * rate are Telegram's): its own send slots shared through `channel_pacer`, its own concurrency,
 * and, through the database, each recipient's turn (pair rate) and the daily tier of unique
 * recipients (`reserveRecipientTurn`). Built lazily per channel from `adapter.pacing()`.
 */
export class ChannelGate {
  readonly slots: SlotPacer;
  readonly concurrency: { acquire(): Promise<void>; release(): void };

  constructor(
    readonly pacing: {
      ratePerSecond: number;
      perRecipientIntervalMs: number;
      concurrency: number;
      dailyUniqueRecipients?: number;
    },
    reserve: ReserveSlots | undefined,
    semaphore: { acquire(): Promise<void>; release(): void },
  ) {
    this.slots = new SlotPacer(
      pacing.ratePerSecond,
      reserve,
      Math.max(1, Math.ceil((Number.isFinite(pacing.ratePerSecond) ? pacing.ratePerSecond : 1000) / 4)),
    );
    this.concurrency = semaphore;
  }
}

/**
 * Group commit of reservations: senders that need slots while one reservation is being written
 * share the next one (one round trip and one lock of the shared row for all of them instead of
 * one each). Each caller still gets slots of its own, never shared: the next `n` after the
 * previous caller's.
 */
function groupReservations(reserve: ReserveSlots): ReserveSlots {
  const batcher = createBatcher<{ n: number; intervalMs: number; nowMs: number }, number>(async (asks) => {
    const total = asks.reduce((sum, a) => sum + a.n, 0);
    const start = await reserve(total, asks[0]!.intervalMs, Math.max(...asks.map((a) => a.nowMs)));
    let offset = 0;
    return asks.map((a) => {
      const first = start + offset * a.intervalMs;
      offset += a.n;
      return { ok: true, value: first };
    });
  });
  return (n, intervalMs, nowMs) => batcher.push({ n, intervalMs, nowMs });
}
