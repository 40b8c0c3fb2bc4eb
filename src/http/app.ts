import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminPage } from '../admin/index.js';
import { AppError, errorRegistry, toErrorBody } from '../errors/index.js';
import { createSettingsProvider, type SettingsProvider } from '../settings/index.js';
import { registerAccess } from './access.js';

import { registerErrorHandler } from './error-handler.js';
import { ajustesRoutes } from './routes/ajustes.js';
import { alertsRoutes } from './routes/alerts.js';
import { auditoriaRoutes } from './routes/auditoria.js';
import { campaignsRoutes } from './routes/campaigns.js';
import { channelsRoutes } from './routes/channels.js';
import { clientsRoutes } from './routes/clients.js';
import { comprobantesRoutes } from './routes/comprobantes.js';
import { docsRoutes } from './routes/docs.js';
import { emailRoutes } from './routes/email.js';
import { healthRoutes } from './routes/health.js';
import { invitationsRoutes } from './routes/invitations.js';
import { mensajesRoutes } from './routes/mensajes.js';
import { metricsRoutes } from './routes/metrics.js';
import { notificacionesRoutes } from './routes/notificaciones.js';
import { operationsRoutes } from './routes/operations.js';
import { plansRoutes } from './routes/plans.js';
import { sandboxRoutes } from './routes/sandbox.js';
import { sesionRoutes } from './routes/sesion.js';
import { adminDataRoutes } from './routes/settings.js';
import { smsRoutes } from './routes/sms.js';
import { telegramRoutes } from './routes/telegram.js';
import { templatesRoutes } from './routes/templates.js';
import { tokensRoutes } from './routes/tokens.js';
import { usuariosRoutes } from './routes/usuarios.js';
import { vocabularyRoutes } from './routes/vocabulary.js';
import { whatsappRoutes } from './routes/whatsapp.js';
import { whatsappStatusRoutes } from './routes/whatsapp-status.js';
import type { ApiDeps, App } from './types.js';

z.config(z.locales.es());

export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteEntry[];
  }
}

/** Path of the first string holding a NUL character ('a.b.0'), or null. Strings as a whole are '(cuerpo)'. */
export function findNul(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return value.includes('\0') ? path || '(cuerpo)' : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\0')) return path ? `${path}.${k}` : k;
    const found = findNul(v, path ? `${path}.${k}` : k);
    if (found !== null) return found;
  }
  return null;
}

/** Node refused the request before Fastify saw it (bad request line, raw non-ASCII in the URL…). */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  const appError =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError('SOLICITUD_INVALIDA', 'Los encabezados de la solicitud son demasiado grandes.')
      : new AppError(
          'SOLICITUD_INVALIDA',
          'La dirección de la solicitud no es válida: codifique las letras con tilde, la ñ y los espacios ' +
            '(por ejemplo ?buscar=%C3%B1 para "ñ"; curl lo hace con --data-urlencode y -G).',
        );
  const body = JSON.stringify(toErrorBody(appError));
  socket.end(
    `HTTP/1.1 ${appError.status} Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

export interface BuildApiOptions {
  /** Largest accepted body in bytes (CSV imports are the largest). */
  bodyLimit?: number;
}

/**
 * Builds the HTTP API (not listening). Registration order is the architecture:
 * error boundary → auth → OpenAPI → routes.
 */
export async function buildApi(given: ApiDeps, opts: BuildApiOptions = {}): Promise<App> {
  // Ajustes (issue 14): one settings provider for every route; tests may pass their own.
  const settings = given.settings ?? createSettingsProvider(given);
  const deps: ApiDeps & { settings: SettingsProvider } = { ...given, settings };
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 5 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    // Behind Caddy every request comes from the proxy: X-Forwarded-For from a trusted proxy names
    // the client (the per-address sign-in limit, the logs). Anyone else's header is ignored.
    trustProxy: deps.config.trustProxy,
    // A request line Node cannot parse (a raw "ñ" in `?buscar=`) answers in our error format too.
    clientErrorHandler: answerClientError,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  registerErrorHandler(app);

  // The route table, for the test that proves no route is open by mistake.
  const routeTable: RouteEntry[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method !== 'HEAD') routeTable.push({ method, url: r.url, public: r.config?.public === true });
    }
  });
  app.decorate('routeTable', routeTable);

  // While the service shuts down (SIGTERM), every request answers 503 so clients retry elsewhere.
  app.addHook('onRequest', async (_request, reply) => {
    if (deps.isClosing?.()) {
      return reply
        .status(503)
        .header('connection', 'close')
        .header('retry-after', '5')
        .send(toErrorBody(new AppError('SERVICIO_DETENIENDOSE')));
    }
  });

  // Every route needs a session, a personal token or the admin token unless it says
  // `config: { public: true }`; then the role table and CSRF (issue 14: access.ts, permissions.ts).
  registerAccess(app, deps);

  // An empty body with a JSON content type is an empty object (the seed's curl commands post none).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, {});
    parseJson(request, body as string, done);
  });

  // A NUL character anywhere in the input is refused before any handler sees it (PostgreSQL
  // cannot store it in text: it used to surface as a 500).
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [
      ['parámetro', request.query],
      ['parámetro', request.params],
      // A text body (CSV) is checked line by line by its importer, which names the line.
      ['campo', typeof request.body === 'string' || Buffer.isBuffer(request.body) ? null : request.body],
    ] as const) {
      const field = findNul(value);
      if (field !== null) {
        throw new AppError(
          'VALIDACION',
          `El ${where} "${field}" contiene un carácter nulo (\\0): quítelo y reintente.`,
          [{ campo: field, mensaje: 'contiene un carácter nulo' }],
        );
      }
    }
  });

  // Security headers on every answer under /api; client data is never cached.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/api')) {
      reply.header('x-content-type-options', 'nosniff');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    }
    return payload;
  });

  // CSV bodies arrive as bytes: the importer detects the encoding (Excel writes Windows-1252).
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'buffer' }, (_req, body, done) => {
    done(null, body);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TelTec Notificaciones API',
        description:
          'API de administración de TelTec Notificaciones. Todas las rutas /api requieren una sesión ' +
          '(cookie, con X-CSRF-Token para cambios) o `Authorization: Bearer <token>` (token de API de ' +
          'un usuario o ADMIN_TOKEN), salvo el webhook de Telegram y el ingreso.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        schemas: {
          // Every stable error code with its HTTP status and default message, from the one registry.
          CodigoDeError: {
            type: 'string' as const,
            enum: Object.keys(errorRegistry),
            'x-codigos': Object.fromEntries(
              Object.entries(errorRegistry).map(([code, d]) => [
                code,
                { status: d.status, mensaje: d.message },
              ]),
            ),
          } as Record<string, unknown>,
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  await app.register(healthRoutes, deps);
  await app.register(docsRoutes, deps);
  await app.register(plansRoutes, deps);
  await app.register(clientsRoutes, deps);
  await app.register(channelsRoutes, deps); // issues 10 and 11: consents, reach
  await app.register(whatsappStatusRoutes, deps); // issue 10 §10: Ajustes → WhatsApp, probar
  await app.register(notificacionesRoutes, deps);
  await app.register(campaignsRoutes, deps);
  await app.register(templatesRoutes, deps);
  await app.register(vocabularyRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(telegramRoutes, deps);
  // SMS delivery reports and the e-mail one-click unsubscribe (issue 11): public, each with its secret.
  await app.register(smsRoutes, deps);
  await app.register(emailRoutes, deps);
  await app.register(invitationsRoutes, deps);
  await app.register(alertsRoutes, deps);
  await app.register(comprobantesRoutes, deps); // issue 13: receipts and promises from the chat
  await app.register(mensajesRoutes, deps); // issue 13 §8: the staff inbox
  await app.register(adminDataRoutes, deps);
  await app.register(operationsRoutes, deps); // issue 15: backups, diagnosis
  await app.register(sandboxRoutes, deps);
  // Staff accounts, audit and Ajustes (issue 14).
  await app.register(sesionRoutes, deps);
  await app.register(usuariosRoutes, deps);
  await app.register(tokensRoutes, deps);
  await app.register(auditoriaRoutes, deps);
  await app.register(ajustesRoutes, deps);
  await app.register(whatsappRoutes, deps); // issue 10: Meta's webhook, templates
  // The admin web page (public static files; its data comes from the API above, with the token).
  await app.register(adminPage, deps);
  return app;
}
