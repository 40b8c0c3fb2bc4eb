import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const entrySchema = z.object({
  id: z.number(),
  actor: z.string(),
  accion: z.string(),
  objeto: z.string().nullable(),
  detalles: z.unknown(),
  fecha: z.date(),
});

const dateField = z.iso.date('una fecha AAAA-MM-DD').optional();

/** Who changed what: the Auditoría page (admins) and a client's history (everybody). */
export const auditoriaRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['auditoría'];

  app.get(
    '/api/auditoria',
    {
      schema: {
        tags,
        summary: 'Registro de cambios, del más reciente al más antiguo (solo administradores)',
        description:
          'Filtros: usuario (incluye sus tokens), accion (prefijo, p. ej. "cliente."), objeto ' +
          '(p. ej. "cliente:12"), desde y hasta (fechas locales AAAA-MM-DD).',
        querystring: z.object({
          usuario: z.string().trim().max(100).optional(),
          accion: z.string().trim().max(100).optional(),
          objeto: z.string().trim().max(100).optional(),
          desde: dateField,
          hasta: dateField,
          pagina: z.coerce.number().int().min(1).max(100000).default(1),
          por_pagina: z.coerce.number().int().min(1).max(200).default(50),
        }),
        response: {
          200: z.object({ total: z.number(), pagina: z.number(), registros: z.array(entrySchema) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const where = `WHERE ($1::text IS NULL OR actor = $1 OR actor LIKE $1 || ' (token %')
          AND ($2::text IS NULL OR accion LIKE $2 || '%')
          AND ($3::text IS NULL OR objeto = $3)
          AND ($4::date IS NULL OR at >= ($4::date)::timestamp AT TIME ZONE $6)
          AND ($5::date IS NULL OR at < ($5::date + 1)::timestamp AT TIME ZONE $6)`;
      const params = [
        q.usuario || null,
        q.accion || null,
        q.objeto || null,
        q.desde ?? null,
        q.hasta ?? null,
        deps.config.timeZone,
      ];
      const [count, page] = await Promise.all([
        deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log ${where}`, params),
        deps.db.query<z.infer<typeof entrySchema>>(
          `SELECT id, actor, accion, objeto, detalles, at AS fecha FROM audit_log ${where}
            ORDER BY at DESC, id DESC LIMIT $7 OFFSET $8`,
          [...params, q.por_pagina, (q.pagina - 1) * q.por_pagina],
        ),
      ]);
      return { total: count.rows[0]?.n ?? 0, pagina: q.pagina, registros: page.rows };
    },
  );

  app.get(
    '/api/clientes/:id/historial',
    {
      schema: {
        tags: ['clientes'],
        summary: 'Historial de cambios de un cliente: quién hizo qué y cuándo',
        params: idParams,
        querystring: z.object({ limite: z.coerce.number().int().min(1).max(500).default(100) }),
        response: { 200: z.object({ registros: z.array(entrySchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const { rows } = await deps.db.query<z.infer<typeof entrySchema>>(
        `SELECT id, actor, accion, objeto, detalles, at AS fecha FROM audit_log
          WHERE objeto = $1 OR detalles->>'cliente_id' = $2
          ORDER BY at DESC, id DESC LIMIT $3`,
        [`cliente:${request.params.id}`, String(request.params.id), request.query.limite],
      );
      return { registros: rows };
    },
  );
};
