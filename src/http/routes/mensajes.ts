import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { archiveMessage, listMessages, replyToMessage } from '../../messages/index.js';
import { messageStates } from '../../vocabulary.js';
import { audit } from '../audit.js';
import { errorResponses, idParams, idSchema } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const replySchema = z.object({
  id: z.number(),
  texto: z.string(),
  autor: z.string().nullable(),
  creado_en: z.string(),
  notificacion_id: z.number().nullable(),
  notificacion_estado: z.string().nullable(),
});

const messageSchema = z.object({
  id: z.number(),
  cliente_id: z.number().nullable(),
  cliente: z.string().nullable(),
  cedula: z.string().nullable(),
  canal: z.string(),
  chat_id: z.number().nullable(),
  texto: z.string(),
  estado: z.enum(messageStates.values),
  vinculo_verificado: z
    .boolean()
    .nullable()
    .describe('false: el chat se vinculó solo con la cédula (quien escribe puede no ser el cliente)'),
  creado_en: z.string(),
  respuestas: z.array(replySchema),
});

const textBody = z.object({
  texto: z.string().trim().min(1, 'escriba la respuesta').max(4000, 'como máximo 4000 caracteres'),
});

const sentSchema = z.object({ id: z.number(), notificacion_id: z.number() });

/** The "Mensajes" inbox (issue 13 §8): what clients wrote, and staff answers through their chat. */
export const mensajesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['mensajes'];

  app.get(
    '/api/mensajes',
    {
      schema: {
        tags,
        summary: 'Mensajes que escribieron los clientes (los nuevos primero si filtra por estado=nuevo)',
        querystring: z.object({
          estado: z.enum(messageStates.values).optional(),
          cliente_id: idSchema.optional(),
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: {
          200: z.object({ mensajes: z.array(messageSchema), total: z.number(), nuevos: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return listMessages(deps.db, {
        estado: q.estado,
        clientId: q.cliente_id,
        limit: q.por_pagina,
        offset: (q.pagina - 1) * q.por_pagina,
      });
    },
  );

  app.post(
    '/api/mensajes/:id/responder',
    {
      schema: {
        tags,
        summary: 'Responder un mensaje por el chat del cliente (sale por la cola de envíos, de inmediato)',
        params: idParams,
        body: textBody,
        response: { 201: sentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const sent = await deps.db.transaction(async (tx) => {
        const r = await replyToMessage(tx, {
          messageId: request.params.id,
          texto: request.body.texto,
          autor: request.actor ?? null,
          now,
          timeZone: deps.config.timeZone,
        });
        await audit(tx, {
          actor: request.actor,
          accion: 'mensaje.responder',
          objeto: `mensaje:${request.params.id}`,
          detalles: { respuesta_id: r.id, notificacion_id: r.notificacion_id },
        });
        return r;
      });
      return reply.status(201).send(sent);
    },
  );

  app.post(
    '/api/mensajes/:id/archivar',
    {
      schema: {
        tags,
        summary: 'Archivar un mensaje sin responderlo',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!(await archiveMessage(deps.db, request.params.id))) {
        throw new AppError('NO_ENCONTRADO', `No existe el mensaje ${request.params.id}.`);
      }
      await audit(deps.db, {
        actor: request.actor,
        accion: 'mensaje.archivar',
        objeto: `mensaje:${request.params.id}`,
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/clientes/:id/mensajes',
    {
      schema: {
        tags: ['mensajes', 'clientes'],
        summary: 'Escribir al cliente por su chat (texto simple, sale de inmediato por la cola de envíos)',
        params: idParams,
        body: textBody,
        response: { 201: sentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const sent = await deps.db.transaction(async (tx) => {
        const r = await replyToMessage(tx, {
          clientId: request.params.id,
          texto: request.body.texto,
          autor: request.actor ?? null,
          now,
          timeZone: deps.config.timeZone,
        });
        await audit(tx, {
          actor: request.actor,
          accion: 'mensaje.enviar',
          objeto: `cliente:${request.params.id}`,
          detalles: { mensaje_id: r.id, notificacion_id: r.notificacion_id },
        });
        return r;
      });
      return reply.status(201).send(sent);
    },
  );
};
