import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiDeps } from '../types.js';

/** Read-only data the admin page's filters and settings page need (behind the admin token). */
export const adminDataRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/sectores',
    {
      schema: {
        tags: ['clientes'],
        summary: 'Sectores con clientes (para filtros y campañas), con cuántos clientes tiene cada uno',
        response: {
          200: z.object({ sectores: z.array(z.object({ nombre: z.string(), clientes: z.number() })) }),
        },
      },
    },
    async () => {
      // Sectors compare case-insensitively everywhere (filters, campaigns): group the same way.
      const { rows } = await deps.db.query<{ nombre: string; clientes: number }>(
        `SELECT min(sector) AS nombre, count(*)::int AS clientes
           FROM clients WHERE sector IS NOT NULL AND sector <> ''
          GROUP BY lower(sector) ORDER BY lower(min(sector))`,
      );
      return { sectores: rows };
    },
  );
  // GET /api/ajustes lives in ajustes.ts (issue 14: settings in the database).
};
