import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { ingestInboundSms, ingestSmsReport, toDeliveryState } from '../../sms/index.js';
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

  /**
   * POST /api/sms/entrante: SMS clients send to the provider's number, forwarded by the gateway
   * (optional; same SMS_DLR_SECRET). The secret (X-Sms-Secret or ?secreto=) is checked in constant
   * time before the body is read. Fields (query, form or JSON): `from` (From, msisdn, remitente) and
   * `text` (Body, message, mensaje, texto). SALIR / STOP / BAJA records the client's SMS opt-out in
   * the consent ledger; anything else, or a number we do not know, is answered 200 and logged.
   */
  app.post(
    '/api/sms/entrante',
    {
      config: { public: true },
      onRequest: async (request) => {
        const secret = deps.config.sms?.dlrSecret;
        if (!secret) {
          throw new AppError('NO_ENCONTRADO', 'Los SMS entrantes no están activados (SMS_DLR_SECRET).');
        }
        const header = request.headers['x-sms-secret'];
        const query = new URLSearchParams(request.url.split('?')[1] ?? '');
        const given = typeof header === 'string' ? header : (query.get('secreto') ?? undefined);
        if (!secretEquals(given, secret)) throw new AppError('SMS_SECRETO_INVALIDO');
      },
      schema: {
        tags,
        summary: 'SMS entrantes de la pasarela (público, con secreto compartido): SALIR da de baja el SMS',
        description:
          'La pasarela reenvía aquí los SMS que los clientes escriben al número del proveedor. Secreto en el ' +
          'encabezado X-Sms-Secret (o ?secreto=), el mismo SMS_DLR_SECRET de los reportes de entrega. Campos ' +
          '(consulta, formulario o JSON): from (o From, msisdn, remitente) y text (o Body, message, mensaje, ' +
          'texto). «SALIR», «STOP» o «BAJA» registran en los consentimientos que el cliente retira el SMS ' +
          '(avisos y ofertas). Un número desconocido o cualquier otro texto se responde 200 sin cambios.',
        security: [],
        querystring: z.record(z.string(), z.unknown()),
        body: z.record(z.string(), z.unknown()).optional(),
        response: {
          200: z.object({
            ok: z.literal(true),
            resultado: z.enum(['baja', 'ignorado', 'desconocido']),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const all = {
        ...(request.query as Record<string, unknown>),
        ...((request.body ?? {}) as Record<string, unknown>),
      };
      const from = field(all, ['from', 'From', 'msisdn', 'remitente', 'de']);
      const text = field(all, ['text', 'Body', 'message', 'mensaje', 'texto']);
      if (!from || text === undefined) {
        throw new AppError('VALIDACION', 'Faltan "from" o "text" en el SMS entrante.', [
          ...(!from ? [{ campo: 'from', mensaje: 'requerido' }] : []),
          ...(text === undefined ? [{ campo: 'text', mensaje: 'requerido' }] : []),
        ]);
      }
      const r = await ingestInboundSms({ db: deps.db, clock: deps.clock }, { from, text });
      const masked = `…${from.replace(/\D/g, '').slice(-3)}`;
      if (r.resultado === 'baja') {
        request.log.info({ clientes: r.clientIds, remitente: masked }, 'SMS SALIR: baja del SMS registrada');
      } else if (r.resultado === 'desconocido') {
        request.log.info(
          { remitente: masked },
          'SMS SALIR de un número que no es de ningún cliente: sin cambios',
        );
      } else {
        request.log.info({ remitente: masked }, 'SMS entrante sin palabra de baja: sin cambios');
      }
      return { ok: true as const, resultado: r.resultado };
    },
  );
};
