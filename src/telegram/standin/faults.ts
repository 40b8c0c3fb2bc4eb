import {
  type ApiError,
  badRequest,
  forbidden,
  serverError,
  tooManyRequests,
  unauthorized,
} from './errors.js';
import type { Fault, FaultFilter } from './types.js';

/** The error answer a fault produces; undefined for `slow`, `drop` and `echo_url`, which the server handles itself. */
export function faultError(fault: Fault): ApiError | undefined {
  switch (fault.kind) {
    case 'retry_after':
      return tooManyRequests(fault.seconds);
    case 'blocked':
      return forbidden('bot was blocked by the user');
    case 'deactivated':
      return forbidden('user is deactivated');
    case 'chat_not_found':
      return badRequest('chat not found');
    case 'server_error':
      return serverError(fault.status);
    case 'unauthorized':
      return unauthorized();
    case 'slow':
    case 'drop':
    case 'echo_url':
      return undefined;
  }
}

/** mulberry32: a tiny deterministic PRNG; the same seed gives the same sequence in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface QueuedFault {
  remaining: number;
  fault: Fault;
  filter: FaultFilter;
}

interface RandomFaults {
  rate: number;
  faults: Fault[];
  random: () => number;
}

/** Which calls fail: first the queued `failNext` faults (FIFO), then the random `failRate` ones. */
export class FaultPlan {
  // Invariant: every entry has remaining >= 1; an entry is removed when it reaches 0.
  private queued: QueuedFault[] = [];
  private random: RandomFaults | undefined;

  failNext(n: number, fault: Fault, filter: FaultFilter = {}): void {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`failNext: n must be a non-negative integer, got ${n}`);
    if (n > 0) this.queued.push({ remaining: n, fault, filter });
  }

  failRate(rate: number, faults: Fault[], seed = 1): void {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`failRate: rate must be within [0, 1], got ${rate}`);
    if (rate > 0 && faults.length === 0) throw new RangeError('failRate: give at least one fault');
    this.random = rate > 0 ? { rate, faults: [...faults], random: mulberry32(seed) } : undefined;
  }

  clear(): void {
    this.queued = [];
    this.random = undefined;
  }

  /** The fault for this call, if any; consumes it. */
  take(method: string, chatId: number | undefined): Fault | undefined {
    const index = this.queued.findIndex((q) => matches(q.filter, method, chatId));
    const entry = this.queued[index];
    if (entry) {
      entry.remaining -= 1;
      if (entry.remaining === 0) this.queued.splice(index, 1);
      return entry.fault;
    }
    if (this.random && method === 'sendMessage') {
      const { rate, faults, random } = this.random;
      // Two draws per call, always, so the failure pattern depends only on the seed and the call count.
      const fails = random() < rate;
      const pick = faults[Math.floor(random() * faults.length)];
      if (fails) return pick;
    }
    return undefined;
  }
}

function matches(filter: FaultFilter, method: string, chatId: number | undefined): boolean {
  if (filter.method !== undefined ? filter.method !== method : method === 'getUpdates') return false;
  if (filter.chatId !== undefined && filter.chatId !== chatId) return false;
  return true;
}
