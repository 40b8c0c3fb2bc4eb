import { clearAlert, raiseAlert } from '../alerts/store.js';
import { createChannelRegistry, createTelegramChannel } from '../channels/index.js';
import type { ChannelAdapter, ChannelName } from '../channels/types.js';
import { Semaphore } from '../lib/semaphore.js';
import { Wakeup } from '../lib/wakeup.js';
import { channelNames } from '../vocabulary.js';
import { createAttempt } from './attempt.js';
import { type ChannelTextSet, loadChannelTexts } from './channel-texts.js';
import { createAttemptBeginner, createCompletionWriter } from './dispatch-batches.js';
import {
  chatKey,
  createDbBackoff,
  createEmitter,
  resolveDispatcherOptions,
  settlesWithin,
} from './dispatcher-options.js';
import {
  type Dispatcher,
  type DispatcherDeps,
  type DispatcherEvent,
  emptyReport,
  newSendAbort,
  type PassReport,
  type QueuedRow,
} from './dispatcher-types.js';
import { setDispatcherState } from './metrics.js';
import {
  type ClaimedRow,
  claimDue,
  listenForQueued,
  moveUndelivered,
  releaseOrphanedClaims,
  reserveChannelSlots,
  reserveSendSlots,
} from './outbox.js';
import { ChannelGate, ChatPacer, SlotPacer } from './rate-limiter.js';
import { loadTemplates, type TemplateSet } from './templates.js';
import { createCalendar, isTimeInWindow } from './window.js';

export type {
  Dispatcher,
  DispatcherDeps,
  DispatcherEvent,
  DispatcherOptions,
  PassReport,
} from './dispatcher-types.js';

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

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { db, clock, metrics } = deps;
  let settings = deps.settings;
  const o = deps.options;
  const opt = resolveDispatcherOptions(o);
  const { worker, leaseMs, idleMs, pace, claimSize, perClient } = opt;
  const log = deps.logger.child({ componente: 'dispatcher', worker });
  const calendar = createCalendar(settings.timeZone);
  const engineChannel: ChannelName = deps.engineChannel ?? 'telegram';
  const channels =
    deps.channels ??
    createChannelRegistry(
      deps.sender
        ? [
            createTelegramChannel({
              sender: deps.sender,
              pacing: () => ({
                ratePerSecond: o.ratePerSecond,
                perRecipientIntervalMs: 1000 / o.perChatPerSecond,
                concurrency: o.concurrency,
              }),
              ...(o.paidBroadcast !== undefined && { paidBroadcast: o.paidBroadcast }),
              maxRetryAfterMs: opt.maxPauseMs,
            }),
            ...(deps.extraChannels ?? []),
          ]
        : [...(deps.extraChannels ?? [])],
    );
  /** Pacing gates of the channels the pump does not pace, built on first use. */
  const gates = new Map<ChannelName, ChannelGate>();
  function gate(canal: ChannelName, adapter: ChannelAdapter): ChannelGate {
    let g = gates.get(canal);
    if (!g) {
      const p = adapter.pacing();
      g = new ChannelGate(
        p,
        o.sharedPacer === false
          ? undefined
          : (n, interval, now) => reserveChannelSlots(db, canal, n, interval, now),
        new Semaphore(Math.max(1, p.concurrency)),
      );
      gates.set(canal, g);
    }
    return g;
  }
  /** Channels halted because they refused our credentials; checked again every tokenRecheckMs. */
  const stoppedChannels = new Map<ChannelName, { checkedAt: number; checking: boolean }>();
  function channelStopped(canal: ChannelName): boolean {
    const s = stoppedChannels.get(canal);
    if (!s) return false;
    const adapter = channels.get(canal);
    if (!s.checking && adapter?.check && pace.now() - s.checkedAt >= (o.tokenRecheckMs ?? 60_000)) {
      s.checking = true;
      void adapter
        .check()
        .then(async (r) => {
          s.checkedAt = pace.now();
          if (!r.ok) return;
          stoppedChannels.delete(canal);
          log.warn({ canal }, `${canal} vuelve a aceptar las credenciales: se reanudan sus envíos`);
          emit({ type: 'channel_resumed', canal });
          await clearAlert(db, `canal_detenido:${canal}`, clock.now());
        })
        .catch(() => {})
        .finally(() => {
          s.checking = false;
        });
    }
    return true;
  }

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
  let channelTexts: Promise<ChannelTextSet> | undefined;
  const passes = new Set<Promise<unknown>>();
  const { failed: dbFailed, recovered: dbRecovered } = createDbBackoff(
    log,
    idleMs,
    o.maxDbBackoffMs ?? 30_000,
  );

  const emit = createEmitter(listeners);

  function currentState(): Dispatcher['state'] {
    if (unauthorized) return 'token_invalido';
    if (slots.pausedUntilMs() > pace.now()) return 'pausado';
    return running || passes.size ? 'activo' : 'detenido';
  }
  const publishState = () => setDispatcherState(metrics, currentState());

  // Group commits of re-checks and outcomes, and one attempt (see attempt.ts: the table of outcomes).
  const completions = createCompletionWriter({
    db,
    worker,
    log,
    isStopping: () => stopping,
    clock,
    classify: (canal, f) => channels.get(canal)?.classify(f),
  });
  const record = completions.record;
  const begin = createAttemptBeginner({
    db,
    worker,
    clock,
    leaseMs,
    today: (now) => calendar.date(now),
    settings: () => settings,
  });
  const processRow = createAttempt({
    db,
    channels,
    engineChannel,
    gate,
    resolveTemplate: deps.resolveTemplate,
    channelStopped,
    clock,
    log,
    metrics,
    options: o,
    slots,
    ...opt,
    today: (now) => calendar.date(now),
    settings: () => settings,
    templates: () =>
      (templates ??= loadTemplates(db).catch((err) => {
        templates = undefined;
        throw err;
      })),
    channelTexts: () =>
      (channelTexts ??= loadChannelTexts(db).catch((err) => {
        channelTexts = undefined;
        throw err;
      })),
    begin,
    record,
    emit,
    publishState,
    isStopping: () => stopping,
    sendSignal: () => sendAbort.signal,
    onChannelStop(canal, error) {
      if (canal !== engineChannel) {
        if (stoppedChannels.has(canal)) return;
        stoppedChannels.set(canal, { checkedAt: pace.now(), checking: false });
        log.error(
          { alerta: true, canal, error },
          `ALERTA: ${channelNames.label(canal)} rechaza las credenciales. Se detienen sus envíos.`,
        );
        emit({ type: 'channel_stopped', canal, error });
        void raiseAlert(
          db,
          {
            clave: `canal_detenido:${canal}`,
            nivel: 2,
            titulo: `${channelNames.label(canal)} rechaza las credenciales: envíos detenidos`,
            detalle: `Respuesta: ${error}. Revise el token y los permisos del canal en Ajustes; los avisos esperan y salen cuando vuelva a aceptarlas.`,
          },
          clock.now(),
        ).catch((err) => log.error({ err }, 'no se pudo registrar la alerta'));
        return;
      }
      if (unauthorized) return;
      unauthorized = true;
      publishState();
      log.error(
        { alerta: true, error },
        'ALERTA: Telegram rechaza el token del bot (401). Se detienen todos los envíos; revise TELEGRAM_BOT_TOKEN.',
      );
      emit({ type: 'unauthorized' });
      wakeup.notify();
    },
    async waitPause() {
      while (!stopping && slots.pausedUntilMs() > pace.now())
        await wakeup.wait(slots.pausedUntilMs() - pace.now());
    },
  });

  // ------------------------------------------------------------------ no delivery within N minutes
  /** Clock time of the last look for undelivered must-deliver notices. */
  let lastNoDeliveryCheck = Number.NEGATIVE_INFINITY;
  /**
   * Moves must-deliver notices a delivery-reporting channel did not deliver in time to their next
   * channel (outbox.moveUndelivered), at most once per noDeliveryCheckMs of the injected clock,
   * before claiming: the moved notices go in the same pass. A failure is logged, never thrown.
   */
  async function checkNoDelivery(now: Date): Promise<void> {
    if (o.noDeliveryMinutes === undefined) return;
    if (now.getTime() - lastNoDeliveryCheck < (o.noDeliveryCheckMs ?? 60_000)) return;
    lastNoDeliveryCheck = now.getTime();
    const canales = channels
      .all()
      .filter((a) => a.reportsDelivery)
      .map((a) => a.name);
    try {
      const moved = await moveUndelivered(db, {
        now,
        afterMs: o.noDeliveryMinutes * 60_000,
        canales,
        configured: channels.names(),
        isOpen: (c) => channels.get(c)?.isOpen?.(now) ?? true,
      });
      if (moved > 0) {
        log.info(
          { avisos: moved, minutos: o.noDeliveryMinutes },
          'avisos sin confirmación de entrega: pasan al siguiente canal',
        );
      }
    } catch (err) {
      log.error({ err }, 'no se pudo revisar los avisos sin confirmación de entrega');
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
        await checkNoDelivery(now);
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
        if (rows.length) {
          templates = undefined;
          channelTexts = undefined;
        }
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
      const { index, soonestMs: soonest } = chats.firstReady(queue.map(chatKey), pace.now());
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
      const key = chatKey(row);
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
      const check = (await channels.get(engineChannel)?.check?.()) ?? { ok: true };
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
      if (!(await settlesWithin(all, Math.max(0, (opts.drainMs ?? 15_000) - 1000)))) {
        log.warn('tiempo de drenado agotado: se cortan los envíos en curso');
        sendAbort.abort();
        await all;
      }
      await completions.drained();
      publishState();
      log.info('despachador detenido');
    },
  };
}
