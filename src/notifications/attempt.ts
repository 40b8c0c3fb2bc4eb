import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import {
  type BackoffOptions,
  backoffDelayMs,
  classifyTelegramFailure,
  describeFailure,
  type TelegramSender,
} from '../telegram/send.js';
import { type ComposedMessage, ComposeRefusedError, composeRow } from './compose.js';
import type { DispatcherEvent, DispatcherOptions, PassReport, QueuedRow } from './dispatcher-types.js';
import type { EngineMetrics } from './metrics.js';
import { type AttemptRow, type Completion, markClientUnreachable, pauseSendSlots } from './outbox.js';
import type { PaceClock, SlotPacer } from './rate-limiter.js';
import { TELEGRAM_MAX_CHARS, type TemplateSet, visibleLength } from './templates.js';
import type { EngineSettings } from './types.js';

/**
 * One attempt of one claimed row — re-check, compose, send, classify — and the table of outcomes:
 * every verdict is settled by exactly one `settle`, which writes the completion, the pass's
 * counters, the metrics, the event and the log line. A failure is data on the row, never an
 * escaped exception.
 */

/** How an attempt ended. `closed`: the re-check itself closed the row (nothing left to write). */
export type Outcome =
  | { kind: 'sent'; at: Date; messageId: number; chatId: number; text: string }
  | { kind: 'retry'; at: Date; nextAt: Date; error: string; reason: string; delayMs: number }
  | {
      kind: 'failed';
      at: Date;
      motivo: string;
      error: string | null;
      note?: string;
      level?: 'info' | 'warn' | 'error';
    }
  | { kind: 'closed'; estado: string; motivo: string }
  /** Back to the queue; `uncount` undoes the attempt (not the row's fault). */
  | { kind: 'released'; at: Date; uncount: boolean; note?: string };

export interface AttemptDeps {
  db: Db;
  sender: TelegramSender;
  clock: Clock;
  pace: PaceClock;
  log: Logger;
  metrics?: EngineMetrics;
  options: DispatcherOptions;
  slots: SlotPacer;
  backoff: BackoffOptions;
  maxAttempts: number;
  retryHorizonMs: number;
  maxPauseMs: number;
  random: () => number;
  today: (now: Date) => string;
  settings: () => EngineSettings;
  templates: () => Promise<TemplateSet>;
  begin: (row: QueuedRow) => Promise<AttemptRow | undefined>;
  record: (c: Completion) => Promise<void>;
  emit: (e: DispatcherEvent) => void;
  publishState: () => void;
  isStopping: () => boolean;
  sendSignal: () => AbortSignal;
  /** Telegram refused the token (401): stop everything and alert. */
  onUnauthorized: (error: string) => void;
  /** Waits until a 429 pause is over (or stop). */
  waitPause: () => Promise<void>;
}

export function createAttempt(d: AttemptDeps) {
  type Row = { id: number; client_id: number | null; tipo: string };

  /** The table of outcomes. */
  const settle: {
    [K in Outcome['kind']]: (r: Row, o: Extract<Outcome, { kind: K }>, rep: PassReport) => Promise<void>;
  } = {
    async sent(r, o, rep) {
      await d.record({
        kind: 'sent',
        id: r.id,
        at: o.at,
        messageId: o.messageId,
        chatId: o.chatId,
        text: o.text,
      });
      rep.enviadas++;
      d.metrics?.sent.inc({ tipo: r.tipo });
      d.emit({ type: 'sent', id: r.id, clientId: r.client_id, messageId: o.messageId });
    },
    async retry(r, o, rep) {
      await d.record({ kind: 'retry', id: r.id, at: o.at, nextAt: o.nextAt, error: o.error });
      rep.reintentos++;
      d.metrics?.retried.inc({ tipo: r.tipo, motivo: o.reason });
      d.emit({ type: 'retry', id: r.id, clientId: r.client_id, error: o.error });
      rowLog(r).info({ esperaMs: o.delayMs, error: o.error }, 'envío fallido: se reintentará');
    },
    async failed(r, o, rep) {
      await d.record({ kind: 'fail', id: r.id, at: o.at, motivo: o.motivo, error: o.error });
      rep.fallidas++;
      d.metrics?.failed.inc({ tipo: r.tipo, motivo: o.motivo });
      d.emit({ type: 'failed', id: r.id, clientId: r.client_id, motivo: o.motivo });
      rowLog(r)[o.level ?? 'info']({ motivo: o.motivo, error: o.error }, o.note ?? 'notificación fallida');
    },
    async closed(r, o, rep) {
      if (o.estado === 'cancelado') {
        rep.canceladas++;
        d.metrics?.cancelled.inc({ tipo: r.tipo, motivo: o.motivo });
        d.emit({ type: 'cancelled', id: r.id, clientId: r.client_id, motivo: o.motivo });
      } else {
        rep.fallidas++;
        d.metrics?.failed.inc({ tipo: r.tipo, motivo: o.motivo });
        d.emit({ type: 'failed', id: r.id, clientId: r.client_id, motivo: o.motivo });
      }
      rowLog(r).info({ estado: o.estado, motivo: o.motivo }, 'notificación no enviada: ya no corresponde');
    },
    async released(r, o, rep) {
      await d.record({ kind: 'release', id: r.id, at: o.at, nextAt: null, uncount: o.uncount });
      rep.liberadas++;
      if (o.note) rowLog(r).warn(o.note);
    },
  };

  const rowLog = (r: Row) => d.log.child({ notificationId: r.id, clientId: r.client_id });
  const run = <K extends Outcome['kind']>(r: Row, o: Extract<Outcome, { kind: K }>, rep: PassReport) =>
    (settle[o.kind] as (r: Row, o: Outcome, rep: PassReport) => Promise<void>)(r, o, rep);

  /** Re-check and compose: the message to send, or the outcome that ends the attempt before it. */
  async function prepare(
    row: QueuedRow,
    now: Date,
  ): Promise<{ a: AttemptRow; message: ComposedMessage } | { a?: AttemptRow; outcome: Outcome | null }> {
    let a: AttemptRow | undefined;
    try {
      a = await d.begin(row);
    } catch (err) {
      rowLog(row).error({ err }, 'no se pudo iniciar el intento; la fila vuelve a la cola');
      return { outcome: { kind: 'released', at: now, uncount: false } };
    }
    if (!a) return { outcome: null }; // no longer ours: nothing to write
    if (a.estado !== 'pendiente')
      return { a, outcome: { kind: 'closed', estado: a.estado, motivo: a.motivo ?? a.estado } };
    let message: ComposedMessage;
    try {
      message = composeRow(a, await d.templates(), d.today(now), d.settings());
    } catch (err) {
      // A refusal (missing data, bad markup) is data on the row, with a reason staff can act on.
      const refused = err instanceof ComposeRefusedError;
      if (!refused) rowLog(a).error({ err }, 'no se pudo componer el mensaje');
      return {
        a,
        outcome: {
          kind: 'failed',
          at: now,
          motivo: refused ? err.motivo : 'mensaje_invalido',
          error: refused ? err.message : String(err),
          note: refused ? 'notificación no enviada: mensaje incompleto' : 'no se pudo componer el mensaje',
          level: 'warn',
        },
      };
    }
    const length = message.html ? visibleLength(message.text) : message.text.length;
    if (length > TELEGRAM_MAX_CHARS || length === 0) {
      const motivo = length === 0 ? 'mensaje_vacio' : 'mensaje_demasiado_largo';
      const error = `${length} caracteres (máximo ${TELEGRAM_MAX_CHARS})`;
      return { a, outcome: { kind: 'failed', at: now, motivo, error } };
    }
    return { a, message };
  }

  /** Sends one claimed row and settles the outcome. Never throws. Returns the row to re-queue after a 429. */
  return async function attempt(row: QueuedRow, report: PassReport): Promise<QueuedRow | undefined> {
    const now = d.clock.now();
    const ready = await prepare(row, now);
    if (!('message' in ready)) {
      if (ready.outcome) await run(ready.a ?? row, ready.outcome, report);
      else report.liberadas++;
      return undefined;
    }
    const { a, message } = ready;
    // A 429 may have paused every send while this row was being re-checked: no call starts
    // before the pause is over.
    await d.waitPause();
    const chatId = a.chat_id!;
    const started = d.pace.now();
    const result = await d.sender.sendMessage(chatId, message.text, {
      html: message.html,
      paidBroadcast: d.options.paidBroadcast,
      ...(message.replyMarkup && { replyMarkup: message.replyMarkup }),
      signal: d.sendSignal(),
    });
    const after = d.clock.now();
    d.metrics?.telegramLatency.observe(
      { resultado: result.ok ? 'ok' : result.failure.kind === 'api' ? String(result.failure.code) : 'red' },
      (d.pace.now() - started) / 1000,
    );
    if (result.ok) {
      await run(
        a,
        { kind: 'sent', at: after, messageId: result.messageId, chatId, text: message.text },
        report,
      );
      return undefined;
    }
    const error = describeFailure(result.failure);
    if (d.isStopping() && d.sendSignal().aborted) {
      // Cut short by the end of the drain time: it may or may not have arrived. Back to the queue.
      await run(a, { kind: 'released', at: after, uncount: false }, report);
      return undefined;
    }
    const verdict = classifyTelegramFailure(result.failure, { maxRetryAfterMs: d.maxPauseMs });
    switch (verdict.action) {
      case 'pause': {
        report.limitadas++;
        d.metrics?.rateLimited.inc();
        const until = d.pace.now() + verdict.waitMs;
        d.slots.pause(until);
        d.publishState();
        if (d.options.sharedPacer !== false) await pauseSendSlots(d.db, until).catch(() => {});
        rowLog(a).warn(
          { esperaMs: verdict.waitMs, recortado: verdict.capped },
          'Telegram pidió esperar (429): se pausan todos los envíos',
        );
        d.emit({ type: 'paused', ms: verdict.waitMs });
        if (!d.isStopping()) return { ...row, countAttempt: false };
        await run(a, { kind: 'released', at: after, uncount: true }, report);
        return undefined;
      }
      case 'retry': {
        const delayMs = backoffDelayMs(a.intentos, d.backoff, d.random);
        const first = a.primer_intento ?? now;
        const nextAt = new Date(after.getTime() + delayMs);
        const exhausted =
          a.intentos >= d.maxAttempts || nextAt.getTime() - first.getTime() > d.retryHorizonMs;
        await run(
          a,
          exhausted
            ? {
                kind: 'failed',
                at: after,
                motivo: 'reintentos_agotados',
                error,
                note: 'notificación fallida: reintentos agotados',
                level: 'warn',
              }
            : { kind: 'retry', at: after, nextAt, error, reason: verdict.reason, delayMs },
          report,
        );
        return undefined;
      }
      case 'fail': {
        if (verdict.unreachable && a.client_id !== null) {
          await markClientUnreachable(d.db, a.client_id, verdict.reason, after).catch((err) =>
            rowLog(a).error({ err }, 'no se pudo marcar al cliente como inalcanzable'),
          );
        }
        const note = 'notificación fallida: Telegram no la acepta';
        await run(a, { kind: 'failed', at: after, motivo: verdict.reason, error, note }, report);
        return undefined;
      }
      case 'stop': {
        d.onUnauthorized(error);
        // Not the row's fault: the attempt does not count.
        await run(a, { kind: 'released', at: after, uncount: true }, report);
        return undefined;
      }
    }
  };
}
