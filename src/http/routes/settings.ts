import { Cron } from 'croner';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { engineJobs, isInSendWindow, toEngineSettings } from '../../notifications/index.js';
import type { ApiDeps } from '../types.js';

/** The next time a daily 'HH:MM' (local time of `timeZone`) comes after `now`. */
function nextDaily(hhmm: string, timeZone: string, now: Date): Date | null {
  const [h, m] = hhmm.split(':').map(Number);
  // 24:00 is midnight.
  return new Cron(`${m} ${(h ?? 0) % 24} * * *`, { timezone: timeZone, paused: true }).nextRun(now);
}

/** Read-only data the admin page's filters and settings page need (behind the admin token). */
export const adminDataRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.get(
    '/api/sectores',
    {
      schema: {
        tags: ['clientes'],
        summary: 'Sectores con clientes (para filtros y campañas), con cuántos clientes tiene cada uno',
        response: {
          200: z.object({ sectores: z.array(z.object({ nombre: z.string(), clientes: z.number() })) }),
        },
      },
    },
    async () => {
      // Sectors compare case-insensitively everywhere (filters, campaigns): group the same way.
      const { rows } = await deps.db.query<{ nombre: string; clientes: number }>(
        `SELECT min(sector) AS nombre, count(*)::int AS clientes
           FROM clients WHERE sector IS NOT NULL AND sector <> ''
          GROUP BY lower(sector) ORDER BY lower(min(sector))`,
      );
      return { sectores: rows };
    },
  );

  const jobs = engineJobs({
    settings: toEngineSettings(deps.config),
    dailyRunAt: deps.config.engine.dailyRunAt,
  }).map((j) => ({ name: j.name, dailyAt: j.dailyAt, internal: j.internal === true }));

  app.get(
    '/api/ajustes',
    {
      schema: {
        tags: ['ajustes'],
        summary:
          'Ajustes en uso (solo lectura: se cambian con variables de entorno): envío, ciclo de cobro, ' +
          'planificador con sus próximas ejecuciones, datos de la empresa, modo de Telegram',
        response: {
          200: z.object({
            ahora: z
              .string()
              .describe('La hora del servicio (ISO 8601); la página la usa en lugar de la del navegador'),
            modo_telegram: z.enum(['sandbox', 'webhook', 'long_polling', 'sin_bot']),
            bot: z.string().nullable(),
            zona_horaria: z.string(),
            envio: z.object({
              ventana: z.object({ inicio: z.string(), fin: z.string() }),
              en_ventana: z.boolean().describe('Ahora es horario de envío: los avisos no urgentes salen ya'),
              proxima_apertura: z
                .string()
                .nullable()
                .describe(
                  'Fuera del horario de envío: cuándo vuelve a abrir (ISO 8601); los avisos no urgentes esperan hasta entonces. null dentro del horario',
                ),
              mensajes_por_segundo: z.number(),
              por_chat_por_segundo: z.number(),
              concurrencia: z.number(),
              intentos_maximos: z.number(),
              envio_pagado: z.boolean(),
            }),
            ciclo: z.object({
              dias: z.number(),
              recordatorio_dias_antes: z.number(),
              vencido_repetir_cada_dias: z.number(),
              vencido_maximo_avisos: z.number(),
              avisar_suspendidos: z.boolean(),
              confirmar_pago: z.boolean(),
            }),
            planificador: z.array(
              z.object({
                tarea: z.string(),
                interna: z
                  .boolean()
                  .describe('Mantenimiento interno del servicio (el personal no actúa sobre ella)'),
                hora: z.string(),
                proxima: z.string().nullable(),
                ultima: z
                  .object({ fecha: z.string(), resultado: z.record(z.string(), z.unknown()) })
                  .nullable(),
              }),
            ),
            empresa: z.object({
              nombre: z.string(),
              telefono: z.string(),
              whatsapp: z.string(),
              email: z.string(),
              horario: z.string(),
              direccion: z.string(),
            }),
            invitaciones_dias: z.number(),
          }),
        },
      },
    },
    async () => {
      const c = deps.config;
      const now = deps.clock.now();
      const { rows } = await deps.db.query<{
        job: string;
        finished_at: Date;
        resultado: Record<string, unknown>;
      }>(`SELECT DISTINCT ON (job) job, finished_at, resultado FROM job_runs ORDER BY job, finished_at DESC`);
      const last = new Map(rows.map((r) => [r.job, r]));
      const modo = deps.sandbox
        ? ('sandbox' as const)
        : !c.telegram.token
          ? ('sin_bot' as const)
          : (deps.bot?.delivery.mode() ?? (c.telegram.publicUrl ? 'webhook' : 'polling')) === 'webhook'
            ? ('webhook' as const)
            : ('long_polling' as const);
      const window = c.engine.sendWindow;
      const open = isInSendWindow(now, window, c.timeZone);
      return {
        ahora: now.toISOString(),
        modo_telegram: modo,
        bot: deps.bot?.username() ?? deps.sandbox?.bot.username ?? null,
        zona_horaria: c.timeZone,
        envio: {
          ventana: { inicio: window.start, fin: window.end },
          en_ventana: open,
          proxima_apertura: open ? null : (nextDaily(window.start, c.timeZone, now)?.toISOString() ?? null),
          mensajes_por_segundo: c.engine.ratePerSecond,
          por_chat_por_segundo: c.engine.perChatPerSecond,
          concurrencia: c.engine.concurrency,
          intentos_maximos: c.engine.maxAttempts,
          envio_pagado: c.engine.paidBroadcast,
        },
        ciclo: {
          dias: c.engine.cycleDays,
          recordatorio_dias_antes: c.engine.reminderDaysBefore,
          vencido_repetir_cada_dias: c.engine.overdueRepeatDays,
          vencido_maximo_avisos: c.engine.overdueMaxNotices,
          avisar_suspendidos: c.engine.notifySuspended,
          confirmar_pago: c.engine.paymentConfirmation,
        },
        planificador: jobs.map((j) => {
          const next = nextDaily(j.dailyAt, c.timeZone, now);
          const l = last.get(j.name);
          return {
            tarea: j.name,
            interna: j.internal,
            hora: j.dailyAt,
            proxima: next?.toISOString() ?? null,
            ultima: l ? { fecha: l.finished_at.toISOString(), resultado: l.resultado } : null,
          };
        }),
        empresa: c.company,
        invitaciones_dias: c.inviteTtlDays,
      };
    },
  );
};
