import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toErrorBody } from '../errors/index.js';
import type { ApiDeps } from '../http/types.js';
import { publicDir } from '../paths.js';
import { freshStaticFile, loadStaticFiles, type StaticFile } from './static-files.js';

/**
 * The admin web page: plain HTML, CSS and ES modules from `public/`, served as public routes (the
 * page itself holds no data; every request for data carries the admin token as a Bearer header).
 *
 *   GET /          → index.html (the admin page; client-side routes live in the #hash)
 *   GET /sandbox   → sandbox.html (the phone-like chat of sandbox mode)
 *   GET /assets/*  → CSS, JS, icons
 */

/** Strict: our own scripts and styles only, no inline code, no framing, data only from this origin. */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface AdminPageOptions {
  /** Folder with index.html, sandbox.html and assets/ (default: the package's public/). */
  dir?: string;
}

export const adminPage: FastifyPluginAsync<ApiDeps & AdminPageOptions> = async (app, deps) => {
  const mode = deps.sandbox ? 'sandbox' : 'produccion';
  // The mode is written into every page, so the sandbox banner shows before any script runs.
  // Dates on the page are shown in the provider's zone, whatever the browser's.
  const transform = (_path: string, html: string) =>
    html.replaceAll('{{MODO}}', mode).replaceAll('{{ZONA}}', deps.config.timeZone);
  const files = loadStaticFiles(deps.dir ?? publicDir, transform);
  const file = (urlPath: string) => freshStaticFile(files, urlPath, transform);

  const send = (request: FastifyRequest, reply: FastifyReply, file: StaticFile | undefined) => {
    if (!file) {
      const err = new AppError('RUTA_NO_ENCONTRADA', `La ruta ${request.url.split('?')[0]} no existe.`);
      return reply.status(404).send(toErrorBody(err));
    }
    reply
      .header('content-type', file.type)
      .header('cache-control', 'no-cache')
      .header('etag', file.etag)
      .header('vary', 'accept-encoding')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (file.type.startsWith('text/html')) {
      reply.header('content-security-policy', ADMIN_CSP).header('x-frame-options', 'DENY');
    }
    if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
    const accepts = request.headers['accept-encoding'] ?? '';
    if (file.gzip && /\bgzip\b/.test(accepts)) {
      return reply.header('content-encoding', 'gzip').send(file.gzip);
    }
    return reply.send(file.body);
  };

  const page = { config: { public: true }, schema: { hide: true } } as const;
  app.get('/', page, (request, reply) => send(request, reply, file('/index.html')));
  app.get('/sandbox', page, (request, reply) => send(request, reply, file('/sandbox.html')));
  app.get<{ Params: { '*': string } }>('/assets/*', page, (request, reply) =>
    send(request, reply, file('/assets/' + request.params['*'])),
  );
};
