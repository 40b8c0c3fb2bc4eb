import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { notificationTypes } from '../../vocabulary.js';
import {
  listRegistry,
  listTemplateMappings,
  resetTemplateMapping,
  SIGNATURE_HEADER,
  saveTemplateMapping,
  suggestedTemplates,
  templateStatusLabel,
  type WhatsAppService,
} from '../../whatsapp/index.js';
import { audit } from '../audit.js';
import { secretEquals } from '../auth.js';
import { errorResponses, errorSchema } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/** Where Meta delivers the WhatsApp Business webhooks (set it in the app's WhatsApp → Configuración). */
export const WHATSAPP_WEBHOOK_PATH = '/api/whatsapp/webhook';

const tags = ['whatsapp'];

function requireWhatsApp(deps: ApiDeps): WhatsAppService {
  if (!deps.whatsapp) throw new AppError('WHATSAPP_NO_CONFIGURADO');
  return deps.whatsapp;
}

const mappingSchema = z.object({
  tipo: z.string(),
  plantilla: z.string(),
  idioma: z.string(),
  parametros: z.array(z.string()),
  actualizado_por: z.string().nullable(),
  actualizado_en: z.string().nullable(),
});

export const whatsappRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // --- Meta's webhook (public; verify token / signature) -----------------------------------------
  app.get(
    WHATSAPP_WEBHOOK_PATH,
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Verificación del webhook de WhatsApp (Meta, público)',
        description:
          'Meta llama con hub.mode=subscribe, hub.verify_token y hub.challenge al registrar el webhook; ' +
          'si el token coincide con WHATSAPP_VERIFY_TOKEN se responde el challenge, si no 403.',
        security: [],
        querystring: z.looseObject({
          'hub.mode': z.string().optional(),
          'hub.verify_token': z.string().optional(),
          'hub.challenge': z.string().max(1000).optional(),
        }),
        response: { 200: z.string(), 403: errorSchema },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const expected = deps.whatsapp?.verifyToken ?? deps.config.whatsapp.verifyToken;
      if (
        q['hub.mode'] !== 'subscribe' ||
        !expected ||
        !secretEquals(q['hub.verify_token'], expected) ||
        q['hub.challenge'] === undefined
      ) {
        throw new AppError('WHATSAPP_VERIFICACION_INVALIDA');
      }
      return reply.type('text/plain; charset=utf-8').send(q['hub.challenge']);
    },
  );

  // The POST takes its body raw: the signature is over the exact bytes, checked before parsing.
  await app.register(async (hook) => {
    hook.removeAllContentTypeParsers();
    hook.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
      done(null, body);
    });
    hook.post(
      WHATSAPP_WEBHOOK_PATH,
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Webhook de WhatsApp (Meta, público, firmado)',
          description:
            'Estados de los mensajes (sent, delivered, read, failed), mensajes de los clientes y cambios de ' +
            'plantillas. Se exige X-Hub-Signature-256 (HMAC-SHA256 del cuerpo con WHATSAPP_APP_SECRET): sin ' +
            'ella o con otra, 401 y no se registra nada. Responde 503 si la base de datos no está ' +
            'disponible, para que Meta lo reenvíe.',
          security: [],
          response: {
            200: z.object({ ok: z.literal(true), resultado: z.enum(['aceptado', 'ignorado']) }),
            401: errorSchema,
            503: errorSchema,
          },
        },
      },
      async (request) => {
        const wa = requireWhatsApp(deps);
        const given = request.headers[SIGNATURE_HEADER];
        const result = await wa.acceptWebhook(
          request.body as Buffer | undefined,
          typeof given === 'string' ? given : undefined,
          request.log,
        );
        if (result.status === 401) throw new AppError('WHATSAPP_FIRMA_INVALIDA');
        if (result.status === 503) {
          throw new AppError(
            result.reason === 'sin_secreto' ? 'WHATSAPP_NO_CONFIGURADO' : 'BASE_DE_DATOS_NO_DISPONIBLE',
          );
        }
        return { ok: true as const, resultado: result.resultado };
      },
    );
  });

  // --- Templates: mapping per notice type, registry synced from Meta ------------------------------
  app.get(
    '/api/whatsapp/plantillas',
    {
      schema: {
        tags,
        summary: 'Plantillas de WhatsApp: asignación por tipo de aviso y estado en Meta',
        response: {
          200: z.object({
            asignaciones: z.array(
              mappingSchema.extend({ estado: z.string().nullable(), problema: z.string().nullable() }),
            ),
            registro: z.array(
              z.object({
                nombre: z.string(),
                idioma: z.string(),
                estado: z.string(),
                estado_texto: z.string(),
                categoria: z.string().nullable(),
                parametros: z.number().nullable(),
                cuerpo: z.string().nullable(),
                motivo: z.string().nullable(),
                sincronizada_en: z.string(),
              }),
            ),
            sincronizado_en: z.string().nullable(),
            error_sincronizacion: z.string().nullable(),
            sugeridas: z.array(
              z.object({
                nombre: z.string(),
                idioma: z.string(),
                categoria: z.string(),
                cuerpo: z.string(),
                ejemplos: z.array(z.string()),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const [maps, registry, state] = await Promise.all([
        listTemplateMappings(deps.db),
        listRegistry(deps.db),
        deps.db.query<{ sincronizado_at: Date | null; error_sincronizacion: string | null }>(
          'SELECT sincronizado_at, error_sincronizacion FROM whatsapp_state WHERE id = 1',
        ),
      ]);
      const byKey = new Map(registry.map((t) => [`${t.nombre}:${t.idioma}`, t]));
      return {
        asignaciones: maps.map((m) => {
          const t = byKey.get(`${m.plantilla}:${m.idioma}`);
          const problema = !t
            ? 'No existe en la cuenta de WhatsApp Business (o no se ha sincronizado).'
            : t.estado !== 'APPROVED'
              ? `Está ${templateStatusLabel(t.estado)} en Meta.`
              : t.parametros !== null && t.parametros !== m.parametros.length
                ? `En Meta tiene ${t.parametros} parámetros y aquí ${m.parametros.length}.`
                : null;
          return {
            tipo: m.tipo,
            plantilla: m.plantilla,
            idioma: m.idioma,
            parametros: m.parametros,
            actualizado_por: m.actualizado_por ?? null,
            actualizado_en: m.updated_at?.toISOString() ?? null,
            estado: t?.estado ?? null,
            problema,
          };
        }),
        registro: registry.map((t) => ({
          nombre: t.nombre,
          idioma: t.idioma,
          estado: t.estado,
          estado_texto: templateStatusLabel(t.estado),
          categoria: t.categoria,
          parametros: t.parametros,
          cuerpo: t.cuerpo,
          motivo: t.motivo,
          sincronizada_en: t.sincronizada_at.toISOString(),
        })),
        sincronizado_en: state.rows[0]?.sincronizado_at?.toISOString() ?? null,
        error_sincronizacion: state.rows[0]?.error_sincronizacion ?? null,
        sugeridas: suggestedTemplates.map((t) => ({
          nombre: t.name,
          idioma: t.language,
          categoria: t.category,
          cuerpo: t.body,
          ejemplos: t.examples,
        })),
      };
    },
  );

  app.put(
    '/api/whatsapp/plantillas/:tipo',
    {
      schema: {
        tags,
        summary: 'Asignar la plantilla de WhatsApp de un tipo de aviso y sus parámetros en orden',
        description:
          'parametros: las variables del aviso que llenan {{1}}, {{2}}… (nombre, monto, fecha_vencimiento, ' +
          'dias, fecha_pago, empresa, mensaje…). Se valida que ninguna esté vacía y, si la plantilla ya está ' +
          'sincronizada, que la cantidad coincida con la aprobada en Meta.',
        params: z.object({ tipo: z.enum(notificationTypes.values) }),
        body: z.object({
          plantilla: z.string().min(1).max(512),
          idioma: z.string().min(2).max(16).default('es'),
          parametros: z.array(z.string().max(64)).max(20),
        }),
        response: { 200: mappingSchema, ...errorResponses },
      },
    },
    async (request) => {
      const m = await saveTemplateMapping(
        deps.db,
        { tipo: request.params.tipo, ...request.body },
        request.actor ?? 'sistema',
        deps.clock.now(),
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'whatsapp.plantilla.asignar',
        objeto: `whatsapp_plantilla:${m.tipo}`,
        detalles: { plantilla: m.plantilla, idioma: m.idioma, parametros: m.parametros },
      });
      return {
        tipo: m.tipo,
        plantilla: m.plantilla,
        idioma: m.idioma,
        parametros: m.parametros,
        actualizado_por: m.actualizado_por ?? null,
        actualizado_en: m.updated_at?.toISOString() ?? null,
      };
    },
  );

  app.delete(
    '/api/whatsapp/plantillas/:tipo',
    {
      schema: {
        tags,
        summary: 'Volver a la asignación predeterminada de un tipo de aviso',
        params: z.object({ tipo: z.enum(notificationTypes.values) }),
        response: { 204: z.null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await resetTemplateMapping(deps.db, request.params.tipo, request.actor ?? 'sistema', deps.clock.now());
      await audit(deps.db, {
        actor: request.actor,
        accion: 'whatsapp.plantilla.restablecer',
        objeto: `whatsapp_plantilla:${request.params.tipo}`,
      });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/whatsapp/plantillas/sincronizar',
    {
      schema: {
        tags,
        summary: 'Sincronizar ahora las plantillas desde Meta (GET message_templates)',
        response: {
          200: z.object({ ok: z.literal(true), plantillas: z.number() }),
          502: errorSchema,
          503: errorSchema,
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const r = await requireWhatsApp(deps).templateSync.runOnce();
      if (!r.ok)
        throw new AppError(
          'WHATSAPP_NO_DISPONIBLE',
          `No se pudieron leer las plantillas de Meta: ${r.error}`,
        );
      await audit(deps.db, { actor: request.actor, accion: 'whatsapp.plantillas.sincronizar' });
      return { ok: true as const, plantillas: r.plantillas };
    },
  );
};
