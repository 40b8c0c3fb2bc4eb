/**
 * Runs tasks with at most `concurrency` at once, tasks of one key one after another in the
 * order they were pushed. Invariant: every pushed task runs exactly once, and `idle()` resolves
 * only when none is pending or running.
 */
export function createKeyedQueue(concurrency: number) {
  const limit = Math.max(1, concurrency);
  const tails = new Map<string, Promise<void>>();
  const waiting: Array<() => void> = [];
  const idleWaiters: Array<() => void> = [];
  let active = 0;
  let pending = 0;

  async function withSlot(fn: () => Promise<void>): Promise<void> {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  }

  return {
    /** Tasks pushed and not yet finished. */
    get size() {
      return pending;
    },
    /** `task` MUST NOT throw (its failures are its own business). */
    push(key: string, task: () => Promise<void>): void {
      pending++;
      const run = (tails.get(key) ?? Promise.resolve())
        .then(() => withSlot(task))
        .finally(() => {
          pending--;
          if (tails.get(key) === run) tails.delete(key);
          if (pending === 0) for (const w of idleWaiters.splice(0)) w();
        });
      tails.set(key, run);
    },
    idle(): Promise<void> {
      if (pending === 0) return Promise.resolve();
      return new Promise((r) => idleWaiters.push(r));
    },
  };
}
