import { Counter, Registry } from 'prom-client';

/** The bot's Prometheus metrics, on a registry of its own (served with the engine's at /metrics). */
export function createBotMetrics() {
  const registry = new Registry();
  const cedulaLookups = new Counter({
    name: 'teltec_bot_cedula_lookups_total',
    help: 'Consultas de cédula en el bot: respondidas, o rechazadas por el límite del usuario o el presupuesto por hora',
    labelNames: ['resultado'] as const,
    registers: [registry],
  });
  return { registry, cedulaLookups };
}

export type BotMetrics = ReturnType<typeof createBotMetrics>;
