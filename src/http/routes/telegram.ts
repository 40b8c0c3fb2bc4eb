import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { GrammyError, HttpError } from 'grammy';
import { z } from 'zod';
import {
  ALLOWED_UPDATES,
  acceptWebhookBody,
  type BotService,
  invitationTotals,
  lookupSummary,
  telegramSeries,
  telegramTotals,
  WEBHOOK_ROUTE,
} from '../../bot/index.js';
import { AppError } from '../../errors/index.js';
import {
  compose,
  composeError,
  loadComposeClients,
  loadTemplates,
  notificationTypes,
} from '../../notifications/index.js';
import { redactBotToken } from '../../telegram/redact.js';
import { telegramMessageOptions } from '../../telegram/send.js';
import { localDate } from '../../time.js';
import { audit } from '../audit.js';
import { secretEquals } from '../auth.js';
import { chatIdSchema, errorResponses, errorSchema } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['telegram'];

export const WEBHOOK_PATH = WEBHOOK_ROUTE;

const telegramErrors = { 502: errorSchema, 503: errorSchema };

function requireBot(deps: ApiDeps): BotService {
  if (!deps.bot) throw new AppError('BOT_NO_CONFIGURADO');
  return deps.bot;
}

/** A Bot API call whose failure becomes one of our errors: Telegram said no, or was unreachable. */
async function callTelegram<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GrammyError) {
      // Redacted: a Bot API server or proxy may echo the request URL (and the token in it).
      const description = redactBotToken(err.description);
      throw new AppError(
        'TELEGRAM_RECHAZO',
        `Telegram rechazó la solicitud: ${explainRefusal(description)}`,
        {
          error_code: err.error_code,
          descripcion: description,
          ...(err.parameters?.retry_after !== undefined && { retry_after: err.parameters.retry_after }),
        },
      );
    }
    if (err instanceof HttpError) {
      throw new AppError('TELEGRAM_NO_DISPONIBLE', undefined, {
        causa: redactBotToken(String((err.error as Error)?.message ?? err.error)),
      });
    }
    throw err;
  }
}

/** Telegram's refusal, said for staff. Nothing was sent. */
function explainRefusal(description: string): string {
  const d = description.toLowerCase();
  if (/chat not found|user not found|peer_id_invalid/.test(d)) {
    return 'el chat no existe para este bot (el cliente no abrió el bot, o el chat_id es incorrecto). No se envió.';
  }
  if (d.includes('blocked')) return 'el cliente bloqueó el bot. No se envió.';
  if (d.includes('deactivated')) return 'la cuenta de Telegram del cliente fue eliminada. No se envió.';
  if (d.includes("can't parse entities"))
    return `el formato HTML no es válido (${description}). No se envió.`;
  return description;
}

const webhookInfoSchema = z.object({
  modo: z.enum(['webhook', 'long_polling']),
  url: z.string(),
  pendientes: z.number(),
  ultimo_error: z.object({ fecha: z.string(), mensaje: z.string() }).nullable(),
  max_connections: z.number().nullable(),
  allowed_updates: z.array(z.string()).nullable(),
  /** Whether this service is running its long-polling loop right now. */
  long_polling_activo: z.boolean(),
});

async function webhookInfo(bot: BotService) {
  const info = await callTelegram(() => bot.api.getWebhookInfo());
  bot.delivery.observe(info.url ?? '');
  return {
    long_polling_activo: bot.delivery.isPolling(),
    modo: info.url ? ('webhook' as const) : ('long_polling' as const),
    url: info.url ?? '',
    pendientes: info.pending_update_count,
    ultimo_error: info.last_error_date
      ? {
          fecha: new Date(info.last_error_date * 1000).toISOString(),
          mensaje: info.last_error_message ?? '',
        }
      : null,
    max_connections: info.max_connections ?? null,
    allowed_updates: info.allowed_updates ?? null,
  };
}

const periodSchema = z.object({
  desde: z.string(),
  chats_nuevos: z.number(),
  vinculaciones: z.number(),
  vinculaciones_verificadas: z.number(),
  vinculaciones_por_invitacion: z.number(),
  bajas: z.number(),
  bloqueos: z.number(),
  desbloqueos: z.number(),
  intentos_fallidos: z.number(),
  invitaciones_creadas: z.number(),
  invitaciones_abiertas: z.number(),
  invitaciones_usadas: z.number(),
  vinculados_al_cierre: z.number(),
  porcentaje_adopcion_al_cierre: z.number(),
});

export const telegramRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/notificaciones/telegram/estadisticas/',
    {
      schema: {
        tags,
        summary:
          'Estadísticas de Telegram: vinculados, verificados, bloqueados, adopción y embudo de invitaciones en el tiempo',
        description:
          '`serie` cuenta por día, semana o mes (hora local): chats nuevos, vinculaciones (verificadas, por ' +
          'invitación), bajas, bloqueos, intentos fallidos, y las invitaciones creadas en el período con ' +
          'cuántas de ellas se abrieron y se usaron. `vinculados_al_cierre` cuenta los clientes vinculados ' +
          'hoy cuyo vínculo ya existía al cierre del período.',
        querystring: z.object({
          agrupar: z.enum(['dia', 'semana', 'mes']).default('semana'),
          periodos: z.coerce.number().int().min(1).max(120).default(12),
        }),
        response: {
          200: z.object({
            total_clientes: z.number(),
            vinculados: z.number(),
            sin_vincular: z.number(),
            verificados: z.number(),
            sin_verificar: z.number(),
            bloqueados: z.number(),
            porcentaje_adopcion: z.number(),
            porcentaje_verificados: z.number(),
            chats_iniciados: z.number(),
            invitaciones: z.object({
              creadas: z.number(),
              abiertas: z.number(),
              usadas: z.number(),
              activas: z.number(),
              vencidas: z.number(),
              revocadas: z.number(),
              tasa_apertura: z.number(),
              tasa_vinculacion: z.number(),
            }),
            embudo: z.object({ invitados: z.number(), abrieron_el_bot: z.number(), vinculados: z.number() }),
            agrupar: z.enum(['dia', 'semana', 'mes']),
            serie: z.array(periodSchema),
            /** Cédula lookups in the bot over the last hour against CEDULA_LOOKUPS_PER_HOUR (issue 12 §1). */
            consultas_cedula: z.object({
              ultima_hora: z.number(),
              presupuesto_por_hora: z.number(),
              rechazadas_ultima_hora: z.number(),
              presupuesto_agotado: z.boolean(),
              ultimo_rechazo: z.string().nullable(),
            }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = deps.clock.now();
      const totals = await telegramTotals(deps.db);
      const invitaciones = await invitationTotals(deps.db, now);
      const chats = await deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM bot_chats');
      const serie = await telegramSeries(deps.db, {
        grouping: request.query.agrupar,
        periods: request.query.periodos,
        now,
        timeZone: deps.config.timeZone,
        totalClients: totals.total_clientes,
      });
      return {
        ...totals,
        chats_iniciados: chats.rows[0]?.n ?? 0,
        invitaciones,
        embudo: {
          invitados: invitaciones.creadas,
          abrieron_el_bot: invitaciones.abiertas,
          vinculados: invitaciones.usadas,
        },
        agrupar: request.query.agrupar,
        serie,
        consultas_cedula: await lookupSummary(deps.db, now, deps.config.bot.cedulaLookupsPerHour),
      };
    },
  );

  // The webhook takes its body raw: a body that is not JSON is answered 200 (logged), never 400,
  // so Telegram does not keep retrying it. Its own scope, so the JSON parser elsewhere stays.
  await app.register(async (hook) => {
    hook.removeAllContentTypeParsers();
    hook.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
      done(null, body);
    });
    hook.post(
      WEBHOOK_PATH,
      {
        config: { public: true },
        schema: {
          tags,
          summary: 'Webhook de Telegram (público, con secreto)',
          description:
            'Telegram entrega aquí cada actualización con el encabezado X-Telegram-Bot-Api-Secret-Token. ' +
            'Responde 200 en cuanto la actualización queda registrada (una vez por update_id) y la atiende ' +
            'después; responde 503 solo si no pudo registrarla, para que Telegram la reenvíe.',
          security: [],
          response: {
            200: z.object({ ok: z.literal(true), resultado: z.enum(['aceptado', 'duplicado', 'ignorado']) }),
            401: errorSchema,
            503: errorSchema,
          },
        },
      },
      async (request) => {
        const secret = deps.bot?.webhookSecret ?? deps.config.telegram.webhookSecret;
        const given = request.headers['x-telegram-bot-api-secret-token'];
        if (!secret || !secretEquals(typeof given === 'string' ? given : undefined, secret)) {
          throw new AppError('WEBHOOK_SECRETO_INVALIDO');
        }
        const bot = requireBot(deps);
        const result = await acceptWebhookBody(bot, request.body as Buffer | undefined, request.log);
        if (result.status === 503) {
          throw new AppError(
            result.reason === 'deteniendo' ? 'SERVICIO_DETENIENDOSE' : 'BASE_DE_DATOS_NO_DISPONIBLE',
          );
        }
        return { ok: true as const, resultado: result.outcome };
      },
    );
  });

  app.post(
    '/api/notificaciones/telegram/configurar-webhook/',
    {
      schema: {
        tags,
        summary: 'Configurar el webhook de Telegram (con el secreto del servicio)',
        description:
          'Sin `webhook_url` usa PUBLIC_URL + la ruta del webhook. La URL debe ser https://. ' +
          '`drop_pending_updates` descarta lo que Telegram tenga pendiente.',
        body: z
          .object({
            webhook_url: z.string().trim().min(1).max(2048).optional(),
            drop_pending_updates: z.boolean().default(false),
            max_connections: z.number().int().min(1).max(100).default(40),
          })
          .default({ drop_pending_updates: false, max_connections: 40 }),
        response: {
          200: z.object({
            ok: z.literal(true),
            webhook_url: z.string(),
            descripcion: z.string(),
            info: webhookInfoSchema,
          }),
          ...errorResponses,
          ...telegramErrors,
        },
      },
    },
    async (request) => {
      const bot = requireBot(deps);
      // The sandbox bot lives on 127.0.0.1: a webhook on the Internet would leave it deaf.
      if (deps.sandbox) throw new AppError('WEBHOOK_EN_SANDBOX');
      const body = request.body;
      const publicUrl = deps.config.telegram.publicUrl;
      const url = body.webhook_url ?? (publicUrl ? publicUrl + WEBHOOK_PATH : undefined);
      if (!url) {
        throw new AppError('VALIDACION', 'Indique "webhook_url" (o defina PUBLIC_URL en la configuración).');
      }
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new AppError('VALIDACION', `"webhook_url" no es una URL válida: ${url.slice(0, 200)}`);
      }
      if (parsed.protocol !== 'https:') {
        throw new AppError(
          'WEBHOOK_URL_NO_HTTPS',
          `La URL del webhook debe empezar con https:// (Telegram solo entrega por HTTPS); se recibió ${parsed.protocol}//…`,
        );
      }
      const secret = bot.webhookSecret;
      if (!secret)
        throw new AppError('BOT_NO_CONFIGURADO', 'Falta el secreto del webhook (TELEGRAM_WEBHOOK_SECRET).');
      const wasPolling = bot.delivery.isPolling();
      await callTelegram(() =>
        bot.delivery.useWebhook(parsed.href, {
          secret,
          allowedUpdates: ALLOWED_UPDATES,
          dropPendingUpdates: body.drop_pending_updates,
          maxConnections: body.max_connections,
        }),
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'telegram.configurar_webhook',
        detalles: { url: parsed.origin + parsed.pathname, drop_pending_updates: body.drop_pending_updates },
      });
      return {
        ok: true as const,
        webhook_url: parsed.href,
        descripcion: wasPolling
          ? 'Webhook configurado con el secreto del servicio. El bot dejó el long polling: desde ahora ' +
            'Telegram entrega las actualizaciones en esa URL (para volver, DELETE en esta misma ruta).'
          : 'Webhook configurado con el secreto del servicio.',
        info: await webhookInfo(bot),
      };
    },
  );

  app.delete(
    '/api/notificaciones/telegram/configurar-webhook/',
    {
      schema: {
        tags,
        summary: 'Quitar el webhook (deleteWebhook) y volver a long polling',
        description:
          'Telegram deja de entregar en la URL del webhook y el servicio vuelve a consultar por long polling. ' +
          '`drop_pending_updates=true` (en la consulta) descarta lo que Telegram tenga pendiente.',
        querystring: z.object({ drop_pending_updates: z.enum(['true', 'false']).default('false') }),
        response: {
          200: z.object({ ok: z.literal(true), descripcion: z.string(), info: webhookInfoSchema }),
          ...errorResponses,
          ...telegramErrors,
        },
      },
    },
    async (request) => {
      const bot = requireBot(deps);
      const drop = request.query.drop_pending_updates === 'true';
      await callTelegram(() => bot.delivery.usePolling({ dropPendingUpdates: drop }));
      await audit(deps.db, {
        actor: request.actor,
        accion: 'telegram.quitar_webhook',
        detalles: { drop_pending_updates: drop },
      });
      return {
        ok: true as const,
        descripcion: bot.delivery.isPolling()
          ? 'Webhook eliminado: el bot volvió a long polling.'
          : 'Webhook eliminado: Telegram ya no entrega por webhook (long polling empieza al arrancar el bot).',
        info: await webhookInfo(bot),
      };
    },
  );

  app.get(
    '/api/notificaciones/telegram/configurar-webhook/',
    {
      schema: {
        tags,
        summary: 'Estado del webhook en Telegram (getWebhookInfo): URL, pendientes, último error',
        response: { 200: webhookInfoSchema, ...errorResponses, ...telegramErrors },
      },
    },
    async () => webhookInfo(requireBot(deps)),
  );

  app.post(
    '/api/notificaciones/telegram/test/',
    {
      schema: {
        tags,
        summary:
          'Enviar un mensaje de prueba por Telegram, compuesto como el envío real, y ver la respuesta de Telegram',
        description:
          'Elija al cliente con `cliente_id` (se usa su chat y sus datos) o indique un `chat_id` (si ese chat es de un ' +
          'cliente, se usan sus datos). `mensaje` es texto del personal en HTML de Telegram con variables ' +
          '({nombre}, {plan}…); con `plantilla` se usa la plantilla guardada de ese tipo con `mensaje` como su ' +
          '{mensaje}; con solo `tipo` se envía la plantilla de ese tipo. Se compone por la misma puerta que el ' +
          'envío real y se responde lo que Telegram contestó: un chat que no existe es un error, no "enviado".',
        body: z
          .object({
            chat_id: chatIdSchema.optional(),
            cliente_id: z.coerce.number().int().positive().optional(),
            mensaje: z.string().trim().min(1).max(20_000).optional(),
            tipo: z.enum(notificationTypes).optional(),
            plantilla: z.enum(notificationTypes).optional(),
          })
          .refine((b) => b.chat_id !== undefined || b.cliente_id !== undefined, {
            message: 'indique "cliente_id" (o "chat_id")',
          })
          .refine((b) => b.mensaje !== undefined || b.tipo !== undefined || b.plantilla !== undefined, {
            message: 'indique "mensaje", "tipo" o "plantilla"',
          }),
        response: {
          200: z.object({
            ok: z.literal(true),
            cliente_id: z.number().nullable(),
            texto: z.string(),
            respuesta: z.object({ message_id: z.number(), chat_id: z.number(), fecha: z.string() }),
          }),
          ...errorResponses,
          ...telegramErrors,
        },
      },
    },
    async (request) => {
      const bot = requireBot(deps);
      const b = request.body;
      const settings = await deps.settings!.engine();
      const today = localDate(deps.clock.now(), deps.config.timeZone);
      let clientId = b.cliente_id ?? null;
      if (clientId === null) {
        const linked = await deps.db.query<{ id: number }>('SELECT id FROM clients WHERE chat_id = $1', [
          b.chat_id,
        ]);
        clientId = linked.rows[0]?.id ?? null;
      }
      const client =
        clientId === null
          ? undefined
          : (await loadComposeClients(deps.db, [clientId], settings, today)).get(clientId);
      if (clientId !== null && !client)
        throw new AppError('NO_ENCONTRADO', `No existe el cliente ${clientId}.`);
      const chatId = b.chat_id ?? client?.chat_id ?? null;
      if (chatId === null) throw new AppError('CLIENTE_SIN_TELEGRAM');
      const tipo = b.plantilla ?? b.tipo ?? 'manual';
      const composed = compose(
        {
          tipo,
          ...(b.mensaje !== undefined && { texto: b.mensaje }),
          ...(b.plantilla !== undefined && { plantilla: b.plantilla }),
          ...(tipo === 'pago_recibido' && { datos: { monto: client?.precio ?? 0, fecha: today } }),
        },
        client ?? {
          nombre: null,
          plan_id: null,
          plan: null,
          precio: null,
          velocidad: null,
          vencimiento: null,
        },
        { templates: await loadTemplates(deps.db), today, settings },
      );
      if (!composed.ok) throw composeError(composed);
      if (composed.channel !== 'telegram') throw new Error('unreachable');
      const sent = await callTelegram(() =>
        bot.api.sendMessage(chatId, composed.text, telegramMessageOptions({ html: composed.html })),
      );
      await audit(deps.db, {
        actor: request.actor,
        accion: 'telegram.test',
        detalles: { chat_id: chatId, cliente_id: clientId },
      });
      return {
        ok: true as const,
        cliente_id: clientId,
        texto: composed.text,
        respuesta: {
          message_id: sent.message_id,
          chat_id: sent.chat.id,
          fecha: new Date(sent.date * 1000).toISOString(),
        },
      };
    },
  );
};
