import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isUniqueViolation } from '../../db/index.js';
import { AppError } from '../../errors/index.js';
import { createApiTokenStore } from '../../users/index.js';
import { audit } from '../audit.js';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tokenSchema = z.object({
  id: z.number(),
  usuario: z.string(),
  nombre: z.string(),
  prefijo: z.string(),
  created_at: z.date(),
  last_used_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
});

export const tokensRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['tokens'];
  const tokens = createApiTokenStore(deps.db);

  app.get(
    '/api/tokens',
    {
      schema: {
        tags,
        summary: 'Mis tokens de API (un administrador ve los de todos con ?todos=1)',
        querystring: z.object({ todos: z.enum(['0', '1']).optional() }),
        response: { 200: z.object({ tokens: z.array(tokenSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const a = request.staff!;
      const all = a.rol === 'admin' && (request.query.todos === '1' || !a.user);
      return { tokens: await tokens.list(all ? undefined : a.user?.id) };
    },
  );

  app.post(
    '/api/tokens',
    {
      schema: {
        tags,
        summary: 'Crear un token de API con nombre (se muestra una sola vez)',
        description:
          'Úselo como "Authorization: Bearer <token>" en scripts y cron. Tiene el rol de su usuario. ' +
          'Se guarda solo su huella: si lo pierde, revóquelo y cree otro.',
        body: z.strictObject({
          nombre: z.string().trim().min(1, 'escriba un nombre, por ejemplo "cron"').max(60),
        }),
        response: {
          201: z.object({ id: z.number(), nombre: z.string(), prefijo: z.string(), token: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const a = request.staff!;
      if (!a.user) {
        throw new AppError(
          'SOLICITUD_INVALIDA',
          'El ADMIN_TOKEN no pertenece a un usuario: ingrese con su usuario para crear tokens.',
        );
      }
      let created: Awaited<ReturnType<typeof tokens.create>>;
      try {
        created = await tokens.create({
          userId: a.user.id,
          nombre: request.body.nombre,
          now: deps.clock.now(),
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('TOKEN_DUPLICADO');
        throw err;
      }
      await audit(deps.db, {
        actor: request.actor,
        accion: 'token.crear',
        objeto: `token:${created.id}`,
        detalles: { nombre: request.body.nombre, prefijo: created.prefijo },
      });
      return reply.status(201).send({ nombre: request.body.nombre, ...created });
    },
  );

  app.delete(
    '/api/tokens/:id',
    {
      schema: {
        tags,
        summary: 'Revocar un token (el propio; un administrador, cualquiera)',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const a = request.staff!;
      const t = await tokens.get(request.params.id);
      if (!t || (a.rol !== 'admin' && t.user_id !== a.user?.id)) {
        throw new AppError('NO_ENCONTRADO', `El token ${request.params.id} no existe.`);
      }
      if (await tokens.revoke(t.id, deps.clock.now())) {
        await audit(deps.db, {
          actor: request.actor,
          accion: 'token.revocar',
          objeto: `token:${t.id}`,
          detalles: { nombre: t.nombre, usuario: t.usuario },
        });
      }
      return reply.status(204).send(null);
    },
  );
};
