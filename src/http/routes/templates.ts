import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createClientsRepository } from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import {
  compose,
  defaultChannelTexts,
  defaultTemplates,
  deleteTemplate,
  type EngineSettings,
  listChannelTextRows,
  listTemplateRows,
  loadChannelTexts,
  loadComposeClients,
  loadTemplates,
  notificationTypes,
  SMS_MAX_CHARS,
  saveChannelTexts,
  saveTemplate,
  smsWorstCaseValues,
  TELEGRAM_MAX_CHARS,
  templateVariables,
  validateChannelText,
  validateTemplate,
} from '../../notifications/index.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['plantillas'];
const tipoParams = z.object({ tipo: z.enum(notificationTypes) });

const channelTextSchema = z.object({
  tipo: z.enum(notificationTypes),
  plan_id: z.number().nullable(),
  sms: z.string(),
  sms_predeterminado: z.boolean(),
  email_asunto: z.string(),
  asunto_predeterminado: z.boolean(),
  actualizado_por: z.string().nullable(),
  actualizado_en: z.string().nullable(),
});

const templateSchema = z.object({
  tipo: z.enum(notificationTypes),
  plan_id: z.number().nullable(),
  texto: z.string(),
  predeterminada: z.boolean(),
  actualizado_por: z.string().nullable(),
  actualizado_en: z.string().nullable(),
});

/** Message templates: read, edit (per type, optionally per plan), reset and preview with a real client. */
/** The row data a preview needs: a payment for pago_recibido, an example link for an invitation. */
function previewDatos(tipo: string, precio: number | null, today: string) {
  if (tipo === 'pago_recibido') return { datos: { monto: precio ?? 0, fecha: today } };
  if (tipo === 'invitacion') return { datos: { enlace: 'https://t.me/SuBot?start=EnlaceDeEjemplo0000000' } };
  return {};
}

export const templatesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  /** Why an SMS text being edited cannot be saved (too long with long data…), or null. */
  const smsProblemOf = (text: string, settings: EngineSettings): string | null => {
    try {
      validateChannelText('sms', text, settings);
      return null;
    } catch (err) {
      return err instanceof AppError ? err.message : String(err);
    }
  };

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

  /** SMS texts and e-mail subjects in use: general per type (default when not edited) and per plan. */
  async function effectiveChannelTexts() {
    const rows = await listChannelTextRows(deps.db);
    const view = (tipo: (typeof notificationTypes)[number], planId: number | null) => {
      const own = rows.find((r) => r.tipo === tipo && r.plan_id === planId);
      const general = rows.find((r) => r.tipo === tipo && r.plan_id === null);
      const sms = own?.sms ?? (planId !== null ? general?.sms : null) ?? null;
      const asunto = own?.email_asunto ?? (planId !== null ? general?.email_asunto : null) ?? null;
      return {
        tipo,
        plan_id: planId,
        sms: sms ?? defaultChannelTexts.resolve('sms', tipo, null),
        sms_predeterminado: sms === null,
        email_asunto: asunto ?? defaultChannelTexts.resolve('email_asunto', tipo, null),
        asunto_predeterminado: asunto === null,
        actualizado_por: own?.updated_by ?? null,
        actualizado_en: own?.updated_at.toISOString() ?? null,
      };
    };
    return [
      ...notificationTypes.map((tipo) => view(tipo, null)),
      ...rows.filter((r) => r.plan_id !== null).map((r) => view(r.tipo, r.plan_id)),
    ];
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
            limite_sms: z.number(),
            /** Values the SMS length is checked with (the editor's live counter uses them). */
            valores_maximos_sms: z.record(z.string(), z.string()),
            canales: z.array(channelTextSchema),
          }),
          ...errorResponses,
        },
      },
    },
    async () => ({
      variables: templateVariables,
      limite_caracteres: TELEGRAM_MAX_CHARS,
      plantillas: await effective(),
      limite_sms: SMS_MAX_CHARS,
      valores_maximos_sms: Object.fromEntries(
        Object.entries(smsWorstCaseValues(await deps.settings!.engine())).filter(
          (e): e is [string, string] => e[1] !== undefined,
        ),
      ),
      canales: await effectiveChannelTexts(),
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
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
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

  app.put(
    '/api/plantillas/:tipo/canales',
    {
      schema: {
        tags,
        summary:
          'Guardar el texto SMS (máximo 160 caracteres con datos reales) y el asunto del correo de un tipo',
        description:
          'El SMS es texto simple (se reduce a GSM-7: sin tildes, sin ñ, sin ¿¡) y debe caber en 160 caracteres con ' +
          'datos largos; si no, responde 422 PLANTILLA_INVALIDA con los motivos. El cuerpo del correo es la ' +
          'plantilla del tipo. `null` vuelve al texto predeterminado; un campo ausente no cambia.',
        params: tipoParams,
        body: z.object({
          sms: z.string().max(2000).nullable().optional(),
          email_asunto: z.string().max(2000).nullable().optional(),
          plan_id: z.coerce.number().int().positive().nullable().default(null),
        }),
        response: { 200: channelTextSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      if (b.plan_id !== null) {
        const plan = await deps.db.query('SELECT 1 FROM plans WHERE id = $1', [b.plan_id]);
        if (!plan.rows[0]) throw new AppError('PLAN_NO_EXISTE', `No existe el plan ${b.plan_id}.`);
      }
      const row = await saveChannelTexts(
        deps.db,
        {
          tipo: request.params.tipo,
          planId: b.plan_id,
          ...(b.sms !== undefined && { sms: b.sms?.trim() || null }),
          ...(b.email_asunto !== undefined && { emailAsunto: b.email_asunto?.trim() || null }),
          actor: request.actor,
        },
        settings,
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'plantilla.canales',
        objeto: `plantilla:${row.tipo}${row.plan_id ? `:plan:${row.plan_id}` : ''}`,
      });
      return (await effectiveChannelTexts()).find((t) => t.tipo === row.tipo && t.plan_id === row.plan_id)!;
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
          'Vista previa con un cliente real: la plantilla guardada (o el texto enviado, sin guardarlo) con sus datos, ' +
          'tal como se enviaría',
        description:
          'Elija el cliente con `cliente_id`, o búsquelo con `buscar` (nombre, cédula o teléfono): se usa el primero ' +
          'que coincide y `coincidencias` lista hasta 10 para elegir otro. Si al cliente le faltan datos que la ' +
          'plantilla usa, `motivo` dice por qué no se enviaría y `texto` queda vacío.',
        params: tipoParams,
        body: z
          .object({
            cliente_id: z.coerce.number().int().positive().optional(),
            buscar: z.string().trim().min(1).max(100).optional(),
            texto: z.string().min(1).max(20_000).optional(),
            mensaje: z.string().max(20_000).optional(),
            sms: z.string().min(1).max(2000).optional(),
            email_asunto: z.string().min(1).max(2000).optional(),
          })
          .refine((b) => b.cliente_id !== undefined || b.buscar !== undefined, {
            message: 'indique "cliente_id" o "buscar"',
          }),
        response: {
          200: z.object({
            cliente: z.object({ id: z.number(), nombre: z.string() }),
            coincidencias: z.array(
              z.object({ id: z.number(), nombre: z.string(), plan: z.string().nullable() }),
            ),
            texto: z.string(),
            longitud: z.number(),
            limite: z.number(),
            dentro_del_limite: z.boolean(),
            motivo: z.string().nullable(),
            sms: z.object({
              texto: z.string(),
              longitud: z.number(),
              limite: z.number(),
              dentro_del_limite: z.boolean(),
              motivo: z.string().nullable(),
            }),
            correo: z.object({ asunto: z.string(), motivo: z.string().nullable() }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const settings = await deps.settings!.engine(); // Ajustes: in effect now, no restart
      const { tipo } = request.params;
      const b = request.body;
      if (b.texto !== undefined) validateTemplate(b.texto, settings);
      const today = localDate(deps.clock.now(), deps.config.timeZone);
      let coincidencias: { id: number; nombre: string; plan: string | null }[] = [];
      let clientId = b.cliente_id;
      if (clientId === undefined) {
        const found = await createClientsRepository(deps.db, billingContext(deps)).list({
          buscar: b.buscar,
          pagina: 1,
          por_pagina: 10,
        });
        coincidencias = found.clientes.map((c) => ({ id: c.id, nombre: c.nombre, plan: c.plan ?? null }));
        clientId = coincidencias[0]?.id;
        if (clientId === undefined) {
          throw new AppError('NO_ENCONTRADO', `Ningún cliente coincide con «${b.buscar}».`);
        }
      }
      const c = (await loadComposeClients(deps.db, [clientId], settings, today)).get(clientId);
      if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${clientId}.`);
      const stored = await loadTemplates(deps.db);
      const templates = b.texto === undefined ? stored : { resolve: () => b.texto! };
      // The same door as the real send: a campaign-like {mensaje} is staff text (Telegram HTML).
      const r = compose(
        {
          tipo,
          texto: b.mensaje?.trim() || '<i>(aquí va el texto del envío)</i>',
          plantilla: tipo,
          ...previewDatos(tipo, c.precio, today),
        },
        c,
        { templates, today, settings },
      );
      // The SMS and the e-mail through the same door; a text being edited is used unsaved.
      const storedTexts = await loadChannelTexts(deps.db);
      const channelTexts = {
        resolve: (field: 'sms' | 'email_asunto', t: typeof tipo, planId: number | null | undefined) =>
          field === 'sms' && b.sms !== undefined
            ? b.sms
            : field === 'email_asunto' && b.email_asunto !== undefined
              ? b.email_asunto
              : storedTexts.resolve(field, t, planId),
      };
      const channelNotice = {
        tipo,
        texto: b.mensaje?.trim() || '(aquí va el texto del envío)',
        plantilla: tipo,
        ...previewDatos(tipo, c.precio, today),
      };
      const sms = compose(channelNotice, c, { templates, channelTexts, today, settings }, 'sms');
      const smsProblem = b.sms === undefined ? null : smsProblemOf(b.sms, settings);
      const mail = compose(channelNotice, c, { templates, channelTexts, today, settings }, 'email');
      const texto = r.ok && r.channel === 'telegram' ? r.text : '';
      const longitud = r.ok && r.channel === 'telegram' ? r.length : 0;
      return {
        cliente: { id: clientId, nombre: c.nombre ?? '' },
        coincidencias,
        texto,
        longitud,
        limite: TELEGRAM_MAX_CHARS,
        dentro_del_limite: longitud <= TELEGRAM_MAX_CHARS,
        motivo: r.ok ? null : `${r.motivo}: ${r.detalle}`,
        sms: {
          texto: sms.ok && sms.channel === 'sms' ? sms.text : '',
          longitud: sms.ok && sms.channel === 'sms' ? sms.length : 0,
          limite: SMS_MAX_CHARS,
          dentro_del_limite: sms.ok && smsProblem === null,
          motivo: smsProblem ?? (sms.ok ? null : `${sms.motivo}: ${sms.detalle}`),
        },
        correo: {
          asunto: mail.ok && mail.channel === 'email' ? mail.subject : '',
          motivo: mail.ok ? null : `${mail.motivo}: ${mail.detalle}`,
        },
      };
    },
  );
};
