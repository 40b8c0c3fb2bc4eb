import { Cron } from 'croner';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { engineJobs, isInSendWindow } from '../../notifications/index.js';
import { editableSchema, missingSettings, settingsPatchSchema } from '../../settings/index.js';
import { audit } from '../audit.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

/** The next time a daily 'HH:MM' (local time of `timeZone`) comes after `now`. */
function nextDaily(hhmm: string, timeZone: string, now: Date): Date | null {
  const [h, m] = hhmm.split(':').map(Number);
  // 24:00 is midnight.
  return new Cron(`${m} ${(h ?? 0) % 24} * * *`, { timezone: timeZone, paused: true }).nextRun(now);
}

/** Ajustes: what is in effect, what staff may change (PATCH) and what still comes from .env. */
export const ajustesRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const tags = ['ajustes'];
  const settings = deps.settings!;

  const response = z.object({
    ahora: z
      .string()
      .describe('La hora del servicio (ISO 8601); la página la usa en lugar de la del navegador'),
    modo_telegram: z.enum(['sandbox', 'webhook', 'long_polling', 'sin_bot']),
    bot: z.string().nullable(),
    zona_horaria: z.string(),
    empresa: editableSchema.shape.empresa,
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
    ciclo: editableSchema.shape.ciclo.extend({
      avisar_suspendidos: z.boolean(),
      confirmar_pago: z.boolean(),
    }),
    planificador: z.array(
      z.object({
        tarea: z.string(),
        interna: z.boolean().describe('Mantenimiento interno del servicio (el personal no actúa sobre ella)'),
        hora: z.string(),
        proxima: z.string().nullable(),
        ultima: z.object({ fecha: z.string(), resultado: z.record(z.string(), z.unknown()) }).nullable(),
      }),
    ),
    hora_generacion: z.string(),
    sesion: editableSchema.shape.sesion,
    respaldo: editableSchema.shape.respaldo,
    invitaciones_dias: z.number(),
    /** What a first run still lacks (Resumen's checklist). */
    pendientes: z.array(z.object({ campo: z.string(), mensaje: z.string() })),
  });

  async function current() {
    const c = deps.config;
    const s = await settings.get();
    const now = deps.clock.now();
    const { rows } = await deps.db.query<{
      job: string;
      finished_at: Date;
      resultado: Record<string, unknown>;
    }>('SELECT DISTINCT ON (job) job, finished_at, resultado FROM job_runs ORDER BY job, finished_at DESC');
    const last = new Map(rows.map((r) => [r.job, r]));
    const jobs = engineJobs({
      settings: await settings.engine(),
      dailyRunAt: s.planificador.hora_generacion,
    });
    const modo = deps.sandbox
      ? ('sandbox' as const)
      : !c.telegram.token
        ? ('sin_bot' as const)
        : (deps.bot?.delivery.mode() ?? (c.telegram.publicUrl ? 'webhook' : 'polling')) === 'webhook'
          ? ('webhook' as const)
          : ('long_polling' as const);
    const window = { start: s.envio.ventana.inicio, end: s.envio.ventana.fin };
    const open = isInSendWindow(now, window, c.timeZone);
    return {
      ahora: now.toISOString(),
      modo_telegram: modo,
      bot: deps.bot?.username() ?? deps.sandbox?.bot.username ?? null,
      zona_horaria: c.timeZone,
      empresa: s.empresa,
      envio: {
        ventana: s.envio.ventana,
        en_ventana: open,
        proxima_apertura: open ? null : (nextDaily(window.start, c.timeZone, now)?.toISOString() ?? null),
        mensajes_por_segundo: c.engine.ratePerSecond,
        por_chat_por_segundo: c.engine.perChatPerSecond,
        concurrencia: c.engine.concurrency,
        intentos_maximos: c.engine.maxAttempts,
        envio_pagado: c.engine.paidBroadcast,
      },
      ciclo: {
        ...s.ciclo,
        avisar_suspendidos: c.engine.notifySuspended,
        confirmar_pago: c.engine.paymentConfirmation,
      },
      planificador: jobs.map((j) => {
        const next = nextDaily(j.dailyAt, c.timeZone, now);
        const l = last.get(j.name);
        return {
          tarea: j.name,
          interna: j.internal === true,
          hora: j.dailyAt,
          proxima: next?.toISOString() ?? null,
          ultima: l ? { fecha: l.finished_at.toISOString(), resultado: l.resultado } : null,
        };
      }),
      hora_generacion: s.planificador.hora_generacion,
      sesion: s.sesion,
      respaldo: s.respaldo,
      invitaciones_dias: c.inviteTtlDays,
      pendientes: missingSettings(s),
    };
  }

  app.get(
    '/api/ajustes',
    {
      schema: {
        tags,
        summary:
          'Ajustes en uso: datos de la empresa y cuentas bancarias, ventana de envío, ciclo de cobro, ' +
          'hora de la generación diaria, sesiones; y lo que viene de .env (Telegram, ritmo de envío)',
        response: { 200: response, ...errorResponses },
      },
    },
    current,
  );

  app.get(
    '/api/ajustes/pendientes',
    {
      schema: {
        tags,
        summary: 'Lista de primeros pasos: qué datos de la empresa faltan (para el Resumen)',
        response: {
          200: z.object({ pendientes: z.array(z.object({ campo: z.string(), mensaje: z.string() })) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ pendientes: missingSettings(await settings.get()) }),
  );

  app.patch(
    '/api/ajustes',
    {
      schema: {
        tags,
        summary: 'Cambiar ajustes (sin reiniciar; queda en la auditoría)',
        description:
          'Envíe solo lo que cambia, por ejemplo {"envio": {"ventana": {"inicio": "09:00", "fin": "19:00"}}}. ' +
          'Las cuentas bancarias se reemplazan como lista completa.',
        body: settingsPatchSchema,
        response: { 200: response, ...errorResponses },
      },
    },
    async (request) => {
      await deps.db.transaction(async (tx) => {
        const changes = await settings.update(tx, request.body);
        if (changes.length) {
          await audit(tx, {
            actor: request.actor,
            accion: 'ajustes.cambiar',
            objeto: 'ajustes',
            detalles: { cambios: changes },
          });
        }
      });
      settings.invalidate();
      return current();
    },
  );
};
