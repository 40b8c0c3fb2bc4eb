import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ADMIN_CSP } from '../../admin/index.js';
import type { ApiDeps } from '../types.js';

interface OpenApiOperation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, unknown>;
}
type OpenApiDoc = {
  info: { title: string; description?: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
};

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A readable, dependency-free API reference rendered from the OpenAPI document. */
export function renderApiReference(doc: OpenApiDoc): string {
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters ?? [])
        .map((p) => `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', obligatorio' : ''})</li>`)
        .join('');
      const body = op.requestBody?.content
        ? Object.entries(op.requestBody.content)
            .map(
              ([type, c]) =>
                `<p>Cuerpo <code>${esc(type)}</code>:</p><pre>${esc(JSON.stringify(c.schema, null, 2))}</pre>`,
            )
            .join('')
        : '';
      const codes = Object.keys(op.responses ?? {}).join(', ');
      rows.push(
        `<section><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>` +
          `<p>${esc(op.summary ?? '')}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}` +
          (params ? `<ul>${params}</ul>` : '') +
          body +
          `<p class="r">Respuestas: ${esc(codes)}</p></section>`,
      );
    }
  }
  return `<!doctype html><html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)} — referencia</title><link rel="stylesheet" href="/assets/docs.css"></head><body><h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description ?? '')}</p>
<p>Documento OpenAPI: <code>GET /api/openapi.json</code> (con <code>Authorization: Bearer &lt;ADMIN_TOKEN&gt;</code>, como toda ruta de datos).</p>${rows.join('\n')}</body></html>`;
}

export const docsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app) => {
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The reference page holds no client data: it opens in a browser without the token.
  app.get('/api/docs', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', ADMIN_CSP)
      .send(renderApiReference(app.swagger() as unknown as OpenApiDoc));
  });
};
