import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createClientsRepository, hasConsent } from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/**
 * WhatsApp as Ajustes shows it (issue 10 §10): is the token valid, which number, its quality and
 * tier, the templates and their approval, the last error; and "probar": one real message to a
 * chosen client — free text inside their 24-hour window, else the welcome template (only with
 * their WhatsApp consent: Meta requires the opt-in before the business writes first).
 */

const statusSchema = z.object({
  configurado: z.boolean(),
  /** WhatsApp simulated inside the service (sandbox): nothing leaves for Meta. */
  simulado: z.boolean(),
  token_valido: z.boolean().nullable(),
  detalle: z.string().nullable(),
  numero: z
    .object({
      telefono: z.string().nullable(),
      nombre: z.string().nullable(),
      calidad: z.string().nullable(),
      nivel: z.string().nullable(),
    })
    .nullable(),
  plantillas: z.object({
    aprobadas: z.number(),
    pendientes: z.number(),
    rechazadas: z.number(),
    total: z.number(),
  }),
  sincronizado_en: z.string().nullable(),
  error_sincronizacion: z.string().nullable(),
  ultimo_error: z.object({ mensaje: z.string(), fecha: z.string().nullable() }).nullable(),
});

export const whatsappStatusRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['whatsapp'];

  app.get(
    '/api/whatsapp/estado',
    {
      schema: {
        tags,
        summary:
          'Estado de WhatsApp: token válido, número, calidad y nivel de envíos, plantillas por estado, última ' +
          'sincronización y último error (consulta a Meta en el momento)',
        response: { 200: statusSchema, ...errorResponses },
      },
    },
    async (request) => {
      const [state, templates] = await Promise.all([
        deps.db.query<{
          sincronizado_at: Date | null;
          error_sincronizacion: string | null;
          ultimo_error: string | null;
          ultimo_error_at: Date | null;
        }>(
          'SELECT sincronizado_at, error_sincronizacion, ultimo_error, ultimo_error_at FROM whatsapp_state WHERE id = 1',
        ),
        deps.db.query<{ aprobadas: number; pendientes: number; rechazadas: number; total: number }>(
          `SELECT count(*) FILTER (WHERE estado = 'APPROVED')::int AS aprobadas,
                  count(*) FILTER (WHERE estado IN ('PENDING', 'IN_APPEAL'))::int AS pendientes,
                  count(*) FILTER (WHERE estado NOT IN ('APPROVED', 'PENDING', 'IN_APPEAL'))::int AS rechazadas,
                  count(*)::int AS total
             FROM whatsapp_templates`,
        ),
      ]);
      const s = state.rows[0];
      const base = {
        configurado: deps.whatsapp !== undefined,
        simulado: deps.sandbox?.phones !== undefined,
        plantillas: templates.rows[0]!,
        sincronizado_en: s?.sincronizado_at?.toISOString() ?? null,
        error_sincronizacion: s?.error_sincronizacion ?? null,
        ultimo_error: s?.ultimo_error
          ? { mensaje: s.ultimo_error, fecha: s.ultimo_error_at?.toISOString() ?? null }
          : null,
      };
      if (!deps.whatsapp) return { ...base, token_valido: null, detalle: null, numero: null };
      // One question to Meta (the phone number's fields): a valid token answers, a bad one says 190.
      const signal = AbortSignal.timeout(10_000);
      const info = await deps.whatsapp.client.phoneNumber(signal);
      if (!info.ok) {
        request.log.info({ code: info.failure.code }, 'WhatsApp: la consulta del número falló');
        const auth = ['190', '0', '401', '10', '200'].includes(info.failure.code);
        return {
          ...base,
          token_valido: auth ? false : null,
          detalle: `${info.failure.code}: ${info.failure.message}`,
          numero: null,
        };
      }
      const v = info.value;
      return {
        ...base,
        token_valido: true,
        detalle: null,
        numero: {
          telefono: v.display_phone_number ?? null,
          nombre: v.verified_name ?? null,
          calidad: v.quality_rating ?? null,
          nivel: v.messaging_limit_tier ?? null,
        },
      };
    },
  );

  app.post(
    '/api/whatsapp/probar',
    {
      schema: {
        tags,
        summary:
          'Enviar un WhatsApp real de prueba a un cliente: texto libre si le escribió en las últimas 24 h, si no ' +
          'la plantilla de bienvenida (requiere su consentimiento de WhatsApp)',
        body: z.object({
          cliente_id: z.coerce.number().int().positive(),
          mensaje: z.string().trim().min(1).max(1000).optional(),
        }),
        response: {
          200: z.object({
            ok: z.boolean(),
            como: z.enum(['texto', 'plantilla']),
            plantilla: z.string().nullable(),
            proveedor_id: z.string().nullable(),
            error: z.string().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const wa = deps.whatsapp;
      if (!wa) throw new AppError('WHATSAPP_NO_CONFIGURADO');
      const c = await createClientsRepository(deps.db, billingContext(deps)).getOrThrow(
        request.body.cliente_id,
      );
      if (!c.whatsapp) {
        throw new AppError('VALIDACION', `${c.nombre} no tiene número de WhatsApp: agréguelo en su ficha.`);
      }
      const now = deps.clock.now();
      const inWindow = c.whatsapp_ventana_hasta !== null && new Date(c.whatsapp_ventana_hasta) > now;
      const empresa = deps.settings!.company().nombre;
      let como: 'texto' | 'plantilla';
      let plantilla: string | null = null;
      let sent: Awaited<ReturnType<typeof wa.client.sendText>>;
      if (inWindow) {
        como = 'texto';
        sent = await wa.client.sendText(
          c.whatsapp,
          request.body.mensaje ?? `Mensaje de prueba de ${empresa}: si lo recibe, WhatsApp funciona. 👍`,
        );
      } else {
        if (!(await hasConsent(deps.db, c.id, 'whatsapp', 'servicio'))) {
          throw new AppError(
            'VALIDACION',
            `${c.nombre} no ha aceptado recibir WhatsApp y no le ha escrito en las últimas 24 horas: registre ` +
              'su consentimiento (con la evidencia) o pídale que escriba primero al número de la empresa.',
          );
        }
        const map = await deps.db.query<{ plantilla: string; idioma: string }>(
          `SELECT plantilla, idioma FROM whatsapp_template_map WHERE tipo = 'bienvenida'`,
        );
        const t = map.rows[0] ?? { plantilla: 'bienvenida', idioma: 'es' };
        como = 'plantilla';
        plantilla = t.plantilla;
        sent = await wa.client.sendTemplate(c.whatsapp, {
          name: t.plantilla,
          language: t.idioma,
          params: [c.nombre, empresa],
        });
      }
      await audit(deps.db, {
        actor: request.actor,
        accion: 'whatsapp.probar',
        objeto: `cliente:${c.id}`,
        detalles: { como, plantilla, ok: sent.ok, codigo: sent.ok ? null : sent.failure.code },
      });
      return {
        ok: sent.ok,
        como,
        plantilla,
        proveedor_id: sent.ok ? sent.providerId : null,
        error: sent.ok ? null : `${sent.failure.code}: ${sent.failure.message}`,
      };
    },
  );
};
