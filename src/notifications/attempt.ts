import type {
  ChannelAdapter,
  ChannelFailure,
  ChannelName,
  ChannelRegistry,
  ChannelSendResult,
  ComposedForChannel,
} from '../channels/types.js';
import { recordConsent } from '../clients/consents.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logger.js';
import { type BackoffOptions, backoffDelayMs } from '../telegram/send.js';
import { addressOn, CHAT_ONLY_FACTS, chooseChannel } from './channel-policy.js';
import type { ChannelTextSet } from './channel-texts.js';
import { type ChannelComposition, composeForChannel, type TemplateResolver } from './compose.js';
import type { DispatcherEvent, DispatcherOptions, PassReport, QueuedRow } from './dispatcher-types.js';
import { fallbackRule, lostChannels, mayFallBack } from './fallback-policy.js';
import type { EngineMetrics } from './metrics.js';
import {
  type AttemptRow,
  type Completion,
  type EnvioRecord,
  markChannelsLost,
  markClientUnreachableOn,
  pauseChannel,
  pauseSendSlots,
  type RecipientTurn,
  recordTry,
  reserveRecipientTurn,
} from './outbox.js';
import type { ChannelGate, PaceClock, SlotPacer } from './rate-limiter.js';
import type { TemplateSet } from './templates.js';
import type { EngineSettings } from './types.js';

/**
 * One attempt of one claimed row — re-check, compose, send, classify — and the table of outcomes:
 * every verdict is settled by exactly one `settle`, which writes the completion, the pass's
 * counters, the metrics, the event and the log line. A failure is data on the row, never an
 * escaped exception.
 */

/** How an attempt ended. `closed`: the re-check itself closed the row (nothing left to write). */
export type Outcome =
  | {
      kind: 'sent';
      at: Date;
      messageId: number | null;
      chatId: number | null;
      text: string;
      envio?: EnvioRecord | undefined;
    }
  | {
      kind: 'retry';
      at: Date;
      nextAt: Date;
      error: string;
      reason: string;
      delayMs: number;
      envio?: EnvioRecord;
    }
  | {
      kind: 'failed';
      at: Date;
      motivo: string;
      error: string | null;
      note?: string;
      level?: 'info' | 'warn' | 'error';
      envio?: EnvioRecord;
    }
  | { kind: 'closed'; estado: string; motivo: string }
  /** Back to the queue; `uncount` undoes the attempt (not the row's fault). */
  | {
      kind: 'released';
      at: Date;
      uncount: boolean;
      note?: string;
      /** Not before then (default: as it was). */
      nextAt?: Date;
      /** Why it waits (ultimo_error). */
      error?: string;
      envio?: EnvioRecord;
    };

/** A row on hold for its template waits this long before it is looked at again. */
const HELD_TEMPLATE_WAIT_MS = 15 * 60_000;
/** A row for a stopped channel waits this long (the channel's credentials are checked meanwhile). */
const STOPPED_CHANNEL_WAIT_MS = 60_000;

/** What the attempt will send: the channel, its adapter, the address and the composed content. */
interface Planned {
  canal: ChannelName;
  adapter: ChannelAdapter;
  to: string;
  content: ComposedForChannel;
}

export interface AttemptDeps {
  db: Db;
  /** The channels this process sends by. */
  channels: ChannelRegistry;
  /** The channel the pump paces (SEND_RATE, per-chat rate): the others go through their gate. */
  engineChannel: ChannelName;
  /** The pacing gate of a channel other than the engine's. */
  gate: (canal: ChannelName, adapter: ChannelAdapter) => ChannelGate;
  /** WhatsApp templates (waapi's registry); the placeholder mapping without it. */
  resolveTemplate?: TemplateResolver | undefined;
  channelStopped: (canal: ChannelName) => boolean;
  /** A channel refused our credentials: halt it and alert. */
  onChannelStop: (canal: ChannelName, error: string) => void;
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
  /** SMS texts and e-mail subjects (read again with the templates). */
  channelTexts?: () => Promise<ChannelTextSet>;
  begin: (row: QueuedRow) => Promise<AttemptRow | undefined>;
  record: (c: Completion) => Promise<void>;
  emit: (e: DispatcherEvent) => void;
  publishState: () => void;
  isStopping: () => boolean;
  sendSignal: () => AbortSignal;
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
        ...(o.envio && { envio: o.envio }),
      });
      rep.enviadas++;
      d.metrics?.sent.inc({ tipo: r.tipo });
      d.emit({
        type: 'sent',
        id: r.id,
        clientId: r.client_id,
        messageId: o.messageId ?? 0,
        canal: o.envio?.canal ?? d.engineChannel,
      });
    },
    async retry(r, o, rep) {
      await d.record({
        kind: 'retry',
        id: r.id,
        at: o.at,
        nextAt: o.nextAt,
        error: o.error,
        ...(o.envio && { envio: o.envio }),
      });
      rep.reintentos++;
      d.metrics?.retried.inc({ tipo: r.tipo, motivo: o.reason });
      d.emit({ type: 'retry', id: r.id, clientId: r.client_id, error: o.error });
      rowLog(r).info({ esperaMs: o.delayMs, error: o.error }, 'envío fallido: se reintentará');
    },
    async failed(r, o, rep) {
      await d.record({
        kind: 'fail',
        id: r.id,
        at: o.at,
        motivo: o.motivo,
        error: o.error,
        ...(o.envio && { envio: o.envio }),
      });
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
      await d.record({
        kind: 'release',
        id: r.id,
        at: o.at,
        nextAt: o.nextAt ?? null,
        uncount: o.uncount,
        ...(o.error && { error: o.error }),
        ...(o.envio && { envio: o.envio }),
      });
      rep.liberadas++;
      if (o.note) rowLog(r).warn({ error: o.error }, o.note);
    },
  };

  const rowLog = (r: Row) => d.log.child({ notificationId: r.id, clientId: r.client_id });
  const run = <K extends Outcome['kind']>(r: Row, o: Extract<Outcome, { kind: K }>, rep: PassReport) =>
    (settle[o.kind] as (r: Row, o: Outcome, rep: PassReport) => Promise<void>)(r, o, rep);

  /** Re-check, choose the channel and compose: what to send, or the outcome that ends the attempt before it. */
  async function prepare(
    row: QueuedRow,
    now: Date,
    forceTemplate = false,
    known?: AttemptRow,
  ): Promise<{ a: AttemptRow; plan: Planned } | { a?: AttemptRow; outcome: Outcome | null }> {
    let a: AttemptRow | undefined = known;
    if (!a) {
      try {
        a = await d.begin(row);
      } catch (err) {
        rowLog(row).error({ err }, 'no se pudo iniciar el intento; la fila vuelve a la cola');
        return { outcome: { kind: 'released', at: now, uncount: false } };
      }
      if (!a) return { outcome: null }; // no longer ours: nothing to write
      if (a.estado !== 'pendiente')
        return { a, outcome: { kind: 'closed', estado: a.estado, motivo: a.motivo ?? a.estado } };
    }
    const facts =
      a.client_id === null
        ? CHAT_ONLY_FACTS
        : { reasons: a.canales ?? { telegram: null }, preferred: a.canal_preferido ?? null };
    // Fallback (issue 11 §3): not the channels this notice lost, not a channel closed right now
    // (SMS outside SMS_WINDOW), in the order of Ajustes (default FALLBACK_ORDER) after the client's
    // preferred one.
    const order = d.settings().fallbackOrder ?? d.options.fallbackOrder;
    const choice = chooseChannel(facts, d.channels.names(), lostChannels(a.datos), {
      order,
      isOpen: (c) => d.channels.get(c)?.isOpen?.(now) ?? true,
    });
    if (!choice.ok) {
      // Only closed right now (SMS outside SMS_WINDOW, nothing else reaches the client): the notice
      // waits for the channel to open instead of failing — nothing is lost over a weekend.
      const later = chooseChannel(facts, d.channels.names(), lostChannels(a.datos), { order });
      const adapter = later.ok ? d.channels.get(later.canal) : undefined;
      const opens = adapter ? opensAt(adapter, now) : null;
      if (later.ok && opens && addressOn(later.canal, a)) {
        return {
          a,
          outcome: {
            kind: 'released',
            at: now,
            uncount: true,
            nextAt: opens,
            error: `Solo ${later.canal} llega a este cliente y ahora está fuera de su horario; sale cuando abra.`,
          },
        };
      }
    }
    const canal = choice.ok ? choice.canal : undefined;
    const to = canal ? addressOn(canal, a) : null;
    if (!choice.ok || !canal || !to) {
      const detalle = choice.ok ? `El cliente no tiene dirección en ${choice.canal}.` : choice.detalle;
      return { a, outcome: { kind: 'failed', at: now, motivo: 'sin_canal', error: detalle, level: 'warn' } };
    }
    if (d.channelStopped(canal)) {
      return {
        a,
        outcome: {
          kind: 'released',
          at: now,
          uncount: true,
          nextAt: new Date(now.getTime() + STOPPED_CHANNEL_WAIT_MS),
          error: `El canal ${canal} está detenido (credenciales rechazadas); se reintentará.`,
        },
      };
    }
    let composed: ChannelComposition;
    try {
      composed = await composeForChannel(a, canal, {
        templates: await d.templates(),
        ...(d.channelTexts && canal !== 'telegram' && { channelTexts: await d.channelTexts() }),
        today: d.today(now),
        settings: d.settings(),
        now,
        forceTemplate: forceTemplate || a.datos?.['forzar_plantilla'] === true,
        ...(d.resolveTemplate && { resolveTemplate: d.resolveTemplate }),
      });
    } catch (err) {
      rowLog(a).error({ err }, 'no se pudo componer el mensaje');
      return {
        a,
        outcome: {
          kind: 'failed',
          at: now,
          motivo: 'mensaje_invalido',
          error: String(err),
          note: 'no se pudo componer el mensaje',
          level: 'warn',
        },
      };
    }
    if (!composed.ok) {
      // A template on hold (not approved yet) waits with its reason; a refusal (missing data, bad
      // markup) is data on the row, with a reason staff can act on.
      if (composed.hold) {
        return {
          a,
          outcome: {
            kind: 'released',
            at: now,
            uncount: true,
            nextAt: new Date(now.getTime() + HELD_TEMPLATE_WAIT_MS),
            error: composed.detalle,
            note: 'notificación retenida: plantilla no disponible',
          },
        };
      }
      return {
        a,
        outcome: {
          kind: 'failed',
          at: now,
          motivo: composed.motivo,
          error: composed.detalle,
          note: 'notificación no enviada: mensaje incompleto',
          level: 'warn',
        },
      };
    }
    const adapter = d.channels.get(canal)!;
    return { a, plan: { canal, adapter, to, content: composed.content } };
  }

  /**
   * A channel lost this notice for good (a permanent failure, or retries run out): the next channel
   * its kind allows (must-deliver: every usable one; reminders: one more; offers: none), prepared
   * within the same claim — or null when it may not fall back. The lost try is recorded first.
   */
  async function fallBack(
    row: QueuedRow,
    a: AttemptRow,
    canal: ChannelName,
    tried: EnvioRecord | undefined,
    at: Date,
  ): Promise<{ a: AttemptRow; plan: Planned } | { a: AttemptRow; outcome: Outcome } | null> {
    const lost = [...new Set([...lostChannels(a.datos), canal])];
    if (
      a.client_id === null ||
      !mayFallBack(fallbackRule(a.tipo, a.urgente, d.settings().fallbackRules), lost)
    )
      return null;
    const next = await prepare(row, at, false, {
      ...a,
      datos: { ...(a.datos ?? {}), canales_descartados: lost },
    });
    // The next channel is only closed right now (SMS_WINDOW): the notice waits for it.
    const waits = !('plan' in next) && next.outcome?.kind === 'released' && next.outcome.uncount;
    // No other channel can take it now: the caller fails the notice as before.
    if (!('plan' in next) && !waits) return null;
    const nextId = tried ? await recordTry(d.db, a.id, tried).catch(() => null) : a.envio_id;
    await markChannelsLost(d.db, a.id, lost).catch((err) =>
      rowLog(a).error({ err }, 'no se pudo guardar los canales descartados'),
    );
    rowLog(a).info({ canal, descartados: lost }, `${canal} no llegó: se prueba el siguiente canal`);
    if ('plan' in next) return { a: { ...next.a, envio_id: nextId }, plan: next.plan };
    return { a: { ...a, datos: { ...(a.datos ?? {}), canales_descartados: lost } }, outcome: next.outcome! };
  }

  /** A notice that lost other channels before this one fails with sin_canal (the call list); else the channel's reason. */
  const finalReason = (a: AttemptRow, reason: string) =>
    lostChannels(a.datos).length > 0 ? 'sin_canal' : reason;

  const errorText = (f: ChannelFailure) => (f.network ? f.message : `${f.code}: ${f.message}`).slice(0, 500);

  /** Sends one claimed row and settles the outcome. Never throws. Returns the row to re-queue after a 429. */
  return async function attempt(row: QueuedRow, report: PassReport): Promise<QueuedRow | undefined> {
    const now = d.clock.now();
    let ready = await prepare(row, now);
    for (let round = 0; ; round++) {
      if (!('plan' in ready)) {
        if (ready.outcome) await run(ready.a ?? row, ready.outcome, report);
        else report.liberadas++;
        return undefined;
      }
      const { a, plan } = ready;
      const { canal, adapter, to, content } = plan;
      const envio = (startedAt: Date, extra: Partial<EnvioRecord>): EnvioRecord | undefined =>
        a.envio_id === null || a.envio_id === undefined
          ? undefined
          : {
              id: Number(a.envio_id),
              canal,
              destino: to,
              startedAt,
              plantilla: content.template?.name ?? null,
              reportsDelivery: adapter.reportsDelivery,
              ...extra,
            };

      // The channel's own limits (the pump paces the engine's channel): the recipient's turn and
      // the daily tier through the database, then a send slot and a concurrency slot.
      const gate = canal === d.engineChannel ? undefined : d.gate(canal, adapter);
      // The resend of a refused free text (round 1) keeps the turn the refused one took.
      if (
        gate &&
        round === 0 &&
        (gate.pacing.perRecipientIntervalMs > 0 || gate.pacing.dailyUniqueRecipients !== undefined)
      ) {
        let turn: RecipientTurn;
        try {
          turn = await reserveRecipientTurn(d.db, {
            canal,
            destino: to,
            intervalMs: gate.pacing.perRecipientIntervalMs,
            dailyLimit: gate.pacing.dailyUniqueRecipients,
            opensWindow: content.template !== undefined,
            now: d.clock.now(),
          });
        } catch (err) {
          rowLog(a).error({ err }, 'no se pudo reservar el turno del destinatario; la fila vuelve a la cola');
          await run(a, { kind: 'released', at: d.clock.now(), uncount: true }, report);
          return undefined;
        }
        if (!turn.ok) {
          const error =
            turn.reason === 'limite_diario'
              ? `Límite diario de destinatarios de ${canal} alcanzado (${gate.pacing.dailyUniqueRecipients}); sale cuando se libere cupo.`
              : undefined;
          await run(
            a,
            {
              kind: 'released',
              at: d.clock.now(),
              uncount: true,
              nextAt: turn.nextAt,
              ...(error && { error }),
            },
            report,
          );
          return undefined;
        }
      }
      if (gate) {
        await gate.concurrency.acquire();
      }
      let result: ChannelSendResult;
      const startedAt = d.clock.now();
      const started = d.pace.now();
      try {
        if (gate) {
          const slotAt = await gate.slots.next(d.pace.now(), 1);
          while (!d.isStopping() && d.pace.now() < slotAt) await sleep(slotAt - d.pace.now(), d.sendSignal());
        } else {
          // A 429 may have paused every send while this row was being re-checked: no call starts
          // before the pause is over.
          await d.waitPause();
        }
        result = await adapter.send({
          notificationId: a.id,
          envioId: Number(a.envio_id ?? 0),
          clientId: a.client_id,
          tipo: a.tipo,
          to,
          composed: content,
          marketing: a.tipo === 'oferta',
          signal: d.sendSignal(),
        });
      } catch (err) {
        // Adapters never throw; a bug is a network-like failure, not an escaped exception.
        result = { ok: false, failure: { code: 'network', message: String(err), network: true } };
      } finally {
        gate?.concurrency.release();
      }
      const after = d.clock.now();
      d.metrics?.telegramLatency.observe(
        { resultado: result.ok ? 'ok' : result.failure.network ? 'red' : result.failure.code },
        (d.pace.now() - started) / 1000,
      );
      if (result.ok) {
        await run(
          a,
          {
            kind: 'sent',
            at: after,
            messageId: result.messageNumber ?? null,
            chatId: null,
            text: content.text,
            envio: envio(startedAt, { proveedorId: result.providerId }),
          },
          report,
        );
        return undefined;
      }
      const failure = result.failure;
      const error = errorText(failure);
      const tried = envio(startedAt, { errorCodigo: failure.code, error });
      if (d.isStopping() && d.sendSignal().aborted) {
        // Cut short by the end of the drain time: it may or may not have arrived. Back to the queue.
        await run(a, { kind: 'released', at: after, uncount: false }, report);
        return undefined;
      }
      const verdict = adapter.classify(failure);
      switch (verdict.action) {
        case 'pause': {
          report.limitadas++;
          d.metrics?.rateLimited.inc();
          const until = d.pace.now() + Math.min(verdict.waitMs, d.maxPauseMs);
          if (gate) {
            gate.slots.pause(until);
            await pauseChannel(d.db, canal, until).catch(() => {});
          } else {
            d.slots.pause(until);
            d.publishState();
            if (d.options.sharedPacer !== false) await pauseSendSlots(d.db, until).catch(() => {});
          }
          rowLog(a).warn(
            { canal, esperaMs: verdict.waitMs, recortado: verdict.capped ?? false },
            `${canal} pidió esperar: se pausan los envíos del canal`,
          );
          d.emit({ type: 'paused', ms: verdict.waitMs });
          if (!d.isStopping()) return { ...row, countAttempt: false };
          await run(a, { kind: 'released', at: after, uncount: true }, report);
          return undefined;
        }
        case 'retry': {
          const delayMs = Math.max(backoffDelayMs(a.intentos, d.backoff, d.random), verdict.minDelayMs ?? 0);
          const first = a.primer_intento ?? now;
          const nextAt = new Date(after.getTime() + delayMs);
          const exhausted =
            a.intentos >= d.maxAttempts || nextAt.getTime() - first.getTime() > d.retryHorizonMs;
          if (exhausted && fallbackRule(a.tipo, a.urgente, d.settings().fallbackRules) === 'must_deliver') {
            const next = await fallBack(row, a, canal, tried, after);
            if (next) {
              ready = next;
              continue;
            }
          }
          await run(
            a,
            exhausted
              ? {
                  kind: 'failed',
                  at: after,
                  motivo: finalReason(a, 'reintentos_agotados'),
                  error,
                  note: 'notificación fallida: reintentos agotados',
                  level: 'warn',
                  ...(tried && { envio: tried }),
                }
              : {
                  kind: 'retry',
                  at: after,
                  nextAt,
                  error,
                  reason: verdict.reason,
                  delayMs,
                  ...(tried && { envio: tried }),
                },
            report,
          );
          return undefined;
        }
        case 'fail': {
          if (verdict.unreachable && a.client_id !== null) {
            const days = verdict.unreachable.days;
            const until = days === undefined ? null : new Date(after.getTime() + days * 86_400_000);
            await markClientUnreachableOn(
              d.db,
              canal,
              a.client_id,
              verdict.unreachable.reason,
              until,
              after,
            ).catch((err) => rowLog(a).error({ err }, 'no se pudo marcar al cliente como inalcanzable'));
          }
          if (verdict.optOut && a.client_id !== null) {
            await recordConsent(d.db, {
              clientId: a.client_id,
              canal,
              categoria: verdict.optOut,
              otorgado: false,
              fuente: 'proveedor',
              evidencia: error,
              registradoPor: 'sistema',
              at: after,
            }).catch((err) => rowLog(a).error({ err }, 'no se pudo registrar la baja en el consentimiento'));
          }
          const next = await fallBack(row, a, canal, tried, after);
          if (next) {
            ready = next;
            continue;
          }
          const note = `notificación fallida: ${canal} no la acepta`;
          await run(
            a,
            {
              kind: 'failed',
              at: after,
              motivo: finalReason(a, verdict.reason),
              error,
              note,
              ...(tried && { envio: tried }),
            },
            report,
          );
          return undefined;
        }
        case 'stop': {
          d.onChannelStop(canal, error);
          // Not the row's fault: the attempt does not count.
          await run(
            a,
            {
              kind: 'released',
              at: after,
              uncount: true,
              ...(gate && { nextAt: new Date(after.getTime() + STOPPED_CHANNEL_WAIT_MS) }),
              ...(tried && { envio: tried }),
            },
            report,
          );
          return undefined;
        }
        case 'template': {
          if (round === 0 && content.template === undefined) {
            // Outside the service window after all: the same notice again, as a template. The
            // refused free text was a try of its own: it is recorded, and the template gets a new id.
            const nextId = tried ? await recordTry(d.db, a.id, tried).catch(() => null) : null;
            ready = await prepare(row, after, true, { ...a, envio_id: nextId });
            continue;
          }
          await run(
            a,
            {
              kind: 'failed',
              at: after,
              motivo: 'plantilla_invalida',
              error,
              note: 'notificación fallida: la plantilla fue rechazada',
              ...(tried && { envio: tried }),
            },
            report,
          );
          return undefined;
        }
      }
    }
  };
}

/**
 * When a channel closed at `now` opens again (`nextOpening`), remembered per channel adapter: every
 * notice that waits for it over one closure (a weekend of SMS-only clients) gets the same answer
 * without walking the window again (~2 ms from a Friday evening to Monday 09:00).
 */
const openings = new WeakMap<object, { from: number; at: Date }>();
function opensAt(adapter: { isOpen?: (at: Date) => boolean }, now: Date): Date | null {
  const isOpen = adapter.isOpen;
  if (!isOpen) return null;
  const known = openings.get(adapter);
  // Closed from `from` until `at`: the same opening for any instant in between.
  if (known && known.from <= now.getTime() && now.getTime() < known.at.getTime()) return known.at;
  const at = nextOpening((t) => isOpen.call(adapter, t), now);
  if (at) openings.set(adapter, { from: now.getTime(), at });
  return at;
}

/** When a channel closed now (SMS outside SMS_WINDOW) opens again: the first 5-minute step within 8 days. */
function nextOpening(isOpen: (at: Date) => boolean, now: Date): Date | null {
  const step = 5 * 60_000;
  for (let t = now.getTime() + step; t <= now.getTime() + 8 * 86_400_000; t += step) {
    if (isOpen(new Date(t))) return new Date(t);
  }
  return null;
}
