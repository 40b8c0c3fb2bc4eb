import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { ingestSmsReport, toDeliveryState } from '../../sms/index.js';
import { secretEquals } from '../auth.js';
import { errorResponses } from '../schemas.js';
import type { ApiDeps } from '../types.js';

const tags = ['sms'];

function field(obj: Record<string, unknown>, names: string[]): string | undefined {
  for (const n of names) {
    const v = obj[n];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

/**
 * POST /api/sms/estado: the SMS gateway's delivery reports (optional; SMS_DLR_SECRET). Public,
 * with the shared secret in `X-Sms-Secret` (or `?secreto=` for gateways that only take a URL),
 * compared in constant time. Fields from the query, a form or JSON: `id` (our `{id}`), `estado`
 * (entregado/fallido, or the gateway's words: delivered, DELIVRD, undelivered, failed…), optional
 * `error`. Twilio's status callback works with `?id={id}` in its StatusCallback URL.
 */
export const smsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.post(
    '/api/sms/estado',
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Reportes de entrega de la pasarela SMS (público, con secreto compartido)',
        description:
          'La pasarela avisa aquí si un SMS se entregó o falló. Secreto en el encabezado X-Sms-Secret (o ' +
          '?secreto=). Campos (consulta, formulario o JSON): id (el {id} que se le envió), estado (entregado, ' +
          'fallido o las palabras de la pasarela: delivered, DELIVRD, undelivered, failed…), error (opcional).',
        security: [],
        querystring: z.record(z.string(), z.unknown()),
        body: z.record(z.string(), z.unknown()).optional(),
        response: {
          200: z.object({
            ok: z.literal(true),
            resultado: z.enum(['aplicado', 'repetido', 'ignorado', 'pendiente']),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const secret = deps.config.sms?.dlrSecret;
      if (!secret) {
        throw new AppError(
          'NO_ENCONTRADO',
          'Los reportes de entrega de SMS no están activados (SMS_DLR_SECRET).',
        );
      }
      const query = request.query as Record<string, unknown>;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const header = request.headers['x-sms-secret'];
      const given =
        typeof header === 'string' ? header : (field(query, ['secreto']) ?? field(body, ['secreto']));
      if (!secretEquals(given, secret)) throw new AppError('SMS_SECRETO_INVALIDO');
      const all = { ...query, ...body };
      const id = field(all, ['id', 'ref', 'referencia']);
      const word = field(all, ['estado', 'status', 'MessageStatus', 'stat', 'dlr_status']);
      if (!id || !word) {
        throw new AppError('VALIDACION', 'Faltan "id" o "estado" en el reporte de entrega.', [
          ...(!id ? [{ campo: 'id', mensaje: 'requerido' }] : []),
          ...(!word ? [{ campo: 'estado', mensaje: 'requerido' }] : []),
        ]);
      }
      const estado = toDeliveryState(word);
      if (!estado) return { ok: true as const, resultado: 'ignorado' as const };
      const error = field(all, ['error', 'ErrorMessage', 'err', 'motivo']) ?? null;
      const resultado = await ingestSmsReport(
        { db: deps.db, clock: deps.clock, settleAsyncFailures: deps.settleAsyncFailures },
        { id, estado, error },
      );
      return { ok: true as const, resultado };
    },
  );
};
