import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger.js';
import { type BackoffOptions, defaultBackoff } from '../telegram/send.js';
import type { DispatcherEvent, DispatcherOptions } from './dispatcher-types.js';
import { realPaceClock } from './rate-limiter.js';

/** The dispatcher's options with their defaults and bounds applied (lease ≤ 60 s, ≤ 6 attempts…). */
export function resolveDispatcherOptions(o: DispatcherOptions) {
  const leaseMs = Math.min(o.leaseMs ?? 60_000, 60_000);
  return {
    worker: o.worker ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    leaseMs,
    maxPauseMs: Math.min(o.maxPauseMs ?? 60_000, leaseMs),
    idleMs: o.idleMs ?? 1000,
    backoff: { ...defaultBackoff, ...o.backoff } as BackoffOptions,
    maxAttempts: Math.min(Math.max(1, o.maxAttempts), 6),
    retryHorizonMs: o.retryHorizonMs ?? 24 * 3600_000,
    random: o.random ?? Math.random,
    pace: o.paceClock ?? realPaceClock,
    /** Rows claimed at once: 2 s of sending, between 10 and 500. */
    claimSize:
      o.claimSize ??
      (Number.isFinite(o.ratePerSecond) ? Math.min(500, Math.max(10, Math.ceil(o.ratePerSecond * 2))) : 500),
    /** At most this many rows of one client per claim (per-chat pacing keeps them apart). */
    perClient: Math.max(1, Math.ceil(o.perChatPerSecond * 2)),
  };
}

/** The per-chat pacing key of a row: its client, or the row itself when it has none. */
export function chatKey(row: { client_id: number | null; id: number }): number {
  return row.client_id ?? -row.id;
}

/**
 * Consecutive database failures of the pump: the waits grow from `idleMs` up to `maxMs`, and the
 * log says it once (and once more when the database answers again).
 */
export function createDbBackoff(log: Logger, idleMs: number, maxMs: number) {
  let failures = 0;
  return {
    failed(err: unknown, what: string): number {
      failures++;
      const waitMs = Math.min(maxMs, idleMs * 2 ** Math.min(failures - 1, 20));
      if (failures === 1) log.error({ err }, `${what}; se reintentará`);
      else log.debug({ err, intentos: failures, esperaMs: waitMs }, what);
      return waitMs;
    },
    recovered(): void {
      if (failures === 0) return;
      log.warn({ intentos: failures }, 'la base de datos responde de nuevo: se reanudan los envíos');
      failures = 0;
    },
  };
}

/** Emits to every listener; a listener's failure is not the dispatcher's. */
export function createEmitter(listeners: ReadonlySet<(e: DispatcherEvent) => void>) {
  return (e: DispatcherEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // ignored: see above
      }
    }
  };
}

/** true if `p` settles within `ms`; false (and `p` still running) otherwise. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    p.then(() => true),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}
