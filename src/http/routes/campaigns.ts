import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { campaignSample, cancelCampaign, getCampaign, listCampaigns } from '../../notifications/index.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { campaignSchema, sampleSchema } from '../views.js';

const tags = ['envíos masivos'];

/** Campaigns (mass sends): progress and cancellation. They are created by POST /api/notificaciones/masiva/. */
export const campaignsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/campanas',
    {
      schema: {
        tags,
        summary: 'Envíos masivos, del más reciente al más antiguo, con su progreso',
        querystring: z.object({
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(200).default(20),
        }),
        response: {
          200: z.object({ campanas: z.array(campaignSchema), total: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return listCampaigns(deps.db, { limit: q.por_pagina, offset: (q.pagina - 1) * q.por_pagina });
    },
  );

  app.get(
    '/api/campanas/:id',
    {
      schema: {
        tags,
        summary:
          'Progreso de un envío masivo (pendientes, enviadas, fallidas, canceladas) y su texto tal como lo ' +
          'reciben los primeros destinatarios (`muestra`)',
        params: idParams,
        response: { 200: campaignSchema.extend({ muestra: z.array(sampleSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const c = await getCampaign(deps.db, request.params.id);
      if (!c) throw new AppError('NO_ENCONTRADO', `No existe el envío masivo ${request.params.id}.`);
      const today = localDate(deps.clock.now(), deps.config.timeZone);
      const muestra = await campaignSample(deps.db, c.id, await deps.settings!.engine(), today);
      return { ...c, muestra };
    },
  );

  app.post(
    '/api/campanas/:id/cancelar',
    {
      schema: {
        tags,
        summary: 'Cancelar un envío masivo en curso: lo que no se envió aún ya no sale',
        params: idParams,
        response: { 200: campaignSchema, ...errorResponses },
      },
    },
    async (request) => {
      const c = await deps.db.transaction(async (tx) => {
        const view = await cancelCampaign(tx, request.params.id, deps.clock.now());
        await audit(tx, {
          actor: request.actor,
          accion: 'campana.cancelar',
          objeto: `campana:${view.id}`,
          detalles: { canceladas: view.progreso.canceladas, enviadas: view.progreso.enviadas },
        });
        return view;
      });
      return c;
    },
  );
};
