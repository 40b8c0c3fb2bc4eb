import type { ChannelFailure, ChannelName, ChannelVerdict } from '../channels/types.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { QueuedRow } from './dispatcher-types.js';
import {
  type AttemptRow,
  beginAttempts,
  type Completion,
  completeMany,
  type FailedEnvio,
  settleFailed,
} from './outbox.js';
import type { EngineSettings } from './types.js';

/**
 * The dispatcher's two group commits: the re-checks that begin attempts, and the outcomes that
 * end them. Rows that arrive while the previous statement runs share the next one: one statement
 * per row at 25 msg/s, a few per second under load, where one statement per row would cost more
 * in planning than in work.
 */

/** Completions written in groups. `record` resolves once the outcome is durable. */
export function createCompletionWriter(deps: {
  db: Db;
  worker: string;
  log: Logger;
  isStopping: () => boolean;
  clock: Clock;
  /** The channel's classifier (adapter.classify) for statuses that overtook a send's commit. */
  classify: (canal: ChannelName, f: ChannelFailure) => ChannelVerdict | undefined;
}) {
  /**
   * A `failed` status that arrived before the send was recorded (parked) is applied by
   * completeMany; its notice is settled here as the webhook would have (next channel, retry…).
   */
  async function settleOvertaken(failed: readonly FailedEnvio[]): Promise<void> {
    const classify = (f: FailedEnvio) =>
      deps.classify(f.canal, { code: f.errorCodigo ?? 'desconocido', message: f.error ?? '' });
    try {
      await deps.db.transaction((tx) => settleFailed(tx, failed, classify, deps.clock.now()));
    } catch (err) {
      deps.log.error({ err, filas: failed.length }, 'no se pudo resolver un fallo informado antes del envío');
    }
  }
  const buffer: { c: Completion; done: () => void }[] = [];
  let flushing: Promise<void> | undefined;

  async function flushLoop(): Promise<void> {
    let failures = 0;
    await new Promise((r) => setImmediate(r)); // gather the outcomes of one burst
    while (buffer.length) {
      const batch = buffer.splice(0, 1000);
      try {
        const overtaken = await completeMany(
          deps.db,
          deps.worker,
          batch.map((b) => b.c),
        );
        if (overtaken.length) await settleOvertaken(overtaken);
        failures = 0;
        for (const b of batch) b.done();
      } catch (err) {
        buffer.unshift(...batch);
        failures++;
        deps.log.error(
          { err, filas: batch.length },
          'no se pudo registrar el resultado de los envíos; reintentando',
        );
        // Give up only when stopping and the database stays down: the leases will expire and
        // those rows go again (they count as in flight).
        if (deps.isStopping() && failures >= 5) {
          for (const b of buffer.splice(0)) b.done();
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** failures)));
      }
    }
    // Synchronously after the last check of the buffer: a record() from now on starts a new loop.
    flushing = undefined;
  }

  return {
    /** Resolves once the outcome is durable. MUST be awaited before the concurrency slot is freed. */
    record(c: Completion): Promise<void> {
      return new Promise((resolve) => {
        buffer.push({ c, done: resolve });
        flushing ??= flushLoop();
      });
    },
    /** Resolves when nothing is left to write. */
    async drained(): Promise<void> {
      if (flushing) await flushing;
    },
  };
}

/**
 * Re-checks (begins) attempts in groups, as of the clock's now: each row is re-checked when its
 * send slot has come, just before sending. Resolves to the row, or undefined when it is no
 * longer this worker's.
 */
export function createAttemptBeginner(deps: {
  db: Db;
  worker: string;
  clock: Clock;
  leaseMs: number;
  today: (now: Date) => string;
  settings: () => EngineSettings;
}) {
  const queue: {
    id: number;
    countAttempt: boolean;
    resolve: (a: AttemptRow | undefined) => void;
    reject: (err: unknown) => void;
  }[] = [];
  let beginning = false;

  async function beginLoop(): Promise<void> {
    // One turn of the event loop first: the embedded database answers within microtasks, so
    // without it the rows of one burst would never meet in a statement.
    await new Promise((r) => setImmediate(r));
    while (queue.length) {
      const batch = queue.splice(0, 500);
      const now = deps.clock.now();
      try {
        const rows = await beginAttempts(deps.db, batch, {
          worker: deps.worker,
          now,
          leaseMs: deps.leaseMs,
          today: deps.today(now),
          settings: deps.settings(),
        });
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        for (const b of batch) b.resolve(byId.get(b.id));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    beginning = false;
  }

  return function begin(row: QueuedRow): Promise<AttemptRow | undefined> {
    return new Promise((resolve, reject) => {
      queue.push({ id: row.id, countAttempt: row.countAttempt, resolve, reject });
      if (!beginning) {
        beginning = true;
        void beginLoop();
      }
    });
  };
}
