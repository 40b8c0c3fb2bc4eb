import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createStaffLinkCode, listAlerts, listStaffChats, unlinkStaffChat } from '../../alerts/index.js';
import { AppError } from '../../errors/index.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const alertSchema = z.object({
  id: z.number(),
  clave: z.string(),
  nivel: z.number(),
  titulo: z.string(),
  detalle: z.string(),
  estado: z.enum(['activa', 'resuelta']),
  abierta_en: z.date(),
  vista_en: z.date(),
  resuelta_en: z.date().nullable(),
  avisos: z.number(),
});

const staffChatSchema = z.object({ chat_id: z.number(), nombre: z.string(), vinculado_en: z.date() });

/** Staff alerts (issue 15 §5): the incidents, the staff chats that receive them, a link code. */
export const alertsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['alertas'];
  app.get(
    '/api/alertas',
    {
      schema: {
        tags,
        summary:
          'Alertas para el personal: abiertas primero, luego las recientes; y los chats que las reciben',
        response: {
          200: z.object({
            alertas: z.array(alertSchema),
            activas: z.number(),
            chats_personal: z.array(staffChatSchema),
            correo: z.literal('no_disponible'),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const alertas = await listAlerts(deps.db);
      return {
        alertas,
        activas: alertas.filter((a) => a.estado === 'activa').length,
        chats_personal: await listStaffChats(deps.db),
        // E-mail alerts need an SMTP client the project does not have yet.
        correo: 'no_disponible' as const,
      };
    },
  );

  app.post(
    '/api/alertas/codigo',
    {
      schema: {
        tags,
        summary:
          'Código de un solo uso (15 minutos) para vincular un chat del personal: envíe "/staff CÓDIGO" al bot',
        response: {
          201: z.object({ codigo: z.string(), expira_en: z.date(), instrucciones: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      const c = await createStaffLinkCode(deps.db, deps.clock.now());
      return reply.status(201).send({
        ...c,
        instrucciones: `Desde el Telegram del personal, envíe al bot: /staff ${c.codigo}`,
      });
    },
  );

  app.delete(
    '/api/alertas/chats/:chat_id',
    {
      schema: {
        tags,
        summary: 'Dejar de enviar alertas a un chat del personal',
        params: z.object({ chat_id: z.coerce.number().int() }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!(await unlinkStaffChat(deps.db, request.params.chat_id))) {
        throw new AppError('NO_ENCONTRADO', `El chat ${request.params.chat_id} no recibe alertas.`);
      }
      return reply.status(204).send(null);
    },
  );
};
