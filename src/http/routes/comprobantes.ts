import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isoDateSchema } from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import {
  approveReceipt,
  countPendingReceipts,
  getReceiptDetail,
  listReceipts,
  openPauses,
  promisesOn,
  RECEIPT_MAX_BYTES,
  type ReviewContext,
  readReceiptFile,
  receiptTypes,
  rejectReceipt,
} from '../../receipts/index.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { errorResponses, idParams, idSchema } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const receiptSchema = z.object({
  id: z.number(),
  cliente_id: z.number(),
  nombre: z.string(),
  cedula: z.string(),
  plan: z.string().nullable(),
  precio: z.number().nullable(),
  estado: z.enum(['pendiente', 'aprobado', 'rechazado']),
  ciclo: z.string().nullable(),
  tipo_mime: z.string(),
  tamano: z.number(),
  monto_adeudado: z.number().nullable(),
  monto_adeudado_hoy: z.number().nullable(),
  vencimiento_hoy: z.string().nullable(),
  pago_id: z.number().nullable(),
  monto: z.number().nullable(),
  fecha_pago: z.string().nullable(),
  referencia: z.string().nullable(),
  motivo_rechazo: z.string().nullable(),
  revisado_por: z.string().nullable(),
  revisado_en: z.string().nullable(),
  recibido_en: z.string(),
});

const approveBody = z.object({
  monto: z.coerce.number().positive('el monto debe ser mayor que 0').max(100000).optional(),
  fecha: isoDateSchema.optional(),
  referencia: z.string().trim().max(100).optional().nullable(),
  /** Required when the bank reference is already on another payment (otherwise 409 REFERENCIA_DUPLICADA). */
  confirmar_referencia: z.boolean().optional(),
  confirmar_monto: z.boolean().optional(),
});

const rejectBody = z.object({
  motivo: z.string().trim().min(3, 'explique al cliente por qué (mínimo 3 caracteres)').max(300),
});

/**
 * Receipts sent from the chat and their review (issue 13 §3), and the promises to pay (§4).
 * The file is served only here (authenticated like every /api route), never from a public path.
 */
export const comprobantesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['comprobantes'];
  const context = async (): Promise<ReviewContext> => {
    const now = deps.clock.now();
    const settings = await deps.settings!.engine();
    return { settings, now, today: localDate(now, settings.timeZone) };
  };

  app.get(
    '/api/comprobantes',
    {
      schema: {
        tags,
        summary: 'Comprobantes de pago enviados por el chat (por revisar primero)',
        querystring: z.object({
          estado: z.enum(['pendiente', 'aprobado', 'rechazado']).optional(),
          cliente_id: idSchema.optional(),
        }),
        response: {
          200: z.object({
            comprobantes: z.array(receiptSchema),
            pendientes: z.number(),
            /** With cliente_id: the client's payment notices paused today, and until when. */
            pausas: z.array(
              z.object({
                motivo: z.enum(['comprobante', 'promesa']),
                hasta: z.string(),
                ciclo: z.string().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const c = await context();
      const clienteId = request.query.cliente_id;
      const comprobantes = await listReceipts(deps.db, c, { estado: request.query.estado, clienteId });
      return {
        comprobantes,
        pendientes: await countPendingReceipts(deps.db),
        pausas: clienteId ? await openPauses(deps.db, clienteId, c.today) : [],
      };
    },
  );

  app.get(
    '/api/comprobantes/:id',
    {
      schema: {
        tags,
        summary: 'Un comprobante con el cliente, lo que debe, su plan, pagos e historial; valores sugeridos',
        params: idParams,
        response: {
          200: z.object({
            comprobante: receiptSchema,
            sugerido: z.object({
              monto: z.number().nullable(),
              fecha: z.string(),
              referencia: z.string().nullable(),
            }),
            pagos: z.array(z.any()),
            otros_comprobantes: z.array(receiptSchema),
            promesas: z.array(
              z.object({ ciclo: z.string(), fecha_prometida: z.string(), estado: z.string() }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => getReceiptDetail(deps.db, request.params.id, await context()),
  );

  app.get(
    '/api/comprobantes/:id/archivo',
    {
      schema: {
        tags,
        summary: 'El archivo del comprobante (imagen o PDF), solo para el personal autenticado',
        params: idParams,
      },
    },
    async (request, reply) => {
      const { rows } = await deps.db.query<{ archivo: string; tipo_mime: keyof typeof receiptTypes }>(
        'SELECT archivo, tipo_mime FROM payment_receipts WHERE id = $1',
        [request.params.id],
      );
      const r = rows[0];
      if (!r) throw new AppError('NO_ENCONTRADO', `No existe el comprobante ${request.params.id}.`);
      const bytes = readReceiptFile(deps.config.dataDir, r.archivo);
      if (bytes.length > RECEIPT_MAX_BYTES) throw new Error('comprobante mayor que el máximo');
      return reply
        .header('content-type', r.tipo_mime)
        .header(
          'content-disposition',
          `inline; filename="comprobante-${request.params.id}.${receiptTypes[r.tipo_mime] ?? 'bin'}"`,
        )
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, no-store')
        .send(bytes);
    },
  );

  app.post(
    '/api/comprobantes/:id/aprobar',
    {
      schema: {
        tags,
        summary:
          'Aprobar: registra el pago por la vía normal (cancela avisos pendientes, envía la confirmación). ' +
          'Aprobar dos veces no agrega nada. Referencia repetida: 409 REFERENCIA_DUPLICADA salvo "confirmar_referencia"',
        params: idParams,
        body: approveBody,
        response: {
          200: z.object({
            comprobante: receiptSchema,
            nuevo: z.boolean(),
            pago_id: z.number().nullable(),
            notificaciones_canceladas: z.number(),
            confirmacion: z.boolean(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const c = await context();
      const id = request.params.id;
      const result = await deps.db.transaction(async (tx) => {
        const r = await approveReceipt(tx, id, request.body, request.actor, c);
        if (r.nuevo) {
          await audit(tx, {
            actor: request.actor,
            accion: 'comprobante.aprobar',
            objeto: `comprobante:${id}`,
            detalles: { pago_id: r.pago_id, notificaciones_canceladas: r.canceladas },
          });
        }
        return r;
      });
      const { comprobante } = await getReceiptDetail(deps.db, id, c);
      return {
        comprobante,
        nuevo: result.nuevo,
        pago_id: result.pago_id,
        notificaciones_canceladas: result.canceladas,
        confirmacion: result.confirmacion,
      };
    },
  );

  app.post(
    '/api/comprobantes/:id/rechazar',
    {
      schema: {
        tags,
        summary: 'Rechazar con un motivo: se le dice al cliente por su chat y los avisos de pago se reanudan',
        params: idParams,
        body: rejectBody,
        response: {
          200: z.object({
            comprobante: receiptSchema,
            nuevo: z.boolean(),
            notificacion_id: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const c = await context();
      const id = request.params.id;
      const result = await deps.db.transaction(async (tx) => {
        const r = await rejectReceipt(tx, id, request.body.motivo, request.actor, c);
        if (r.nuevo) {
          await audit(tx, {
            actor: request.actor,
            accion: 'comprobante.rechazar',
            objeto: `comprobante:${id}`,
            detalles: { motivo: request.body.motivo },
          });
        }
        return r;
      });
      const { comprobante } = await getReceiptDetail(deps.db, id, c);
      return { comprobante, ...result };
    },
  );

  app.get(
    '/api/promesas',
    {
      schema: {
        tags: ['promesas'],
        summary:
          'Promesas de pago para una fecha (hoy por omisión) y la tasa de cumplimiento de los últimos 90 días',
        querystring: z.object({ fecha: isoDateSchema.optional() }),
        response: {
          200: z.object({
            fecha: z.string(),
            promesas: z.array(
              z.object({
                id: z.number(),
                cliente_id: z.number(),
                nombre: z.string(),
                ciclo: z.string(),
                fecha_prometida: z.string(),
                estado: z.enum(['pendiente', 'cumplida', 'incumplida']),
                creada_en: z.string(),
              }),
            ),
            cumplidas: z.number(),
            incumplidas: z.number(),
            tasa_cumplimiento: z.number().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => promisesOn(deps.db, request.query.fecha ?? (await context()).today),
  );
};
