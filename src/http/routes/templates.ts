import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import {
  defaultTemplates,
  deleteTemplate,
  listTemplateRows,
  loadTemplates,
  notificationTypes,
  renderTemplate,
  saveTemplate,
  TELEGRAM_MAX_CHARS,
  templateValues,
  templateVariables,
  toEngineSettings,
  validateTemplate,
  visibleLength,
} from '../../notifications/index.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['plantillas'];
const tipoParams = z.object({ tipo: z.enum(notificationTypes) });

const templateSchema = z.object({
  tipo: z.enum(notificationTypes),
  plan_id: z.number().nullable(),
  texto: z.string(),
  predeterminada: z.boolean(),
  actualizado_por: z.string().nullable(),
  actualizado_en: z.string().nullable(),
});

/** Message templates: read, edit (per type, optionally per plan), reset and preview with a real client. */
export const templatesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const settings = toEngineSettings(deps.config);

  async function effective() {
    const rows = await listTemplateRows(deps.db);
    const general = new Map(rows.filter((r) => r.plan_id === null).map((r) => [r.tipo, r]));
    const list = notificationTypes.map((tipo) => {
      const r = general.get(tipo);
      return {
        tipo,
        plan_id: null,
        texto: r?.texto ?? defaultTemplates[tipo],
        predeterminada: !r,
        actualizado_por: r?.updated_by ?? null,
        actualizado_en: r?.updated_at.toISOString() ?? null,
      };
    });
    const perPlan = rows
      .filter((r) => r.plan_id !== null)
      .map((r) => ({
        tipo: r.tipo,
        plan_id: r.plan_id,
        texto: r.texto,
        predeterminada: false,
        actualizado_por: r.updated_by,
        actualizado_en: r.updated_at.toISOString(),
      }));
    return [...list, ...perPlan];
  }

  app.get(
    '/api/plantillas',
    {
      schema: {
        tags,
        summary: 'Plantillas de mensajes (HTML de Telegram con variables entre llaves) y sus variables',
        response: {
          200: z.object({
            variables: z.record(z.string(), z.string()),
            limite_caracteres: z.number(),
            plantillas: z.array(templateSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      variables: templateVariables,
      limite_caracteres: TELEGRAM_MAX_CHARS,
      plantillas: await effective(),
    }),
  );

  app.get(
    '/api/plantillas/:tipo',
    {
      schema: {
        tags,
        summary: 'Plantilla de un tipo: la general y las de cada plan',
        params: tipoParams,
        response: {
          200: z.object({
            tipo: z.enum(notificationTypes),
            texto_predeterminado: z.string(),
            plantillas: z.array(templateSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tipo } = request.params;
      return {
        tipo,
        texto_predeterminado: defaultTemplates[tipo],
        plantillas: (await effective()).filter((t) => t.tipo === tipo),
      };
    },
  );

  app.put(
    '/api/plantillas/:tipo',
    {
      schema: {
        tags,
        summary: 'Guardar la plantilla de un tipo (para todos los planes, o para uno con plan_id)',
        params: tipoParams,
        body: z.object({
          texto: z.string().min(1).max(20_000),
          plan_id: z.coerce.number().int().positive().nullable().default(null),
        }),
        response: { 200: templateSchema, ...errorResponses },
      },
    },
    async (request) => {
      const row = await saveTemplate(
        deps.db,
        {
          tipo: request.params.tipo,
          planId: request.body.plan_id,
          texto: request.body.texto,
          actor: request.actor,
        },
        settings,
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plantilla.guardar',
        objeto: `plantilla:${row.tipo}${row.plan_id ? `:plan:${row.plan_id}` : ''}`,
      });
      return {
        tipo: row.tipo,
        plan_id: row.plan_id,
        texto: row.texto,
        predeterminada: false,
        actualizado_por: row.updated_by,
        actualizado_en: row.updated_at.toISOString(),
      };
    },
  );

  app.delete(
    '/api/plantillas/:tipo',
    {
      schema: {
        tags,
        summary: 'Volver a la plantilla predeterminada (o, con plan_id, a la general)',
        params: tipoParams,
        querystring: z.object({ plan_id: z.coerce.number().int().positive().optional() }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const removed = await deleteTemplate(deps.db, request.params.tipo, request.query.plan_id ?? null);
      if (!removed)
        throw new AppError('NO_ENCONTRADO', 'Esa plantilla no fue modificada: ya es la predeterminada.');
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plantilla.restablecer',
        objeto: `plantilla:${request.params.tipo}`,
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/plantillas/:tipo/vista-previa',
    {
      schema: {
        tags,
        summary:
          'Vista previa con un cliente real: la plantilla guardada (o el texto enviado, sin guardarlo) con sus datos',
        params: tipoParams,
        body: z.object({
          cliente_id: z.coerce.number().int().positive(),
          texto: z.string().min(1).max(20_000).optional(),
          mensaje: z.string().max(20_000).optional(),
        }),
        response: {
          200: z.object({
            texto: z.string(),
            longitud: z.number(),
            limite: z.number(),
            dentro_del_limite: z.boolean(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { tipo } = request.params;
      const b = request.body;
      if (b.texto !== undefined) validateTemplate(b.texto, settings);
      const { rows } = await deps.db.query<{
        nombre: string;
        plan_id: number | null;
        plan: string | null;
        precio: number | null;
        velocidad: number | null;
        due: string | null;
      }>(
        `SELECT c.nombre, c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
                teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2) AS due
           FROM clients c LEFT JOIN plans p ON p.id = c.plan_id WHERE c.id = $1`,
        [b.cliente_id, settings.cycleDays],
      );
      const c = rows[0];
      if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${b.cliente_id}.`);
      const today = localDate(deps.clock.now(), deps.config.timeZone);
      const html = b.texto ?? (await loadTemplates(deps.db)).resolve(tipo, c.plan_id);
      const texto = renderTemplate(
        html,
        templateValues(
          {
            tipo,
            today,
            nombre: c.nombre,
            plan: c.plan,
            precio: c.precio,
            velocidad: c.velocidad,
            vencimiento: c.due,
            datos: tipo === 'pago_recibido' ? { monto: c.precio ?? 0, fecha: today } : {},
            mensaje: b.mensaje ?? '',
          },
          settings,
        ),
      );
      const longitud = visibleLength(texto);
      return {
        texto,
        longitud,
        limite: TELEGRAM_MAX_CHARS,
        dentro_del_limite: longitud <= TELEGRAM_MAX_CHARS,
      };
    },
  );
};
