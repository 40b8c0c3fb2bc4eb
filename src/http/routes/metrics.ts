import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createEngineMetrics } from '../../notifications/index.js';
import type { ApiDeps } from '../types.js';

/** Prometheus metrics of the engine (behind the admin token, like every non-public route). */
export const metricsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const metrics = deps.engine?.metrics ?? createEngineMetrics();
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['salud'],
        summary:
          'Métricas Prometheus: enviadas y fallidas por tipo y motivo, cola, antigüedad de la más vieja, latencia de Telegram, 429',
      },
    },
    async (_request, reply) => {
      await metrics.refreshQueue(deps.db, deps.clock.now());
      const bot = deps.bot ? await deps.bot.metrics.registry.metrics() : '';
      return reply.type(metrics.registry.contentType).send((await metrics.registry.metrics()) + bot);
    },
  );
};
