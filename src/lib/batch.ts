/** The outcome of one item of a batch. */
export type ItemResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * Group commit: items pushed while a batch is being written wait and go together in the next
 * one, so N concurrent callers cost one statement instead of N. Each caller gets its own result.
 * Invariant: at most one batch runs at a time, and every pushed item is settled exactly once.
 */
export function createBatcher<I, O>(run: (items: I[]) => Promise<ItemResult<O>[]>, maxBatch = 500) {
  const queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  let running = false;

  function kick() {
    if (running || queue.length === 0) return;
    running = true;
    setImmediate(async () => {
      const batch = queue.splice(0, maxBatch);
      try {
        const results = await run(batch.map((b) => b.item));
        batch.forEach((b, i) => {
          const r = results[i];
          if (r?.ok) b.resolve(r.value);
          else b.reject(r ? r.error : new Error('batch: missing result'));
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      } finally {
        running = false;
        kick();
      }
    });
  }

  return {
    push(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        kick();
      });
    },
  };
}
