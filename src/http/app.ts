import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { adminDataRoutes, adminPage } from '../admin/index.js';
import { AppError, errorRegistry, toErrorBody } from '../errors/index.js';
import { sandboxRoutes } from '../sandbox/index.js';
import { matchAdminToken } from './auth.js';
import { registerErrorHandler } from './error-handler.js';
import { campaignsRoutes } from './routes/campaigns.js';
import { clientsRoutes } from './routes/clients.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { invitationsRoutes } from './routes/invitations.js';
import { metricsRoutes } from './routes/metrics.js';
import { notificacionesRoutes } from './routes/notificaciones.js';
import { plansRoutes } from './routes/plans.js';
import { telegramRoutes } from './routes/telegram.js';
import { templatesRoutes } from './routes/templates.js';
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

export interface BuildApiOptions {
  /** Largest accepted body in bytes (CSV imports are the largest). */
  bodyLimit?: number;
}

/**
 * Builds the HTTP API (not listening). Registration order is the architecture:
 * error boundary → auth → OpenAPI → routes.
 */
export async function buildApi(deps: ApiDeps, opts: BuildApiOptions = {}): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? 5 * 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
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

  // Every route needs the admin token unless it says `config: { public: true }`.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public) return;
    const token = matchAdminToken(request.headers.authorization, deps.adminTokens);
    if (!token) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send(toErrorBody(new AppError('NO_AUTORIZADO')));
    }
    request.actor = token.name;
  });

  // CSV bodies arrive as text.
  app.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string' }, (_req, body, done) => {
    done(null, body);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TelTec Notificaciones API',
        description:
          'API de administración de TelTec Notificaciones. Todas las rutas /api requieren ' +
          '`Authorization: Bearer <ADMIN_TOKEN>`, salvo el webhook de Telegram.',
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
  await app.register(notificacionesRoutes, deps);
  await app.register(campaignsRoutes, deps);
  await app.register(templatesRoutes, deps);
  await app.register(metricsRoutes, deps);
  await app.register(telegramRoutes, deps);
  await app.register(invitationsRoutes, deps);
  await app.register(adminDataRoutes, deps);
  await app.register(sandboxRoutes, deps);
  // The admin web page (public static files; its data comes from the API above, with the token).
  await app.register(adminPage, deps);
  return app;
}
