import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { pendingMigrations, withDatabaseDeadline } from '../../db/index.js';
import type { ApiDeps } from '../types.js';

export const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'El proceso está vivo',
        tags: ['salud'],
        security: [],
        response: { 200: z.object({ estado: z.literal('ok') }) },
      },
    },
    async () => ({ estado: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        summary: 'Listo para atender: base de datos accesible y migraciones aplicadas',
        tags: ['salud'],
        security: [],
        response: {
          200: z.object({ estado: z.literal('listo'), base_de_datos: z.string() }),
          503: z.object({ estado: z.literal('no_listo'), motivo: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        // Readiness answers within seconds even when the database hangs (issue 12 §3): a probe
        // that waits as long as the statement timeout would keep a dead instance in rotation.
        const pending = await withDatabaseDeadline(
          pendingMigrations(deps.db),
          deps.config.database.connectTimeoutMs,
        );
        if (pending.length > 0) {
          return reply
            .status(503)
            .send({ estado: 'no_listo' as const, motivo: `migraciones pendientes: ${pending.join(', ')}` });
        }
        return { estado: 'listo' as const, base_de_datos: deps.db.kind };
      } catch {
        return reply.status(503).send({ estado: 'no_listo' as const, motivo: 'base de datos inaccesible' });
      }
    },
  );
};
