import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createClientsRepository } from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { clientViewSchema } from './clients.js';

const tags = ['notificaciones'];

const notificationSchema = z.object({
  id: z.number(),
  cliente_id: z.number().nullable(),
  cliente_nombre: z.string().nullable(),
  tipo: z.string(),
  canal: z.string(),
  mensaje: z.string().nullable(),
  estado: z.string(),
  urgente: z.boolean(),
  intentos: z.number(),
  proximo_intento: z.string(),
  ultimo_error: z.string().nullable(),
  motivo: z.string().nullable(),
  telegram_message_id: z.number().nullable(),
  campana_id: z.number().nullable(),
  creado_en: z.string(),
  enviado_en: z.string().nullable(),
});

/** Telegram chat ids: the seed sends them as strings ("123456789"); numbers are accepted too. */
export const chatIdSchema = z
  .union([
    z
      .string()
      .trim()
      .regex(/^-?\d{1,15}$/, 'debe ser un número de chat de Telegram'),
    z.number().int(),
  ])
  .transform((v) => Number(v));

/** Pending = the seed's "pendiente"; counts by state as the old /estadisticas/ answered them. */
export async function notificationCounts(deps: Pick<ApiDeps, 'db'>) {
  const { rows } = await deps.db.query<{
    total_clientes: number;
    con_telegram: number;
    pendientes: number;
    enviadas: number;
    fallidas: number;
    canceladas: number;
  }>(
    `SELECT (SELECT count(*)::int FROM clients) AS total_clientes,
            (SELECT count(*)::int FROM clients WHERE chat_id IS NOT NULL) AS con_telegram,
            count(*) FILTER (WHERE estado = 'pendiente')::int AS pendientes,
            count(*) FILTER (WHERE estado = 'enviado')::int AS enviadas,
            count(*) FILTER (WHERE estado = 'fallido')::int AS fallidas,
            count(*) FILTER (WHERE estado = 'cancelado')::int AS canceladas
       FROM notifications`,
  );
  const r = rows[0]!;
  const sin = r.total_clientes - r.con_telegram;
  return {
    total_clientes: r.total_clientes,
    con_telegram: r.con_telegram,
    sin_telegram: sin,
    porcentaje_telegram: r.total_clientes ? Math.round((r.con_telegram / r.total_clientes) * 10000) / 100 : 0,
    notificaciones: {
      pendientes: r.pendientes,
      enviadas: r.enviadas,
      fallidas: r.fallidas,
      canceladas: r.canceladas,
    },
  };
}

/** Seed endpoints that a later part of the engine fills in: an honest 501 until then. */
function notYet(what: string): never {
  throw new AppError('NO_IMPLEMENTADO', `${what} aún no está disponible en esta versión.`);
}

export const notificacionesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const clients = createClientsRepository(deps.db, billingContext(deps));

  app.get(
    '/api/notificaciones/',
    {
      schema: {
        tags,
        summary: 'Listar notificaciones',
        querystring: z.object({
          estado: z.enum(['pendiente', 'enviado', 'fallido', 'cancelado']).optional(),
          tipo: z.string().max(40).optional(),
          cliente_id: z.coerce.number().int().positive().optional(),
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({ notificaciones: z.array(notificationSchema), total: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { rows } = await deps.db.query<Record<string, unknown> & { total: number }>(
        `SELECT n.*, c.nombre AS cliente_nombre, count(*) OVER () AS total
           FROM notifications n LEFT JOIN clients c ON c.id = n.client_id
          WHERE ($1::text IS NULL OR n.estado = $1) AND ($2::text IS NULL OR n.tipo = $2)
            AND ($3::int IS NULL OR n.client_id = $3)
          ORDER BY n.id DESC LIMIT $4 OFFSET $5`,
        [q.estado ?? null, q.tipo ?? null, q.cliente_id ?? null, q.por_pagina, (q.pagina - 1) * q.por_pagina],
      );
      return {
        total: rows[0]?.total ?? 0,
        notificaciones: rows.map((r) => ({
          id: r['id'] as number,
          cliente_id: r['client_id'] as number | null,
          cliente_nombre: r['cliente_nombre'] as string | null,
          tipo: r['tipo'] as string,
          canal: r['canal'] as string,
          mensaje: r['mensaje'] as string | null,
          estado: r['estado'] as string,
          urgente: r['urgente'] as boolean,
          intentos: r['intentos'] as number,
          proximo_intento: (r['proximo_intento'] as Date).toISOString(),
          ultimo_error: r['ultimo_error'] as string | null,
          motivo: r['motivo'] as string | null,
          telegram_message_id: r['telegram_message_id'] as number | null,
          campana_id: r['campaign_id'] as number | null,
          creado_en: (r['created_at'] as Date).toISOString(),
          enviado_en: (r['sent_at'] as Date | null)?.toISOString() ?? null,
        })),
      };
    },
  );

  app.get(
    '/api/notificaciones/estadisticas/',
    {
      schema: {
        tags,
        summary: 'Estadísticas generales (clientes con y sin Telegram, notificaciones por estado)',
        response: {
          200: z.object({
            total_clientes: z.number(),
            con_telegram: z.number(),
            sin_telegram: z.number(),
            porcentaje_telegram: z.number(),
            notificaciones: z.object({
              pendientes: z.number(),
              enviadas: z.number(),
              fallidas: z.number(),
              canceladas: z.number(),
            }),
          }),
        },
      },
    },
    async () => notificationCounts(deps),
  );

  app.post(
    '/api/notificaciones/actualizar-chat-id/',
    {
      schema: {
        tags,
        summary: 'Vincular (o desvincular con chat_id null) el chat de Telegram de un cliente a mano',
        body: z.object({
          cliente_id: z.coerce.number().int().positive(),
          chat_id: chatIdSchema.nullable(),
        }),
        response: { 200: z.object({ ok: z.literal(true), cliente: clientViewSchema }), ...errorResponses },
      },
    },
    async (request) => {
      const { cliente_id, chat_id } = request.body;
      const cliente = await deps.db.transaction(async (tx) => {
        const c = await createClientsRepository(tx, billingContext(deps)).setChatId(cliente_id, chat_id);
        await audit(tx, {
          actor: request.actor,
          accion: 'telegram.actualizar_chat_id',
          objeto: `cliente:${cliente_id}`,
          detalles: { chat_id },
        });
        return c;
      });
      return { ok: true as const, cliente };
    },
  );

  void clients;
  const pending = [
    [
      '/api/notificaciones/generar-automaticas/',
      'Generar notificaciones automáticas',
      'La generación automática',
    ],
    [
      '/api/notificaciones/procesar/',
      'Procesar notificaciones pendientes',
      'El procesamiento de notificaciones',
    ],
    ['/api/notificaciones/create/', 'Crear notificación manual', 'La creación de notificaciones manuales'],
    ['/api/notificaciones/masiva/', 'Envío masivo', 'El envío masivo'],
  ] as const;
  for (const [path, summary, what] of pending) {
    app.post(path, { schema: { tags, summary, response: { 501: errorResponses[401] } } }, async () =>
      notYet(what),
    );
  }
};
