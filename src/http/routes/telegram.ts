import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { secretEquals } from '../auth.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['telegram'];

export const telegramRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/notificaciones/telegram/estadisticas/',
    {
      schema: {
        tags,
        summary: 'Estadísticas de Telegram: vinculados, sin vincular, verificados, bloqueados, adopción',
        response: {
          200: z.object({
            total_clientes: z.number(),
            vinculados: z.number(),
            sin_vincular: z.number(),
            verificados: z.number(),
            bloqueados: z.number(),
            porcentaje_adopcion: z.number(),
          }),
        },
      },
    },
    async () => {
      const { rows } = await deps.db.query<{
        total: number;
        vinculados: number;
        verificados: number;
        bloqueados: number;
      }>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE chat_id IS NOT NULL)::int AS vinculados,
                count(*) FILTER (WHERE chat_id IS NOT NULL AND link_verified)::int AS verificados,
                count(*) FILTER (WHERE chat_id IS NOT NULL AND telegram_blocked)::int AS bloqueados
           FROM clients`,
      );
      const r = rows[0]!;
      return {
        total_clientes: r.total,
        vinculados: r.vinculados,
        sin_vincular: r.total - r.vinculados,
        verificados: r.verificados,
        bloqueados: r.bloqueados,
        porcentaje_adopcion: r.total ? Math.round((r.vinculados / r.total) * 10000) / 100 : 0,
      };
    },
  );

  app.post(
    '/api/notificaciones/telegram/webhook/',
    {
      config: { public: true },
      schema: { tags, summary: 'Webhook de Telegram (público, con secreto)', security: [] },
    },
    async (request) => {
      const secret = deps.config.telegram.webhookSecret;
      const given = request.headers['x-telegram-bot-api-secret-token'];
      if (!secret || !secretEquals(typeof given === 'string' ? given : undefined, secret)) {
        throw new AppError('WEBHOOK_SECRETO_INVALIDO');
      }
      throw new AppError('NO_IMPLEMENTADO', 'El bot de Telegram aún no está disponible en esta versión.');
    },
  );

  for (const [path, summary] of [
    ['/api/notificaciones/telegram/configurar-webhook/', 'Configurar el webhook de Telegram'],
    ['/api/notificaciones/telegram/test/', 'Enviar un mensaje de prueba'],
  ] as const) {
    app.post(path, { schema: { tags, summary, response: { 501: errorResponses[401] } } }, async () => {
      throw new AppError('NO_IMPLEMENTADO', `${summary}: aún no está disponible en esta versión.`);
    });
  }
};
