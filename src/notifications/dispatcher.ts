import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import { Semaphore } from '../lib/semaphore.js';
import { Wakeup } from '../lib/wakeup.js';
import type { Logger } from '../logger.js';
import {
  type BackoffOptions,
  backoffDelayMs,
  classifyTelegramFailure,
  defaultBackoff,
  describeFailure,
  type TelegramSender,
} from '../telegram/send.js';
import { type ComposedMessage, ComposeRefusedError, composeRow } from './compose.js';
import { type EngineMetrics, setDispatcherState } from './metrics.js';
import {
  type AttemptRow,
  beginAttempts,
  type ClaimedRow,
  type Completion,
  claimDue,
  completeMany,
  listenForQueued,
  markClientUnreachable,
  pauseSendSlots,
  releaseOrphanedClaims,
  reserveSendSlots,
} from './outbox.js';
import { ChatPacer, type PaceClock, realPaceClock, SlotPacer } from './rate-limiter.js';
import { loadTemplates, TELEGRAM_MAX_CHARS, type TemplateSet, visibleLength } from './templates.js';
import type { EngineSettings } from './types.js';
import { createCalendar, isTimeInWindow } from './window.js';

/**
 * The outbox dispatcher: claims due rows in batches, paces them (global rate shared by all
 * instances, one message per second per chat), sends with enough concurrency to fill the rate
 * when Telegram is slow, and writes every outcome back on the row. A failure is data on the row,
 * never an escaped exception.
 *
 * Delivery promise: nothing is lost; a row is sent once, except that after a crash the sends that
 * were in flight (at most `concurrency`: a concurrency slot is held until the outcome is durable)
 * may go twice, because the Bot API has no idempotency key.
 */

export interface DispatcherOptions {
  /** Messages per second for all instances together (Infinity = no pacing, for benchmarks). */
  ratePerSecond: number;
  perChatPerSecond: number;
  /** Telegram calls in flight at most. */
  concurrency: number;
  /** Attempts per row (≤ 6); retries also stop 24 h after the first attempt. */
  maxAttempts: number;
  paidBroadcast?: boolean;
  /** Lease of a claimed row (≤ 60 s); renewed when its attempt begins. */
  leaseMs?: number;
  /** Poll interval when the queue is empty (default 1 s). */
  idleMs?: number;
  /** Longest pause a 429 imposes (default 60 s, and below the lease). */
  maxPauseMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Retries stop this long after the first attempt (default 24 h). */
  retryHorizonMs?: number;
  /** Rows claimed at once (default: 2 s of sending, between 10 and 500). */
  claimSize?: number;
  /** Reserve global send slots in the database, shared by instances (default true). */
  sharedPacer?: boolean;
  /** Embedded database only: rows claimed by the previous (dead) process return at start. */
  releaseOrphansAtStart?: boolean;
  /** While the database fails, waits grow from `idleMs` up to this (default 30 s). */
  maxDbBackoffMs?: number;
  /** While the token is refused (401), check it again this often (default 60 s). */
  tokenRecheckMs?: number;
  /** Worker id written in locked_by (default host-pid-random). */
  worker?: string;
  random?: () => number;
  paceClock?: PaceClock;
}

export interface DispatcherDeps {
  db: Db;
  sender: TelegramSender;
  clock: Clock;
  logger: Logger;
  settings: EngineSettings;
  /** Ajustes (issue 14): the settings in effect, read once per claim so a change needs no restart. */
  getSettings?: () => Promise<EngineSettings>;
  metrics?: EngineMetrics;
  options: DispatcherOptions;
}

/** What one pass did (the answer of POST /procesar/). */
export interface PassReport {
  reclamadas: number;
  enviadas: number;
  reintentos: number;
  fallidas: number;
  canceladas: number;
  /** Returned to the queue untouched (stop, 401) or taken over by another worker. */
  liberadas: number;
  /** 429 answers received. */
  limitadas: number;
  /** Whether the send window was open (automatic notices only go inside it). */
  en_ventana: boolean;
}

export type DispatcherEvent =
  | { type: 'sent'; id: number; clientId: number | null; messageId: number }
  | { type: 'failed'; id: number; clientId: number | null; motivo: string }
  | { type: 'retry'; id: number; clientId: number | null; error: string }
  | { type: 'cancelled'; id: number; clientId: number | null; motivo: string }
  | { type: 'paused'; ms: number }
  | { type: 'unauthorized' }
  | { type: 'resumed' };

export interface Dispatcher {
  readonly worker: string;
  /** One pass: claims what is due now (up to `limit` rows), sends it, records it, returns. */
  runOnce(opts?: { limit?: number }): Promise<PassReport>;
  /** Runs until `signal` aborts or `stop()`; resolves when everything it held is released. */
  run(signal?: AbortSignal): Promise<void>;
  /** Stops claiming, finishes or releases what it holds within `drainMs` (default 15 s). */
  stop(opts?: { drainMs?: number }): Promise<void>;
  /** A row was queued: look now instead of at the next poll. */
  wake(): void;
  readonly state: 'detenido' | 'activo' | 'pausado' | 'token_invalido';
  on(listener: (e: DispatcherEvent) => void): () => void;
}

interface QueuedRow extends ClaimedRow {
  /** false after a 429: the retry is not a new attempt of the row. */
  countAttempt: boolean;
}

/** Every send in flight listens on it (one listener per call): no listener limit. */
function newSendAbort(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

const emptyReport = (): PassReport => ({
  reclamadas: 0,
  enviadas: 0,
  reintentos: 0,
  fallidas: 0,
  canceladas: 0,
  liberadas: 0,
  limitadas: 0,
  en_ventana: false,
});

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { db, sender, clock, metrics } = deps;
  let settings = deps.settings;
  const o = deps.options;
  const worker = o.worker ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = deps.logger.child({ componente: 'dispatcher', worker });
  const leaseMs = Math.min(o.leaseMs ?? 60_000, 60_000);
  const maxPauseMs = Math.min(o.maxPauseMs ?? 60_000, leaseMs);
  const idleMs = o.idleMs ?? 1000;
  const backoff: BackoffOptions = { ...defaultBackoff, ...o.backoff };
  const maxAttempts = Math.min(Math.max(1, o.maxAttempts), 6);
  const retryHorizonMs = o.retryHorizonMs ?? 24 * 3600_000;
  const random = o.random ?? Math.random;
  const pace = o.paceClock ?? realPaceClock;
  const claimSize =
    o.claimSize ??
    (Number.isFinite(o.ratePerSecond) ? Math.min(500, Math.max(10, Math.ceil(o.ratePerSecond * 2))) : 500);
  const perClient = Math.max(1, Math.ceil(o.perChatPerSecond * 2));
  const calendar = createCalendar(settings.timeZone);

  const slots = new SlotPacer(
    o.ratePerSecond,
    o.sharedPacer === false ? undefined : (n, interval, now) => reserveSendSlots(db, n, interval, now),
    Math.max(1, Math.ceil((Number.isFinite(o.ratePerSecond) ? o.ratePerSecond : 1000) / 4)),
  );
  const chats = new ChatPacer(o.perChatPerSecond);
  const semaphore = new Semaphore(o.concurrency);
  const wakeup = new Wakeup();
  const listeners = new Set<(e: DispatcherEvent) => void>();
  /** Aborts Telegram calls still running when the drain time is over. */
  let sendAbort = newSendAbort();

  let stopping = false;
  let unauthorized = false;
  /** Rows were queued (NOTIFY) since the last claim began: do not sleep before claiming again. */
  let queuedSinceClaim = false;
  let running: Promise<void> | undefined;
  let templates: Promise<TemplateSet> | undefined;
  const passes = new Set<Promise<unknown>>();
  /** Consecutive database failures of the pump: the waits back off and the log says it once. */
  let dbFailures = 0;
  const maxDbBackoffMs = o.maxDbBackoffMs ?? 30_000;
  function dbFailed(err: unknown, what: string): number {
    dbFailures++;
    const waitMs = Math.min(maxDbBackoffMs, idleMs * 2 ** Math.min(dbFailures - 1, 20));
    if (dbFailures === 1) log.error({ err }, `${what}; se reintentará`);
    else log.debug({ err, intentos: dbFailures, esperaMs: waitMs }, what);
    return waitMs;
  }
  function dbRecovered(): void {
    if (dbFailures === 0) return;
    log.warn({ intentos: dbFailures }, 'la base de datos responde de nuevo: se reanudan los envíos');
    dbFailures = 0;
  }

  const emit = (e: DispatcherEvent) => {
    for (const l of listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure is not the dispatcher's
      }
    }
  };

  function currentState(): Dispatcher['state'] {
    if (unauthorized) return 'token_invalido';
    if (slots.pausedUntilMs() > pace.now()) return 'pausado';
    return running || passes.size ? 'activo' : 'detenido';
  }
  const publishState = () => setDispatcherState(metrics, currentState());

  // ------------------------------------------------------------------ group commit of outcomes
  const buffer: { c: Completion; done: () => void }[] = [];
  let flushing: Promise<void> | undefined;

  /** Resolves once the outcome is durable. MUST be awaited before the concurrency slot is freed. */
  function record(c: Completion): Promise<void> {
    return new Promise((resolve) => {
      buffer.push({ c, done: resolve });
      flushing ??= flushLoop();
    });
  }

  async function flushLoop(): Promise<void> {
    let failures = 0;
    await new Promise((r) => setImmediate(r)); // gather the outcomes of one burst (see beginLoop)
    while (buffer.length) {
      const batch = buffer.splice(0, 1000);
      try {
        await completeMany(
          db,
          worker,
          batch.map((b) => b.c),
        );
        failures = 0;
        for (const b of batch) b.done();
      } catch (err) {
        buffer.unshift(...batch);
        failures++;
        log.error(
          { err, filas: batch.length },
          'no se pudo registrar el resultado de los envíos; reintentando',
        );
        // Give up only when stopping and the database stays down: the leases will expire and
        // those rows go again (they count as in flight).
        if (stopping && failures >= 5) {
          for (const b of buffer.splice(0)) b.done();
          break;
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** failures)));
      }
    }
    // Synchronously after the last check of the buffer: a record() from now on starts a new loop.
    flushing = undefined;
  }

  // ------------------------------------------------------------------ group begin of attempts
  // Each row is re-checked when its send slot has come (just before sending). The rows whose slot
  // comes while the previous re-check runs share the next statement: alone at 25 msg/s, in groups
  // under load, where one statement per row would cost more in planning than in work.
  const beginQueue: {
    id: number;
    countAttempt: boolean;
    resolve: (a: AttemptRow | undefined) => void;
    reject: (err: unknown) => void;
  }[] = [];
  let beginning = false;

  function begin(row: QueuedRow): Promise<AttemptRow | undefined> {
    return new Promise((resolve, reject) => {
      beginQueue.push({ id: row.id, countAttempt: row.countAttempt, resolve, reject });
      if (!beginning) {
        beginning = true;
        void beginLoop();
      }
    });
  }

  async function beginLoop(): Promise<void> {
    // One turn of the event loop first: the embedded database answers within microtasks, so
    // without it the rows of one burst would never meet in a statement.
    await new Promise((r) => setImmediate(r));
    while (beginQueue.length) {
      const batch = beginQueue.splice(0, 500);
      const now = clock.now();
      try {
        const rows = await beginAttempts(db, batch, {
          worker,
          now,
          leaseMs,
          today: calendar.date(now),
          settings,
        });
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        for (const b of batch) b.resolve(byId.get(b.id));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    beginning = false;
  }

  // ------------------------------------------------------------------ one row
  async function getTemplates(): Promise<TemplateSet> {
    templates ??= loadTemplates(db).catch((err) => {
      templates = undefined;
      throw err;
    });
    return templates;
  }

  /** Sends one claimed row and records the outcome. Never throws. Returns the row to re-queue after a 429. */
  async function processRow(row: QueuedRow, report: PassReport): Promise<QueuedRow | undefined> {
    const rowLog = () => log.child({ notificationId: row.id, clientId: row.client_id });
    const now = clock.now();
    const today = calendar.date(now);
    let a: AttemptRow | undefined;
    try {
      a = await begin(row);
    } catch (err) {
      rowLog().error({ err }, 'no se pudo iniciar el intento; la fila vuelve a la cola');
      await record({ kind: 'release', id: row.id, at: now, nextAt: null, uncount: false });
      report.liberadas++;
      return undefined;
    }
    if (!a) {
      report.liberadas++;
      return undefined;
    }
    if (a.estado !== 'pendiente') {
      const motivo = a.motivo ?? a.estado;
      if (a.estado === 'cancelado') {
        report.canceladas++;
        metrics?.cancelled.inc({ tipo: a.tipo, motivo });
        emit({ type: 'cancelled', id: a.id, clientId: a.client_id, motivo });
      } else {
        report.fallidas++;
        metrics?.failed.inc({ tipo: a.tipo, motivo });
        emit({ type: 'failed', id: a.id, clientId: a.client_id, motivo });
      }
      rowLog().info({ estado: a.estado, motivo }, 'notificación no enviada: ya no corresponde');
      return undefined;
    }

    let message: ComposedMessage;
    try {
      message = composeRow(a, await getTemplates(), today, settings);
    } catch (err) {
      // A refusal (missing data, bad markup) is data on the row, with a reason staff can act on.
      const refused = err instanceof ComposeRefusedError;
      const motivo = refused ? err.motivo : 'mensaje_invalido';
      if (refused)
        rowLog().warn({ motivo, error: err.message }, 'notificación no enviada: mensaje incompleto');
      else rowLog().error({ err }, 'no se pudo componer el mensaje');
      await record({ kind: 'fail', id: a.id, at: now, motivo, error: refused ? err.message : String(err) });
      report.fallidas++;
      metrics?.failed.inc({ tipo: a.tipo, motivo });
      emit({ type: 'failed', id: a.id, clientId: a.client_id, motivo });
      return undefined;
    }
    const length = message.html ? visibleLength(message.text) : message.text.length;
    if (length > TELEGRAM_MAX_CHARS || length === 0) {
      const motivo = length === 0 ? 'mensaje_vacio' : 'mensaje_demasiado_largo';
      await record({
        kind: 'fail',
        id: a.id,
        at: now,
        motivo,
        error: `${length} caracteres (máximo ${TELEGRAM_MAX_CHARS})`,
      });
      report.fallidas++;
      metrics?.failed.inc({ tipo: a.tipo, motivo });
      emit({ type: 'failed', id: a.id, clientId: a.client_id, motivo });
      return undefined;
    }

    // A 429 may have paused every send while this row was being re-checked: no call starts
    // before the pause is over.
    while (!stopping && slots.pausedUntilMs() > pace.now())
      await wakeup.wait(slots.pausedUntilMs() - pace.now());
    const chatId = a.chat_id!;
    const started = pace.now();
    const result = await sender.sendMessage(chatId, message.text, {
      html: message.html,
      paidBroadcast: o.paidBroadcast,
      signal: sendAbort.signal,
    });
    const after = clock.now();
    metrics?.telegramLatency.observe(
      { resultado: result.ok ? 'ok' : result.failure.kind === 'api' ? String(result.failure.code) : 'red' },
      (pace.now() - started) / 1000,
    );

    if (result.ok) {
      await record({
        kind: 'sent',
        id: a.id,
        at: after,
        messageId: result.messageId,
        chatId,
        text: message.text,
      });
      report.enviadas++;
      metrics?.sent.inc({ tipo: a.tipo });
      emit({ type: 'sent', id: a.id, clientId: a.client_id, messageId: result.messageId });
      return undefined;
    }

    const error = describeFailure(result.failure);
    if (stopping && sendAbort.signal.aborted) {
      // Cut short by the end of the drain time: it may or may not have arrived. Back to the queue.
      await record({ kind: 'release', id: a.id, at: after, nextAt: null, uncount: false });
      report.liberadas++;
      return undefined;
    }
    const verdict = classifyTelegramFailure(result.failure, { maxRetryAfterMs: maxPauseMs });
    switch (verdict.action) {
      case 'pause': {
        report.limitadas++;
        metrics?.rateLimited.inc();
        const until = pace.now() + verdict.waitMs;
        slots.pause(until);
        publishState();
        if (o.sharedPacer !== false) await pauseSendSlots(db, until).catch(() => {});
        rowLog().warn(
          { esperaMs: verdict.waitMs, recortado: verdict.capped },
          'Telegram pidió esperar (429): se pausan todos los envíos',
        );
        emit({ type: 'paused', ms: verdict.waitMs });
        if (stopping) {
          await record({ kind: 'release', id: a.id, at: after, nextAt: null, uncount: true });
          report.liberadas++;
          return undefined;
        }
        return { ...row, countAttempt: false };
      }
      case 'retry': {
        const delay = backoffDelayMs(a.intentos, backoff, random);
        const first = a.primer_intento ?? now;
        const nextAt = new Date(after.getTime() + delay);
        if (a.intentos >= maxAttempts || nextAt.getTime() - first.getTime() > retryHorizonMs) {
          await record({ kind: 'fail', id: a.id, at: after, motivo: 'reintentos_agotados', error });
          report.fallidas++;
          metrics?.failed.inc({ tipo: a.tipo, motivo: 'reintentos_agotados' });
          emit({ type: 'failed', id: a.id, clientId: a.client_id, motivo: 'reintentos_agotados' });
          rowLog().warn({ intentos: a.intentos, error }, 'notificación fallida: reintentos agotados');
        } else {
          await record({ kind: 'retry', id: a.id, at: after, nextAt, error });
          report.reintentos++;
          metrics?.retried.inc({ tipo: a.tipo, motivo: verdict.reason });
          emit({ type: 'retry', id: a.id, clientId: a.client_id, error });
          rowLog().info({ intentos: a.intentos, esperaMs: delay, error }, 'envío fallido: se reintentará');
        }
        return undefined;
      }
      case 'fail': {
        if (verdict.unreachable && a.client_id !== null) {
          await markClientUnreachable(db, a.client_id, verdict.reason, after).catch((err) =>
            rowLog().error({ err }, 'no se pudo marcar al cliente como inalcanzable'),
          );
        }
        await record({ kind: 'fail', id: a.id, at: after, motivo: verdict.reason, error });
        report.fallidas++;
        metrics?.failed.inc({ tipo: a.tipo, motivo: verdict.reason });
        emit({ type: 'failed', id: a.id, clientId: a.client_id, motivo: verdict.reason });
        rowLog().info({ motivo: verdict.reason, error }, 'notificación fallida: Telegram no la acepta');
        return undefined;
      }
      case 'stop': {
        if (!unauthorized) {
          unauthorized = true;
          publishState();
          log.error(
            { alerta: true, error },
            'ALERTA: Telegram rechaza el token del bot (401). Se detienen todos los envíos; revise TELEGRAM_BOT_TOKEN.',
          );
          emit({ type: 'unauthorized' });
          wakeup.notify();
        }
        // Not the row's fault: the attempt does not count.
        await record({ kind: 'release', id: a.id, at: after, nextAt: null, uncount: true });
        report.liberadas++;
        return undefined;
      }
    }
  }

  // ------------------------------------------------------------------ a pass
  /**
   * The pump: claim → pick a row whose chat may receive → wait for a concurrency slot and a send
   * slot → send in the background → repeat. `continuous` passes poll forever; the others end when
   * nothing due is left. Every exit path releases the rows it claimed and did not start.
   */
  async function pump(opts: {
    continuous: boolean;
    limit: number;
    signal?: AbortSignal;
  }): Promise<PassReport> {
    const report = emptyReport();
    const queue: QueuedRow[] = [];
    const inFlight = new Set<Promise<void>>();
    let claimed = 0;
    let exhausted = false;
    const halted = () => stopping || unauthorized || opts.signal?.aborted === true;

    while (!halted()) {
      const now = clock.now();
      if (deps.getSettings) settings = await deps.getSettings();
      report.en_ventana = isTimeInWindow(calendar.time(now), settings.sendWindow);
      if (!exhausted && queue.length < Math.ceil(claimSize / 2) && claimed < opts.limit) {
        let rows: ClaimedRow[] = [];
        queuedSinceClaim = false;
        try {
          rows = await claimDue(db, {
            worker,
            now,
            leaseMs,
            limit: Math.min(claimSize, opts.limit - claimed),
            inWindow: report.en_ventana,
            perClient,
          });
        } catch (err) {
          const waitMs = dbFailed(err, 'no se pudo reclamar notificaciones');
          if (!opts.continuous) break;
          await wakeup.wait(waitMs);
          continue;
        }
        dbRecovered();
        claimed += rows.length;
        report.reclamadas += rows.length;
        // Templates are read again for every batch: an edit applies to the next batch.
        if (rows.length) templates = undefined;
        for (const r of rows) queue.push({ ...r, countAttempt: true });
        if (rows.length === 0) exhausted = true;
        if (halted()) break;
      }
      if (queue.length === 0) {
        if (inFlight.size > 0) {
          // Rows of clients being sent to were not claimable: look again once a send ends.
          await Promise.race(inFlight);
          exhausted = false;
          continue;
        }
        if (!opts.continuous && (exhausted || claimed >= opts.limit)) break;
        if (opts.continuous && exhausted && !queuedSinceClaim) await wakeup.wait(idleMs);
        exhausted = false;
        continue;
      }

      // The first row whose chat may receive now.
      const paceNow = pace.now();
      let index = -1;
      let soonest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < queue.length; i++) {
        const w = chats.waitMs(queue[i]!.client_id ?? -queue[i]!.id, paceNow);
        if (w === 0) {
          index = i;
          break;
        }
        soonest = Math.min(soonest, w);
      }
      if (index < 0) {
        // Every queued row waits for its chat; claim more (other clients) unless there are plenty.
        if (queue.length < claimSize && claimed < opts.limit) exhausted = false;
        await wakeup.wait(Math.min(soonest, exhausted ? soonest : 50));
        continue;
      }

      await semaphore.acquire();
      if (halted()) {
        semaphore.release();
        break;
      }
      let slotAt: number;
      try {
        slotAt = await slots.next(pace.now(), queue.length);
      } catch (err) {
        semaphore.release();
        await wakeup.wait(dbFailed(err, 'no se pudo reservar turno de envío'));
        continue;
      }
      while (!halted() && pace.now() < slotAt) await wakeup.wait(slotAt - pace.now());
      if (halted()) {
        semaphore.release();
        break;
      }
      // The chat may have been used meanwhile by a re-queued row: check again.
      const row = queue[index]!;
      const key = row.client_id ?? -row.id;
      if (chats.waitMs(key, pace.now()) > 0) {
        semaphore.release();
        continue;
      }
      queue.splice(index, 1);
      chats.mark(key, pace.now());
      const task: Promise<void> = processRow(row, report)
        .then((again) => {
          if (again) queue.unshift(again);
        })
        .catch((err) => log.error({ err, notificationId: row.id }, 'error inesperado al enviar'))
        .finally(() => {
          semaphore.release();
          inFlight.delete(task);
          wakeup.notify();
        });
      inFlight.add(task);
    }

    // Leaving: wait for sends in flight (the stop's drain time bounds them), release the rest.
    while (inFlight.size) await Promise.race(inFlight);
    if (queue.length) {
      const at = clock.now();
      await Promise.all(
        queue
          .splice(0)
          .map((r) => record({ kind: 'release', id: r.id, at, nextAt: null, uncount: !r.countAttempt })),
      );
    }
    publishState();
    return report;
  }

  function track<T>(p: Promise<T>): Promise<T> {
    passes.add(p);
    publishState();
    void p.finally(() => {
      passes.delete(p);
      publishState();
    });
    return p;
  }

  async function tokenWatch(signal?: AbortSignal): Promise<void> {
    while (unauthorized && !stopping && !signal?.aborted) {
      await wakeup.wait(o.tokenRecheckMs ?? 60_000);
      if (stopping || signal?.aborted) return;
      const check = await sender.checkToken();
      if (check.ok) {
        unauthorized = false;
        log.warn('Telegram vuelve a aceptar el token: se reanudan los envíos');
        emit({ type: 'resumed' });
        publishState();
      }
    }
  }

  return {
    worker,
    get state() {
      return currentState();
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    wake: () => wakeup.notify(),

    async runOnce(opts = {}) {
      if (stopping) return emptyReport();
      return track(pump({ continuous: false, limit: opts.limit ?? Number.POSITIVE_INFINITY }));
    },

    run(signal) {
      if (running) return running;
      stopping = false;
      sendAbort = newSendAbort();
      const onAbort = () => wakeup.notify();
      signal?.addEventListener('abort', onAbort, { once: true });
      running = (async () => {
        // The outbox NOTIFYs on commit whenever rows are queued (here or in another instance).
        const unlisten = await listenForQueued(db, () => {
          queuedSinceClaim = true;
          wakeup.notify();
        }).catch((err) => {
          log.warn({ err }, 'sin aviso de filas nuevas (LISTEN): se consulta la cola cada segundo');
          return async () => {};
        });
        try {
          if (o.releaseOrphansAtStart) {
            const n = await releaseOrphanedClaims(db).catch(() => 0);
            if (n) log.warn({ filas: n }, 'filas reclamadas por un proceso anterior vuelven a la cola');
          }
          log.info(
            { ratePerSecond: o.ratePerSecond, concurrency: o.concurrency, perChat: o.perChatPerSecond },
            'despachador de notificaciones iniciado',
          );
          while (!stopping && !signal?.aborted) {
            await track(pump({ continuous: true, limit: Number.POSITIVE_INFINITY, signal }));
            if (unauthorized) await tokenWatch(signal);
          }
        } finally {
          await unlisten().catch(() => {});
        }
      })().finally(() => {
        signal?.removeEventListener('abort', onAbort);
        running = undefined;
        publishState();
      });
      return running;
    },

    async stop(opts = {}) {
      stopping = true;
      wakeup.notify();
      const all = Promise.all([running, ...passes]).then(() => undefined);
      const drainMs = opts.drainMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), Math.max(0, drainMs - 1000));
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        log.warn('tiempo de drenado agotado: se cortan los envíos en curso');
        sendAbort.abort();
        await all;
      }
      if (flushing) await flushing;
      publishState();
      log.info('despachador detenido');
    },
  };
}
