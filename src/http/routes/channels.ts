import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type ConsentRow,
  consentHistory,
  createClientsRepository,
  currentConsents,
  recordConsent,
} from '../../clients/index.js';
import { AppError } from '../../errors/index.js';
import {
  channelReach,
  clientChannels,
  MARKETING_TYPES,
  monthCostByChannel,
} from '../../notifications/index.js';
import { channelNames, consentCategories, consentSources, notificationReasons } from '../../vocabulary.js';
import { audit } from '../audit.js';
import { billingContext } from '../billing.js';
import { errorResponses, idParams } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/**
 * Channels as staff see them: a client's consent ledger (issue 10 §7, the full ledger of issue 11
 * §4: every channel, both categories) and the reach of the whole client base (issue 10 §10).
 */

/**
 * Sources staff may record (with evidence). The client's own answers (Telegram, WhatsApp, an SMS
 * "SALIR", an e-mail unsubscribe) and the providers' opt-outs are recorded by the service itself.
 */
export const STAFF_CONSENT_SOURCES = ['contrato', 'presencial', 'formulario', 'llamada', 'email'] as const;

const categoryCost = z.object({
  categoria: z.enum(['utility', 'marketing']),
  entregados: z.number(),
  precio: z.number(),
  costo: z.number(),
});

const consentView = z.object({
  id: z.number(),
  canal: z.enum(channelNames.values),
  categoria: z.enum(consentCategories.values),
  otorgado: z.boolean(),
  fuente: z.enum(consentSources.values),
  evidencia: z.string().nullable(),
  registrado_por: z.string().nullable(),
  registrado_en: z.string(),
});

const toView = (r: ConsentRow): z.infer<typeof consentView> => ({
  id: r.id,
  canal: r.canal,
  categoria: r.categoria,
  otorgado: r.otorgado,
  fuente: r.fuente,
  evidencia: r.evidencia,
  registrado_por: r.registrado_por,
  registrado_en: new Date(r.created_at).toISOString(),
});

const consentBody = z
  .object({
    canal: z.enum(channelNames.values, 'debe ser telegram, whatsapp, sms o email'),
    categoria: z.enum(consentCategories.values, 'debe ser servicio o marketing'),
    otorgado: z.boolean('debe ser true (acepta) o false (retira el consentimiento)'),
    fuente: z.enum(
      STAFF_CONSENT_SOURCES,
      `debe ser una de: ${STAFF_CONSENT_SOURCES.join(', ')} (las respuestas del cliente por Telegram o WhatsApp las registra el servicio)`,
    ),
    evidencia: z.string().trim().max(500, 'máximo 500 caracteres').optional(),
  })
  .superRefine((b, ctx) => {
    if (b.otorgado && (b.evidencia ?? '').length < 3) {
      ctx.addIssue({
        code: 'custom',
        path: ['evidencia'],
        message:
          'describa la evidencia del consentimiento (mínimo 3 caracteres): nº de contrato, formulario, quién lo atendió…',
      });
    }
  });

const consentsAnswer = z.object({
  /** The current consent per channel and category: the latest row of each (none = not given). */
  actuales: z.array(consentView),
  /** Every grant and withdrawal, newest first. */
  historial: z.array(consentView),
});

export const channelsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const clients = createClientsRepository(deps.db, billingContext(deps));

  app.get(
    '/api/clientes/:id/consentimientos',
    {
      schema: {
        tags: ['clientes'],
        summary:
          'Consentimientos del cliente por canal (telegram, whatsapp, sms, email) y categoría (servicio, ' +
          'marketing): el estado actual de cada uno y el historial completo (nunca se edita)',
        params: idParams,
        response: { 200: consentsAnswer, ...errorResponses },
      },
    },
    async (request) => {
      await clients.getOrThrow(request.params.id);
      const [actuales, historial] = await Promise.all([
        currentConsents(deps.db, request.params.id),
        consentHistory(deps.db, request.params.id),
      ]);
      return { actuales: actuales.map(toView), historial: historial.map(toView) };
    },
  );

  app.post(
    '/api/clientes/:id/consentimientos',
    {
      schema: {
        tags: ['clientes'],
        summary:
          'Registrar que el cliente acepta (otorgado: true) o retira (false) un canal y categoría, con la ' +
          'fuente (contrato, presencial, formulario, llamada, email) y la evidencia (obligatoria al aceptar). ' +
          'Sin consentimiento de WhatsApp no se le escribe primero por WhatsApp',
        params: idParams,
        body: consentBody,
        response: {
          201: z.object({ consentimiento: consentView, actuales: z.array(consentView) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const b = request.body;
      const now = deps.clock.now();
      const out = await deps.db.transaction(async (tx) => {
        await createClientsRepository(tx, billingContext(deps)).getOrThrow(id);
        const consentId = await recordConsent(tx, {
          clientId: id,
          canal: b.canal,
          categoria: b.categoria,
          otorgado: b.otorgado,
          fuente: b.fuente,
          evidencia: b.evidencia || null,
          registradoPor: request.actor ?? null,
          at: now,
        });
        await audit(tx, {
          actor: request.actor,
          accion: b.otorgado ? 'consentimiento.otorgar' : 'consentimiento.retirar',
          objeto: `cliente:${id}`,
          detalles: {
            consentimiento_id: consentId,
            canal: b.canal,
            categoria: b.categoria,
            fuente: b.fuente,
          },
        });
        const [actuales, historial] = await Promise.all([currentConsents(tx, id), consentHistory(tx, id)]);
        return { actuales, row: historial.find((r) => r.id === consentId)! };
      });
      return reply.status(201).send({ consentimiento: toView(out.row), actuales: out.actuales.map(toView) });
    },
  );

  app.get(
    '/api/clientes/:id/canales',
    {
      schema: {
        tags: ['clientes'],
        summary:
          'Canales de un cliente y su estado: destino, si un aviso de servicio u oferta llega hoy y por qué no, ' +
          'marca de inalcanzable (motivo y hasta cuándo), consentimientos y canal preferido',
        params: idParams,
        response: {
          200: z.object({
            cliente_id: z.number(),
            preferido: z.enum(channelNames.values).nullable(),
            canales: z.array(
              z.object({
                canal: z.enum(channelNames.values),
                configurado: z.boolean(),
                destino: z.string().nullable(),
                alcanzable: z.boolean(),
                motivo: z.string().nullable(),
                motivo_texto: z.string().nullable(),
                marketing: z.boolean(),
                inalcanzable: z
                  .object({ motivo: z.string(), hasta: z.string().nullable(), vigente: z.boolean() })
                  .nullable(),
                consentimiento: z.object({
                  servicio: z.boolean().nullable(),
                  marketing: z.boolean().nullable(),
                }),
                preferido: z.boolean(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = request.params.id;
      const out = await clientChannels(deps.db, id, deps.clock.now());
      if (!out) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${id}.`);
      return {
        cliente_id: id,
        preferido: out.preferido,
        canales: out.canales.map((c) => ({
          ...c,
          motivo_texto: c.motivo === null ? null : notificationReasons.label(c.motivo),
        })),
      };
    },
  );

  app.get(
    '/api/notificaciones/alcance/',
    {
      schema: {
        tags: ['notificaciones'],
        summary:
          'Alcance: clientes a los que llega cada canal configurado (Telegram, WhatsApp, SMS, correo), ' +
          'alguno o ninguno (la lista de llamadas), y el costo estimado del mes por canal (WhatsApp por ' +
          'categoría con WHATSAPP_PRECIO_*, SMS con SMS_PRECIO, correo con EMAIL_PRECIO; verifique las tarifas)',
        response: {
          200: z.object({
            total_clientes: z.number(),
            alcance: z.object({
              /** Channels configured here; the others reach nobody. */
              canales_activos: z.array(z.enum(channelNames.values)),
              telegram: z.number(),
              whatsapp: z.number(),
              sms: z.number(),
              email: z.number(),
              alguno: z.number(),
              ambos: z.number(),
              ninguno: z.number(),
            }),
            costo_mes: z.object({
              mes: z.string(),
              desde: z.string(),
              hasta: z.string(),
              moneda: z.literal('USD'),
              por_canal: z.array(
                z.object({
                  canal: z.enum(['whatsapp', 'sms', 'email']),
                  configurado: z.boolean(),
                  mensajes: z.number(),
                  precio: z.number().nullable(),
                  costo: z.number(),
                  por_categoria: z.array(categoryCost).nullable(),
                }),
              ),
              total: z.number(),
              nota: z.string(),
            }),
            whatsapp_costo_mes: z.object({
              mes: z.string(),
              desde: z.string(),
              hasta: z.string(),
              moneda: z.literal('USD'),
              por_categoria: z.array(categoryCost),
              total: z.number(),
              tipos_marketing: z.array(z.string()),
              nota: z.string(),
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const now = deps.clock.now();
      const [reach, cost] = await Promise.all([
        channelReach(deps.db, now),
        monthCostByChannel(deps.db, {
          now,
          timeZone: deps.config.timeZone,
          prices: {
            whatsapp: deps.config.whatsappPrices,
            sms: deps.config.smsPrice,
            email: deps.config.emailPrice,
          },
        }),
      ]);
      const { total_clientes, ...alcance } = reach;
      const { por_canal, ...month } = cost;
      const wa = por_canal.find((c) => c.canal === 'whatsapp')!;
      return {
        total_clientes,
        alcance,
        costo_mes: {
          ...month,
          moneda: 'USD' as const,
          por_canal: por_canal.map((c) => ({ ...c, configurado: reach.canales_activos.includes(c.canal) })),
          nota:
            'Estimación: WhatsApp, plantillas entregadas este mes por el precio de su categoría ' +
            '(WHATSAPP_PRECIO_UTILITY, WHATSAPP_PRECIO_MARKETING); SMS y correo, mensajes aceptados por la ' +
            'pasarela o el servidor por SMS_PRECIO y EMAIL_PRECIO. Telegram no cobra. Verifique las tarifas vigentes.',
        },
        whatsapp_costo_mes: {
          mes: month.mes,
          desde: month.desde,
          hasta: month.hasta,
          moneda: 'USD' as const,
          por_categoria: wa.por_categoria!,
          total: wa.costo,
          tipos_marketing: [...MARKETING_TYPES],
          nota:
            'Estimación: plantillas entregadas este mes por el precio de su categoría (WHATSAPP_PRECIO_UTILITY, ' +
            'WHATSAPP_PRECIO_MARKETING); cuentan como marketing las ofertas, sus campañas y toda plantilla de ' +
            'categoría MARKETING en Meta. Verifique las tarifas vigentes de Meta para Ecuador.',
        },
      };
    },
  );
};
