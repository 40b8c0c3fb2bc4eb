import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createPlansRepository } from '../../clients/index.js';
import { audit } from '../audit.js';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const planSchema = z.object({
  id: z.number(),
  nombre: z.string(),
  velocidad_mbps: z.number(),
  precio: z.number(),
  clientes: z.number(),
  retirado: z.boolean(),
  retirado_en: z.date().nullable(),
});
const planBody = z.object({
  nombre: z.string().trim().min(1, 'escriba el nombre del plan').max(100),
  velocidad_mbps: z.coerce.number().int().positive('la velocidad debe ser mayor que 0'),
  precio: z.coerce.number().min(0, 'el precio no puede ser negativo').max(100000),
});

export const plansRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const plans = createPlansRepository(deps.db);
  const tags = ['planes'];

  app.get(
    '/api/planes',
    {
      schema: {
        tags,
        summary: 'Listar planes',
        response: { 200: z.object({ planes: z.array(planSchema) }) },
      },
    },
    async () => ({
      planes: await plans.list(),
    }),
  );

  app.post(
    '/api/planes',
    {
      schema: {
        tags,
        summary: 'Crear plan',
        body: planBody,
        response: { 201: planSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const plan = await plans.create(request.body);
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plan.crear',
        objeto: `plan:${plan.id}`,
        detalles: request.body,
      });
      return reply.status(201).send(plan);
    },
  );

  app.get(
    '/api/planes/:id',
    {
      schema: {
        tags,
        summary: 'Ver plan',
        params: idParams,
        response: { 200: planSchema, ...errorResponses },
      },
    },
    async (request) => plans.get(request.params.id),
  );

  app.patch(
    '/api/planes/:id',
    {
      schema: {
        tags,
        summary: 'Modificar plan',
        params: idParams,
        body: planBody.partial().extend({
          retirado: z
            .boolean({
              error: 'retirado debe ser true (retirar el plan) o false (volver a ponerlo en venta)',
            })
            .optional(),
        }),
        response: { 200: planSchema, ...errorResponses },
      },
    },
    async (request) => {
      const plan = await plans.update(request.params.id, request.body, deps.clock.now());
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plan.modificar',
        objeto: `plan:${plan.id}`,
        detalles: request.body,
      });
      return plan;
    },
  );

  app.delete(
    '/api/planes/:id',
    {
      schema: {
        tags,
        summary: 'Borrar plan (sin clientes asignados)',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await plans.remove(request.params.id);
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plan.borrar',
        objeto: `plan:${request.params.id}`,
      });
      return reply.status(204).send(null);
    },
  );
};
