/** Where time comes from. Tests pass a fixed or stepping clock; nothing reads Date.now() directly. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock for tests: starts at `start`, moves only when told. */
export function createManualClock(
  start: Date | string,
): Clock & { set(d: Date | string): void; advance(ms: number): void } {
  let t = new Date(start).getTime();
  return {
    now: () => new Date(t),
    set: (d) => {
      t = new Date(d).getTime();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/**
 * A clock that starts at `start` and runs `rate` times as fast as the real one (benchmarks and
 * multi-process tests give a built service its day this way: CLOCK_START / CLOCK_RATE).
 */
export function createShiftedClock(
  start: Date | string,
  rate = 1,
  real: () => number = Date.now,
  /** The real epoch ms at which the clock reads `start` (default: now). */
  originMs?: number,
): Clock {
  const origin = originMs ?? real();
  const t0 = new Date(start).getTime();
  return { now: () => new Date(t0 + (real() - origin) * rate) };
}

/** The service's clock: the system's, unless the settings start it elsewhere. */
export function clockFromSettings(s: { start?: string; rate: number; origin?: string }): Clock {
  return s.start
    ? createShiftedClock(s.start, s.rate, Date.now, s.origin ? new Date(s.origin).getTime() : undefined)
    : systemClock;
}
