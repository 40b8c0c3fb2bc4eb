import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { vocabularies, vocabularyLabels } from '../../vocabulary.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/** The domain's vocabulary with its Spanish labels: the admin page's one source of labels. */
export const vocabularyRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app) => {
  const groups = Object.keys(vocabularies) as [string, ...string[]];
  app.get(
    '/api/vocabulario',
    {
      schema: {
        tags: ['vocabulario'],
        summary:
          'Valores y etiquetas en español de cada estado, tipo y motivo (estado, estado_pago, tipo, notif_estado, motivo, …)',
        response: {
          200: z.record(z.enum(groups), z.record(z.string(), z.string())),
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(vocabularyLabels()),
  );
};
