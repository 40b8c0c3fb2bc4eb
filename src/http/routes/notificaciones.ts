import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { setChatByStaff } from '../../bot/index.js';
import { createClientsRepository, isoDateSchema } from '../../clients/index.js';
import { BULK_STATEMENT_TIMEOUT_MS } from '../../db/index.js';
import { AppError } from '../../errors/index.js';
import {
  type CampaignInput,
  campaignTypes,
  cancelNotification,
  clientCounts,
  conversionReport,
  createCampaign,
  createManualNotification,
  fingerprintOf,
  generateUnderLock,
  getNotification,
  listNotifications,
  listUnreachableDue,
  notificationPath,
  notificationStates,
  notificationStats,
  notificationTypes,
  previewCampaign,
  retryNotification,
  stateTotals,
  withIdempotencyKey,
} from '../../notifications/index.js';
import { settlePromises } from '../../receipts/index.js';
import { daysBetween, localDate } from '../../time.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { chatIdSchema, errorResponses, errorSchema, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { campaignSchema, clientViewSchema } from '../views.js';

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
  ciclo: z.string().nullable(),
  paso: z.number().nullable(),
  creado_en: z.string(),
  enviado_en: z.string().nullable(),
  entregado_en: z.string().nullable().optional(),
  leido_en: z.string().nullable().optional(),
  envios: z
    .array(
      z.object({
        id: z.number(),
        canal: z.string(),
        estado: z.string(),
        destino: z.string().nullable(),
        proveedor_id: z.string().nullable(),
        plantilla: z.string().nullable(),
        error_codigo: z.string().nullable(),
        error: z.string().nullable(),
        creado_en: z.string(),
        enviado_en: z.string().nullable(),
        entregado_en: z.string().nullable(),
        leido_en: z.string().nullable(),
        fallido_en: z.string().nullable(),
      }),
    )
    .optional()
    .describe('Intentos por canal (solo en GET /api/notificaciones/{id}/)'),
});

const countsSchema = z.object({
  pendientes: z.number(),
  enviadas: z.number(),
  fallidas: z.number(),
  canceladas: z.number(),
});

const ruleCountSchema = z.object({
  creadas: z.number(),
  ya_notificadas: z.number(),
  sin_canal: z.number(),
  por_preferencia: z.number(),
  por_estado: z.number(),
});

const filtersSchema = z
  .object({
    plan: z.string().trim().max(100).optional(),
    plan_id: z.coerce.number().int().positive().optional(),
    sector: z.string().trim().max(100).optional(),
    estado: z.enum(['activo', 'suspendido', 'retirado']).optional(),
    estado_pago: z.enum(['sin_fecha', 'al_dia', 'por_vencer', 'vencido']).optional(),
  })
  .strict();

const masivaBody = z
  .object({
    nombre: z.string().trim().max(200).optional(),
    tipo: z.enum(campaignTypes).default('manual'),
    mensaje: z.string().trim().min(1).max(20_000).optional(),
    plantilla: z.enum(notificationTypes).optional(),
    filtros: filtersSchema.default({}),
    vista_previa: z.boolean().default(false),
    urgente: z.boolean().default(false),
  })
  .refine((b) => b.mensaje !== undefined || b.plantilla !== undefined, {
    message: 'indique "mensaje" o "plantilla"',
    path: ['mensaje'],
  });

/** Other headers pass through untouched (the validated object replaces request.headers). */
const idempotencyHeader = z.looseObject({
  'idempotency-key': z.string().trim().min(1).max(200).optional(),
});

const outcomeCounts = {
  recordados: z.number(),
  pagaron: z.number(),
  a_tiempo: z.number(),
  tras_aviso_1: z.number(),
  tras_aviso_2: z.number(),
  tras_aviso_3: z.number(),
  tras_promesa: z.number(),
  vencido_sin_aviso: z.number(),
  sin_pago: z.number(),
  mediana_dias: z.number().nullable(),
};
const conversionSchema = z.object({
  ...outcomeCounts,
  ciclos_desde: z.string(),
  ciclos_hasta: z.string(),
  por_mes: z.array(z.object({ mes: z.string(), ...outcomeCounts })),
  por_canal: z.array(z.object({ canal: z.string(), ...outcomeCounts })),
  comprobantes: z.object({
    recibidos: z.number(),
    aprobados: z.number(),
    rechazados: z.number(),
    pendientes: z.number(),
    mediana_horas_revision: z.number().nullable(),
  }),
  promesas: z.object({
    hechas: z.number(),
    cumplidas: z.number(),
    incumplidas: z.number(),
    pendientes: z.number(),
    tasa_cumplidas: z.number().nullable(),
  }),
});

export const notificacionesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const today = () => localDate(deps.clock.now(), deps.config.timeZone);

  app.get(
    '/api/notificaciones/',
    {
      schema: {
        tags,
        summary: 'Listar y filtrar notificaciones (estado, tipo, cliente, envío masivo, motivo, fechas)',
        querystring: z.object({
          estado: z.enum(notificationStates).optional(),
          tipo: z.string().max(40).optional(),
          cliente_id: z.coerce.number().int().positive().optional(),
          campana_id: z.coerce.number().int().positive().optional(),
          motivo: z.string().max(60).optional(),
          desde: isoDateSchema.optional(),
          hasta: isoDateSchema.optional(),
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({ notificaciones: z.array(notificationSchema), total: z.number() }),
          ...errorResponses,
        },
      },
    },
    async (request) => listNotifications(deps.db, request.query, deps.config.timeZone),
  );

  app.get(
    '/api/notificaciones/estadisticas/',
    {
      schema: {
        tags,
        summary:
          'Estadísticas: clientes con y sin Telegram, notificaciones por estado, por tipo y por día, ' +
          'tasa de entrega y fallos por motivo',
        querystring: z.object({
          dias: z.coerce.number().int().min(1).max(366).default(30),
          desde: isoDateSchema.optional(),
          hasta: isoDateSchema.optional(),
        }),
        response: {
          200: z.object({
            total_clientes: z.number(),
            con_telegram: z.number(),
            sin_telegram: z.number(),
            porcentaje_telegram: z.number(),
            notificaciones: countsSchema,
            por_tipo: z.record(z.string(), countsSchema),
            por_dia: z.array(
              z.object({
                fecha: z.string(),
                creadas: z.number(),
                enviadas: z.number(),
                fallidas: z.number(),
              }),
            ),
            tasa_entrega: z.number().nullable(),
            por_canal: z
              .record(
                z.string(),
                z.object({
                  enviadas: z.number(),
                  entregadas: z.number().nullable(),
                  leidas: z.number().nullable(),
                  fallidas: z.number(),
                  tasa_envio: z.number().nullable(),
                  tasa_entrega: z.number().nullable(),
                  tasa_lectura: z.number().nullable(),
                }),
              )
              .describe(
                'Por canal: enviadas (aceptadas por el proveedor); entregadas y su tasa solo donde el canal ' +
                  'informa la entrega (WhatsApp, SMS con reportes de entrega), leídas y su tasa solo donde informa ' +
                  'la lectura (WhatsApp); null donde no (Telegram, correo)',
              ),
            fallos_por_motivo: z.array(z.object({ motivo: z.string(), total: z.number() })),
            cancelaciones_por_motivo: z.array(z.object({ motivo: z.string(), total: z.number() })),
            desde: z.string(),
            hasta: z.string(),
            conversion: conversionSchema.describe(
              'Issue 13 §7: de los ciclos con vencimiento en el periodo cuyo recordatorio se envió, cuántos pagaron ' +
                'a tiempo, tras el 1.º/2.º/3.º aviso de vencido, tras una promesa; por mes, por canal; mediana de días ' +
                'del recordatorio al pago; comprobantes y promesas',
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const hasta = request.query.hasta ?? today();
      let desde = request.query.desde;
      if (!desde) {
        const d = new Date(`${hasta}T00:00:00Z`);
        d.setUTCDate(d.getUTCDate() - (request.query.dias - 1));
        desde = d.toISOString().slice(0, 10);
      }
      if (daysBetween(desde, hasta) < 0 || daysBetween(desde, hasta) > 366) {
        throw new AppError('VALIDACION', 'El periodo debe tener "desde" ≤ "hasta" y como máximo 366 días.');
      }
      const [clients, stats, conversion] = await Promise.all([
        clientCounts(deps.db),
        notificationStats(deps.db, { desde, hasta, timeZone: deps.config.timeZone }),
        conversionReport(deps.db, { desde, hasta, timeZone: deps.config.timeZone }),
      ]);
      // The totals by state are the sum of the counts by type: one scan of the outbox, not two.
      return { ...clients, notificaciones: stateTotals(stats.por_tipo), ...stats, conversion };
    },
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
        const res = await setChatByStaff(tx, {
          clientId: cliente_id,
          chatId: chat_id,
          now: deps.clock.now(),
        });
        if (!res.ok && res.reason === 'chat_en_uso') throw new AppError('CHAT_ID_DUPLICADO');
        if (!res.ok) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${cliente_id}.`);
        const c = await createClientsRepository(tx, billingContext(deps)).getOrThrow(cliente_id);
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

  app.post(
    '/api/notificaciones/generar-automaticas/',
    {
      schema: {
        tags,
        summary:
          'Generar ahora los recordatorios y avisos de vencido (idempotente: repetirlo no crea nada nuevo)',
        response: {
          200: z.object({
            fecha: z.string(),
            por_tipo: z.object({
              recordatorio_pago: ruleCountSchema,
              pago_vencido: ruleCountSchema,
              aviso_suspension: ruleCountSchema,
            }),
            total_creadas: z.number(),
            reemplazadas: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      const now = deps.clock.now();
      const at = { today: localDate(now, deps.config.timeZone), now };
      const report = await deps.db.transaction(
        async (tx) => {
          // Issue 13 §4: promises to pay are settled first, as in the daily run.
          await settlePromises(tx, settings, at);
          return generateUnderLock(tx, settings, at, deps.engine?.metrics);
        },
        { timeoutMs: BULK_STATEMENT_TIMEOUT_MS },
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'notificaciones.generar',
        detalles: { total_creadas: report.total_creadas },
      });
      return report;
    },
  );

  app.get(
    '/api/notificaciones/sin-telegram/',
    {
      schema: {
        tags,
        summary:
          'Clientes por vencer o vencidos a los que no llega ningún canal (ni Telegram ni WhatsApp con ' +
          'consentimiento): hay que llamarlos. El motivo dice por qué Telegram no llega',
        querystring: z.object({
          pagina: z.coerce.number().int().min(1).default(1),
          por_pagina: z.coerce.number().int().min(1).max(500).default(50),
        }),
        response: {
          200: z.object({
            clientes: z.array(
              z.object({
                id: z.number(),
                nombre: z.string(),
                telefono: z.string().nullable(),
                sector: z.string().nullable(),
                plan: z.string().nullable(),
                fecha_vencimiento: z.string(),
                estado_pago: z.enum(['por_vencer', 'vencido']),
                dias: z.number(),
                motivo: z.enum(['sin_telegram', 'bloqueado', 'inalcanzable']),
              }),
            ),
            total: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      const q = request.query;
      return listUnreachableDue(deps.db, settings, {
        today: today(),
        limit: q.por_pagina,
        offset: (q.pagina - 1) * q.por_pagina,
      });
    },
  );

  app.post(
    '/api/notificaciones/procesar/',
    {
      schema: {
        tags,
        summary:
          'Procesar ahora una pasada de envío (el despachador integrado también envía de forma continua)',
        // No body at all is fine (the seed posted nothing).
        body: z.object({ limite: z.coerce.number().int().min(1).max(10_000).optional() }).nullish(),
        response: {
          200: z.object({
            reclamadas: z.number(),
            enviadas: z.number(),
            reintentos: z.number(),
            fallidas: z.number(),
            canceladas: z.number(),
            liberadas: z.number(),
            limitadas: z.number(),
            en_ventana: z.boolean(),
            estado_despachador: z.string(),
          }),
          503: errorSchema,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const dispatcher = deps.engine?.dispatcher;
      if (!dispatcher) throw new AppError('DESPACHADOR_NO_DISPONIBLE');
      const report = await dispatcher.runOnce({ limit: request.body?.limite ?? 100 });
      return { ...report, estado_despachador: dispatcher.state };
    },
  );

  app.post(
    '/api/notificaciones/create/',
    {
      schema: {
        tags,
        summary: 'Crear una notificación manual para un cliente (texto plano; admite {nombre}, {plan}…)',
        headers: idempotencyHeader,
        body: z.object({
          cliente_id: z.coerce.number().int().positive(),
          tipo: z.enum(campaignTypes).default('manual'),
          mensaje: z.string().trim().min(1, 'el mensaje está vacío').max(20_000),
          urgente: z.boolean().default(false),
        }),
        response: { 201: notificationSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      const now = deps.clock.now();
      const key = request.headers['idempotency-key'];
      const answer = await withIdempotencyKey(
        deps.db,
        key ? { scope: 'create', key, fingerprint: fingerprintOf(request.body) } : undefined,
        async (tx) => {
          const b = request.body;
          const { id } = await createManualNotification(
            tx,
            { clientId: b.cliente_id, tipo: b.tipo, mensaje: b.mensaje, urgente: b.urgente },
            settings,
            { today: localDate(now, deps.config.timeZone), now },
          );
          await audit(tx, {
            actor: request.actor,
            accion: 'notificacion.crear',
            objeto: `notificacion:${id}`,
            detalles: { cliente_id: b.cliente_id, tipo: b.tipo, urgente: b.urgente },
          });
          return { status: 201, body: await getNotification(tx, id) };
        },
      );
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(answer.status as 201).send(answer.body);
    },
  );

  app.post(
    '/api/notificaciones/masiva/',
    {
      schema: {
        tags,
        summary:
          'Envío masivo a los clientes vinculados que cumplen los filtros (vista_previa: solo cuenta y muestra). ' +
          'Con Idempotency-Key, repetir la solicitud devuelve el primer resultado.',
        headers: idempotencyHeader,
        body: masivaBody,
        response: {
          200: z.object({
            vista_previa: z.literal(true),
            audiencia: z.number(),
            excluidos: z.object({
              sin_telegram: z.number(),
              bloqueados: z.number(),
              por_preferencia: z.number(),
            }),
            muestra: z.array(
              z.object({
                cliente_id: z.number(),
                nombre: z.string(),
                texto: z.string(),
                longitud: z.number(),
                motivo: z.string().nullable(),
              }),
            ),
          }),
          201: z.object({ vista_previa: z.literal(false), campana: campaignSchema }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      const b = request.body;
      const now = deps.clock.now();
      const input: CampaignInput = {
        nombre: b.nombre,
        tipo: b.tipo,
        mensaje: b.mensaje,
        plantilla: b.plantilla,
        filtros: b.filtros,
        urgente: b.urgente,
      };
      if (b.vista_previa) {
        const preview = await previewCampaign(deps.db, input, settings, today());
        return reply.status(200).send({ vista_previa: true as const, ...preview });
      }
      const key = request.headers['idempotency-key'];
      const answer = await withIdempotencyKey(
        deps.db,
        key ? { scope: 'masiva', key, fingerprint: fingerprintOf(b) } : undefined,
        async (tx) => {
          const campana = await createCampaign(tx, input, settings, {
            today: localDate(now, deps.config.timeZone),
            now,
            actor: request.actor,
            idempotencyKey: key,
          });
          await audit(tx, {
            actor: request.actor,
            accion: 'campana.crear',
            objeto: `campana:${campana.id}`,
            detalles: { tipo: b.tipo, filtros: b.filtros, total: campana.total, urgente: b.urgente },
          });
          return { status: 201, body: { vista_previa: false as const, campana } };
        },
      );
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(answer.status as 201).send(answer.body);
    },
  );

  app.get(
    '/api/notificaciones/:id',
    {
      schema: {
        tags,
        summary: 'Ver una notificación, con su recorrido por los canales',
        description:
          '`recorrido` resume los intentos por canal, en orden: «Telegram: bloqueado → SMS: entregado 08:03» ' +
          '(null si todavía no hubo intentos).',
        params: idParams,
        response: {
          200: notificationSchema.extend({ recorrido: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      ...(await getNotification(deps.db, request.params.id)),
      recorrido: await notificationPath(deps.db, request.params.id, deps.config.timeZone),
    }),
  );

  app.post(
    '/api/notificaciones/:id/reintentar',
    {
      schema: {
        tags,
        summary: 'Reintentar una notificación fallida (vuelve a la cola con intentos nuevos)',
        params: idParams,
        response: { 200: notificationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const n = await retryNotification(deps.db, request.params.id, deps.clock.now());
      await audit(deps.db, {
        actor: request.actor,
        accion: 'notificacion.reintentar',
        objeto: `notificacion:${n.id}`,
      });
      return n;
    },
  );

  app.post(
    '/api/notificaciones/:id/cancelar',
    {
      schema: {
        tags,
        summary: 'Cancelar una notificación pendiente',
        params: idParams,
        response: { 200: notificationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const n = await cancelNotification(deps.db, request.params.id, deps.clock.now());
      await audit(deps.db, {
        actor: request.actor,
        accion: 'notificacion.cancelar',
        objeto: `notificacion:${n.id}`,
      });
      return n;
    },
  );
};
