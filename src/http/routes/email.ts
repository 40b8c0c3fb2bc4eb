import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  isUnsubscribeToken,
  loadUnsubscribeKey,
  recordEmailUnsubscribe,
  UNSUBSCRIBE_PATH,
} from '../../email/index.js';
import { escapeHtml } from '../../telegram/html.js';
import type { ApiDeps } from '../types.js';

const tags = ['correo'];

function page(title: string, body: string): string {
  return (
    '<!doctype html><html lang="es"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>${escapeHtml(title)}</title><link rel="stylesheet" href="/assets/baja.css"></head>` +
    `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
  );
}

/**
 * One-click unsubscribe from marketing e-mail (RFC 8058), public, token-signed per client:
 * POST (what mail clients send for List-Unsubscribe-Post, and the page's button) records the
 * opt-out in the consent ledger; GET (the footer link) shows a page with the button, so a link
 * scanner that follows links never unsubscribes anybody.
 */
export const emailRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  // Mail clients post `List-Unsubscribe=One-Click` as a form (or multipart): the body is not needed.
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_req, _body, done) => done(null, {}),
  );
  let key: Promise<Buffer> | undefined;
  const signingKey = () => {
    key ??= loadUnsubscribeKey(deps.db).catch((err: unknown) => {
      key = undefined;
      throw err;
    });
    return key;
  };
  const query = z.object({
    c: z.coerce.number().int().positive().optional(),
    t: z.string().max(100).optional(),
  });
  const empresa = async () => (await deps.settings?.engine())?.company.nombre ?? deps.config.company.nombre;
  const invalid = async () =>
    page(
      'Enlace no válido',
      `<p>Este enlace para dejar de recibir novedades de ${escapeHtml(await empresa())} no es válido o está incompleto. ` +
        'Use el enlace del último correo o comuníquese con nosotros.</p>',
    );

  app.get(
    UNSUBSCRIBE_PATH,
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Página para dejar de recibir correos de novedades (enlace del correo)',
        querystring: query,
        security: [],
      },
    },
    async (request, reply) => {
      const { c, t } = request.query;
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (c === undefined || !t || !isUnsubscribeToken(await signingKey(), c, t)) {
        return reply.status(400).send(await invalid());
      }
      const action = `${UNSUBSCRIBE_PATH}?c=${c}&t=${encodeURIComponent(t)}`;
      return page(
        'Dejar de recibir novedades',
        `<p>¿No quiere recibir más correos de novedades y ofertas de ${escapeHtml(await empresa())}? ` +
          'Los avisos de su servicio (pagos, mantenimiento) seguirán llegando.</p>' +
          `<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">` +
          '<button type="submit">Sí, dejar de recibirlas</button></form>',
      );
    },
  );

  app.post(
    UNSUBSCRIBE_PATH,
    {
      config: { public: true },
      schema: {
        tags,
        summary: 'Baja de los correos de novedades en un clic (List-Unsubscribe-Post, RFC 8058)',
        description:
          'Registra en el libro de consentimientos que el cliente retiró su consentimiento de marketing por correo ' +
          '(fuente email). El enlace lleva el cliente y una firma; sin firma válida responde 400.',
        querystring: query,
        security: [],
      },
    },
    async (request, reply) => {
      const { c, t } = request.query;
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (c === undefined || !t || !isUnsubscribeToken(await signingKey(), c, t)) {
        return reply.status(400).send(await invalid());
      }
      const oneClick = request.headers['content-type']?.includes('form') && !request.headers['referer'];
      const r = await recordEmailUnsubscribe(
        deps.db,
        c,
        deps.clock,
        oneClick
          ? 'List-Unsubscribe-Post (un clic desde el cliente de correo)'
          : 'enlace del correo (página de baja)',
      );
      if (r === 'cliente_inexistente') return reply.status(400).send(await invalid());
      request.log.info({ clientId: c, resultado: r }, 'baja de correos de novedades');
      return page(
        'Listo',
        `<p>No recibirá más correos de novedades de ${escapeHtml(await empresa())}. ` +
          'Los avisos de su servicio seguirán llegando.</p>',
      );
    },
  );
};
