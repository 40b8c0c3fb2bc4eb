import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  clientsCsv,
  createClientBody,
  createClientsRepository,
  createPlansRepository,
  estadoPagoSchema,
  estadoSchema,
  importClientsCsv,
  isoDateSchema,
  listImports,
  listPayments,
  patchClientBody,
  recordPayment,
  voidPayment,
} from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import { formatMoney } from '../../notifications/format.js';
import {
  applyPaymentToOutbox,
  applyServiceStateToOutbox,
  cancel,
  type EngineSettings,
} from '../../notifications/index.js';
import { removeClientReceiptFiles } from '../../receipts/index.js';
import { localDate } from '../../time.js';
import { importStates } from '../../vocabulary.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { errorResponses, idParams, idSchema } from '../schemas.js';
import type { ApiDeps } from '../types.js';
import { clientViewSchema } from '../views.js';

const paymentSchema = z.object({
  id: z.number(),
  cliente_id: z.number(),
  monto: z.number(),
  fecha: z.string(),
  referencia: z.string().nullable(),
  creado_en: z.string(),
  anulado: z.object({ en: z.string(), por: z.string().nullable(), motivo: z.string() }).nullable(),
});

const listQuery = z.object({
  buscar: z.string().max(100).optional(),
  plan: z.string().max(100).optional(),
  plan_id: idSchema.optional(),
  sector: z.string().max(100).optional(),
  estado: estadoSchema.optional(),
  telegram: z.enum(['si', 'no']).optional(),
  estado_pago: estadoPagoSchema.optional(),
  pagina: z.coerce.number().int().min(1).default(1),
  por_pagina: z.coerce.number().int().min(1).max(500).default(50),
});

const paymentBody = z.object({
  monto: z.coerce.number().positive('el monto debe ser mayor que 0').max(100000),
  fecha: isoDateSchema.optional(),
  referencia: z.string().trim().max(100).optional(),
  /** Required to record more than 3 × what the client owes (otherwise 422 MONTO_INUSUAL). */
  confirmar_monto: z.boolean().optional(),
});

const paymentParams = z.object({ id: idSchema, pago_id: idSchema });
const voidBody = z.object({
  motivo: z.string().trim().min(3, 'explique por qué se anula (mínimo 3 caracteres)').max(300),
});

export const clientsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const billing = billingContext(deps);
  const clients = createClientsRepository(deps.db, billing);
  const plans = createPlansRepository(deps.db);
  const tags = ['clientes'];
  /** Ajustes in effect (suspension and reactivation rules, issue 13 §6). */
  const engineSettings = (): Promise<EngineSettings> => deps.settings!.engine();
  if (deps.db.kind === 'pglite') {
    // PGlite runs each query on this thread, and the service compiles PostgreSQL's code as each
    // of its functions is first called (optimisedCodeOnly): the first page of the first export
    // waited 50-110 ms for that, and /health with it. The export's header and first line, read
    // once before the service listens, do that compiling then.
    app.addHook('onReady', async () => {
      let chunks = 0;
      try {
        for await (const _chunk of clientsCsv(clients, {}, 1)) if (++chunks === 2) break;
      } catch (err) {
        // Only a head start: the export itself reports whatever this met.
        app.log.warn({ err }, 'no se pudo preparar la exportación de clientes');
      }
    });
  }

  app.get(
    '/api/clientes',
    {
      schema: {
        tags,
        summary: 'Buscar y listar clientes (paginado)',
        querystring: listQuery,
        response: {
          200: z.object({
            clientes: z.array(clientViewSchema),
            total: z.number(),
            pagina: z.number(),
            por_pagina: z.number(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { clientes, total } = await clients.list(q);
      return { clientes, total, pagina: q.pagina, por_pagina: q.por_pagina };
    },
  );

  app.post(
    '/api/clientes',
    {
      schema: {
        tags,
        summary: 'Crear cliente',
        body: createClientBody,
        response: { 201: clientViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { plan, plan_id, ...rest } = request.body;
      const planId = await plans.resolveId({ plan, plan_id });
      const client = await clients.create({ ...rest, plan_id: planId });
      await audit(deps.db, { actor: request.actor, accion: 'cliente.crear', objeto: `cliente:${client.id}` });
      return reply.status(201).send(client);
    },
  );

  app.get(
    '/api/clientes/exportar',
    {
      schema: {
        tags,
        summary:
          'Exportar clientes en CSV (mismas columnas que la importación; se envía por partes, sin límite de tamaño)',
        querystring: listQuery.omit({ pagina: true, por_pagina: true }),
      },
    },
    async (request, reply) => {
      const filters = request.query;
      // PGlite runs each query on this thread: a page of 1,000 rows is a pause of a few tens of
      // milliseconds for /health, and few enough queries that paging costs little.
      const csv = clientsCsv(clients, filters, deps.db.kind === 'pglite' ? 1000 : 2000);
      const day = localDate(deps.clock.now(), deps.config.timeZone);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="clientes-${day}.csv"`)
        .send(Readable.from(csv, { objectMode: false, highWaterMark: 64 * 1024 }));
    },
  );

  app.post(
    '/api/clientes/importar',
    {
      schema: {
        tags,
        summary:
          'Importar clientes desde CSV (encabezado con los nombres de campo, con o sin tildes; UTF-8 o ' +
          'Windows-1252 de Excel; fechas AAAA-MM-DD o dd/mm/aaaa; actualiza por cédula). Cada importación ' +
          'queda registrada: GET /api/clientes/importaciones',
        consumes: ['text/csv'],
        response: {
          200: z.object({
            importacion_id: z.number(),
            codificacion: z.string(),
            creados: z.number(),
            actualizados: z.number(),
            errores: z.array(
              z.object({ linea: z.number(), cedula: z.string().nullable(), motivo: z.string() }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) && typeof body !== 'string') {
        throw new AppError('TIPO_CONTENIDO_NO_SOPORTADO', 'Envíe el archivo con Content-Type: text/csv.');
      }
      if (body.length === 0) throw new AppError('VALIDACION', 'El CSV está vacío.');
      const settings = await engineSettings();
      const report = await importClientsCsv(deps.db, body, {
        actor: request.actor,
        clock: deps.clock,
        // Issue 13 §6: a client the file suspends or reactivates is told, as by PATCH /api/clientes/{id}.
        onStateChange: (tx, c) =>
          applyServiceStateToOutbox(
            tx,
            { clientId: c.clientId, from: c.from, to: c.to, changeKey: `importacion:${c.importId}` },
            settings,
            deps.clock.now(),
          ),
      });
      await audit(deps.db, {
        actor: request.actor,
        accion: 'cliente.importar',
        objeto: `importacion:${report.importacion_id}`,
        detalles: {
          creados: report.creados,
          actualizados: report.actualizados,
          errores: report.errores.length,
          codificacion: report.codificacion,
        },
      });
      return report;
    },
  );

  app.get(
    '/api/clientes/importaciones',
    {
      schema: {
        tags,
        summary:
          'Últimas importaciones de CSV: en curso, terminadas o fallidas (con el motivo; una importación ' +
          'interrumpida aparece como fallida y no aplicó nada)',
        querystring: z.object({ limite: z.coerce.number().int().min(1).max(500).default(50) }),
        response: {
          200: z.object({
            importaciones: z.array(
              z.object({
                id: z.number(),
                estado: z.enum(importStates.values),
                actor: z.string().nullable(),
                codificacion: z.string().nullable(),
                bytes: z.number(),
                lineas: z.number().nullable(),
                creados: z.number().nullable(),
                actualizados: z.number().nullable(),
                errores: z.number().nullable(),
                motivo: z.string().nullable(),
                iniciada_en: z.string(),
                terminada_en: z.string().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      importaciones: await listImports(deps.db, deps.clock.now(), request.query.limite),
    }),
  );

  app.get(
    '/api/clientes/:id',
    {
      schema: {
        tags,
        summary: 'Ver cliente',
        params: idParams,
        response: { 200: clientViewSchema, ...errorResponses },
      },
    },
    async (request) => clients.getOrThrow(request.params.id),
  );

  app.patch(
    '/api/clientes/:id',
    {
      schema: {
        tags,
        summary: 'Modificar cliente',
        params: idParams,
        body: patchClientBody,
        response: { 200: clientViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { plan, plan_id, ...rest } = request.body;
      const current = await clients.getOrThrow(request.params.id);
      const planId = await plans.resolveId({ plan, plan_id }, current.plan_id ?? null);
      const settings = await engineSettings();
      const now = deps.clock.now();
      const client = await deps.db.transaction(async (tx) => {
        // The state before the change, locked: two requests for the same change notify once.
        const before = await tx.query<{ estado: string }>(
          'SELECT estado FROM clients WHERE id = $1 FOR UPDATE',
          [request.params.id],
        );
        const updated = await createClientsRepository(tx, billing).update(request.params.id, {
          ...rest,
          plan_id: planId,
        });
        // Issue 13 §6: suspending or reactivating tells the client (once, through the outbox).
        const from = before.rows[0]?.estado ?? updated.estado;
        const effect = await applyServiceStateToOutbox(
          tx,
          { clientId: updated.id, from, to: updated.estado, changeKey: String(now.getTime()) },
          settings,
          now,
        );
        await audit(tx, {
          actor: request.actor,
          accion: 'cliente.modificar',
          objeto: `cliente:${updated.id}`,
          detalles: {
            campos: Object.keys(request.body),
            ...(from !== updated.estado && { estado: { antes: from, despues: updated.estado } }),
            ...(effect.aviso && { aviso: effect.aviso }),
          },
        });
        return updated;
      });
      return client;
    },
  );

  app.delete(
    '/api/clientes/:id',
    {
      schema: {
        tags,
        summary: 'Borrar cliente',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (!(await clients.remove(request.params.id))) {
        throw new AppError('NO_ENCONTRADO', `No existe el cliente ${request.params.id}.`);
      }
      // The row is gone (its receipts with it): their files under DATA_DIR go too.
      removeClientReceiptFiles(deps.config.dataDir, request.params.id);
      await audit(deps.db, {
        actor: request.actor,
        accion: 'cliente.borrar',
        objeto: `cliente:${request.params.id}`,
      });
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/clientes/:id/pagos',
    {
      schema: {
        tags,
        summary: 'Pagos del cliente',
        params: idParams,
        response: { 200: z.object({ pagos: z.array(paymentSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      await clients.getOrThrow(request.params.id);
      return { pagos: await listPayments(deps.db, request.params.id) };
    },
  );

  app.post(
    '/api/clientes/:id/pagos',
    {
      schema: {
        tags,
        summary: 'Registrar un pago (mueve la fecha de último pago)',
        params: idParams,
        body: paymentBody,
        response: { 201: z.object({ pago: paymentSchema, cliente: clientViewSchema }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const now = deps.clock.now();
      const today = localDate(now, deps.config.timeZone);
      const fecha = request.body.fecha ?? today;
      const settings = await engineSettings();
      const { payment } = await deps.db.transaction(async (tx) => {
        const result = await recordPayment(tx, {
          clientId: request.params.id,
          monto: request.body.monto,
          fecha,
          today,
          referencia: request.body.referencia,
          actor: request.actor,
          confirmed: request.body.confirmar_monto === true,
          // The engine's one SQL home of the amount owed (unpaid cycles × plan price).
          owed: async (q) =>
            (
              await q.query<{ monto_adeudado: number | null }>(
                `SELECT monto_adeudado FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4`,
                [today, settings.cycleDays, settings.reminderDaysBefore, request.params.id],
              )
            ).rows[0]?.monto_adeudado ?? null,
          formatMoney,
        });
        // Engine (issue 3): in this same transaction, pending notices of the paid cycle are
        // cancelled and the payment confirmation is queued.
        const outbox = await applyPaymentToOutbox(
          tx,
          { clientId: request.params.id, paymentId: result.payment.id, monto: request.body.monto, fecha },
          settings,
          now,
        );
        await audit(tx, {
          actor: request.actor,
          accion: 'pago.registrar',
          objeto: `cliente:${request.params.id}`,
          detalles: {
            pago_id: result.payment.id,
            monto: request.body.monto,
            fecha,
            confirmar_monto: request.body.confirmar_monto === true,
            notificaciones_canceladas: outbox.canceladas,
            ...(outbox.reactivado && { reactivado: true }),
          },
        });
        return result;
      });
      return reply.status(201).send({ pago: payment, cliente: await clients.getOrThrow(request.params.id) });
    },
  );

  app.post(
    '/api/clientes/:id/pagos/:pago_id/anular',
    {
      schema: {
        tags,
        summary:
          'Anular un pago (queda registrado con el motivo; la fecha de vencimiento se recalcula sin él; ' +
          'la confirmación pendiente se cancela y nunca se envía otra)',
        params: paymentParams,
        body: voidBody,
        response: { 200: z.object({ pago: paymentSchema, cliente: clientViewSchema }), ...errorResponses },
      },
    },
    async (request) => {
      const now = deps.clock.now();
      const { id, pago_id } = request.params;
      const { payment } = await deps.db.transaction(async (tx) => {
        const result = await voidPayment(tx, {
          clientId: id,
          paymentId: pago_id,
          motivo: request.body.motivo,
          actor: request.actor,
          now,
        });
        // Its confirmation, if still queued, never goes out; a sent one is not sent again (its
        // dedupe key belongs to this payment id).
        const confirmacion = await tx.query<{ id: number }>(
          `SELECT id FROM notifications WHERE dedupe_key = $1 AND estado = 'pendiente'`,
          [`pago_recibido:${pago_id}`],
        );
        let canceladas = 0;
        for (const n of confirmacion.rows) canceladas += await cancel(tx, { id: n.id }, 'pago_anulado', now);
        await audit(tx, {
          actor: request.actor,
          accion: 'pago.anular',
          objeto: `cliente:${id}`,
          detalles: {
            pago_id,
            monto: result.payment.monto,
            fecha: result.payment.fecha,
            motivo: request.body.motivo,
            fecha_ultimo_pago: result.lastPayment,
            confirmacion_cancelada: canceladas > 0,
          },
        });
        return result;
      });
      return { pago: payment, cliente: await clients.getOrThrow(id) };
    },
  );
};
