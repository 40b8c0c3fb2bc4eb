import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../db/index.js';

/**
 * The engine's Prometheus metrics, on a registry of their own (one per service, never the global
 * default registry, so that tests can build many). Counters are fed by the dispatcher; queue depth
 * and the age of the oldest due row are read from the database at scrape time.
 */
export interface EngineMetrics {
  readonly registry: Registry;
  readonly sent: Counter<'tipo'>;
  readonly failed: Counter<'tipo' | 'motivo'>;
  readonly cancelled: Counter<'tipo' | 'motivo'>;
  readonly retried: Counter<'tipo' | 'motivo'>;
  readonly rateLimited: Counter;
  readonly telegramLatency: Histogram<'resultado'>;
  readonly dispatcherState: Gauge<'estado'>;
  readonly generated: Counter<'tipo'>;
  /** Reads queue depth and oldest due age from the database (call before rendering). */
  refreshQueue(db: Queryable, now: Date): Promise<void>;
}

export const dispatcherStates = ['detenido', 'activo', 'pausado', 'token_invalido'] as const;
export type DispatcherState = (typeof dispatcherStates)[number];

export function createEngineMetrics(): EngineMetrics {
  const registry = new Registry();
  const sent = new Counter({
    name: 'teltec_notifications_sent_total',
    help: 'Notifications Telegram accepted, by type',
    labelNames: ['tipo'] as const,
    registers: [registry],
  });
  const failed = new Counter({
    name: 'teltec_notifications_failed_total',
    help: 'Notifications closed as failed, by type and reason',
    labelNames: ['tipo', 'motivo'] as const,
    registers: [registry],
  });
  const cancelled = new Counter({
    name: 'teltec_notifications_cancelled_total',
    help: 'Notifications cancelled before sending because they were no longer true, by type and reason',
    labelNames: ['tipo', 'motivo'] as const,
    registers: [registry],
  });
  const retried = new Counter({
    name: 'teltec_notifications_retried_total',
    help: 'Send attempts that failed and will be retried, by type and reason',
    labelNames: ['tipo', 'motivo'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'teltec_telegram_429_total',
    help: 'Telegram answers 429 Too Many Requests',
    registers: [registry],
  });
  const telegramLatency = new Histogram({
    name: 'teltec_telegram_call_seconds',
    help: 'Duration of sendMessage calls to Telegram',
    labelNames: ['resultado'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const dispatcherState = new Gauge({
    name: 'teltec_dispatcher_state',
    help: 'Dispatcher state (1 = current): detenido, activo, pausado (429), token_invalido (401)',
    labelNames: ['estado'] as const,
    registers: [registry],
  });
  const generated = new Counter({
    name: 'teltec_notifications_generated_total',
    help: 'Payment notices created by the generation rules, by type',
    labelNames: ['tipo'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'teltec_outbox_pending',
    help: 'Pending notifications (due now and later)',
    labelNames: ['cuando'] as const,
    registers: [registry],
  });
  const oldestDueAge = new Gauge({
    name: 'teltec_outbox_oldest_due_age_seconds',
    help: 'Age of the oldest pending notification that is due (0 when none)',
    registers: [registry],
  });
  for (const s of dispatcherStates) dispatcherState.set({ estado: s }, s === 'detenido' ? 1 : 0);

  return {
    registry,
    sent,
    failed,
    cancelled,
    retried,
    rateLimited,
    telegramLatency,
    dispatcherState,
    generated,
    async refreshQueue(db, now) {
      const { rows } = await db.query<{ due: number; later: number; oldest: Date | null }>(
        `SELECT count(*) FILTER (WHERE proximo_intento <= $1)::int AS due,
                count(*) FILTER (WHERE proximo_intento > $1)::int AS later,
                min(proximo_intento) FILTER (WHERE proximo_intento <= $1) AS oldest
           FROM notifications WHERE estado = 'pendiente'`,
        [now],
      );
      const r = rows[0]!;
      queueDepth.set({ cuando: 'vencidas' }, r.due);
      queueDepth.set({ cuando: 'futuras' }, r.later);
      oldestDueAge.set(r.oldest ? Math.max(0, (now.getTime() - r.oldest.getTime()) / 1000) : 0);
    },
  };
}

export function setDispatcherState(m: EngineMetrics | undefined, state: DispatcherState): void {
  if (!m) return;
  for (const s of dispatcherStates) m.dispatcherState.set({ estado: s }, s === state ? 1 : 0);
}
