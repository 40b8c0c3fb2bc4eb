import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { errorRegistry } from '../../src/errors/index.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp, TEST_ADMIN_TOKEN } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

const run = promisify(execFile);
const routesDir = fileURLToPath(new URL('../../src/http/routes/', import.meta.url));

/** Runs curl as a person would type it; returns the status and the body. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args], { encoding: 'latin1' });
  const cut = stdout.lastIndexOf('\n');
  return {
    status: Number(stdout.slice(cut + 1)),
    body: Buffer.from(stdout.slice(0, cut), 'latin1').toString('utf8'),
  };
}

/** Status codes a route may answer for a service that is not configured in tests. */
const notConfigured = new Set([
  'BOT_NO_CONFIGURADO',
  'DESPACHADOR_NO_DISPONIBLE',
  'NO_IMPLEMENTADO',
  'BOT_NO_INICIADO',
  'WHATSAPP_NO_CONFIGURADO',
]);

describeEachDb('API hardening (issue 9, issue 12 §4 and §10)', (ctx) => {
  let app: App;
  let base: string;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, { now: '2026-03-10T15:00:00Z' }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it("the seed's two daily curl commands work as written (JSON content type, no body)", async () => {
    const gen = await curl([
      '-X',
      'POST',
      `${base}/api/notificaciones/generar-automaticas/`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${TEST_ADMIN_TOKEN}`,
    ]);
    expect(gen.status, gen.body).toBe(200);
    expect(JSON.parse(gen.body).total_creadas).toBe(0);
    const proc = await curl([
      '-X',
      'POST',
      `${base}/api/notificaciones/procesar/`,
      '-H',
      'Content-Type: application/json',
      '-H',
      `Authorization: Bearer ${TEST_ADMIN_TOKEN}`,
    ]);
    // No dispatcher in this app: the body was accepted and the route answers for itself.
    expect(JSON.parse(proc.body).error.code).toBe('DESPACHADOR_NO_DISPONIBLE');
  });

  it('an empty JSON body is an empty object on every route (validation speaks, not the parser)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('VALIDACION');
    const broken = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: '{"nombre": ',
    });
    expect(broken.json().error.code).toBe('JSON_INVALIDO');
  });

  it('a NUL character in a text field or a query parameter is a 422 naming the field, and changes nothing', async () => {
    const body = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(901), nombre: 'Ana\u0000Pérez' },
    });
    expect(body.statusCode).toBe(422);
    expect(body.json().error.code).toBe('VALIDACION');
    expect(body.json().error.mensaje).toContain('"nombre"');
    const q = await app.inject({ url: '/api/clientes?buscar=a%00b', headers: auth });
    expect(q.statusCode).toBe(422);
    expect(q.json().error.mensaje).toContain('"buscar"');
    const n = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients WHERE cedula = $1', [
      cedulaFor(901),
    ]);
    expect(n.rows[0]!.n).toBe(0);
  });

  it('ids beyond the database integer are a 422, not a 500', async () => {
    for (const url of [
      '/api/clientes/2147483648',
      '/api/clientes/99999999999999999999/pagos',
      '/api/planes/2147483648',
      '/api/notificaciones/2147483648',
      '/api/clientes?plan_id=2147483648',
    ]) {
      const res = await app.inject({ url, headers: auth });
      expect(res.statusCode, url).toBeLessThan(500);
      expect(Object.keys(errorRegistry), url).toContain(res.json().error.code);
    }
    const ok = await app.inject({ url: '/api/clientes/2147483647', headers: auth });
    expect(ok.json().error.code).toBe('NO_ENCONTRADO');
  });

  it('a raw "ñ" in ?buscar= answers in the project error format', async () => {
    const res = await curl([
      `${base}/api/clientes?buscar=ñandú`,
      '-H',
      `Authorization: Bearer ${TEST_ADMIN_TOKEN}`,
    ]);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const parsed = JSON.parse(res.body);
    expect(parsed.error.code).toBe('SOLICITUD_INVALIDA');
    expect(parsed.error.mensaje).toContain('%C3%B1');
    // Encoded, the same search works.
    const ok = await curl([
      `${base}/api/clientes?buscar=%C3%B1and%C3%BA`,
      '-H',
      `Authorization: Bearer ${TEST_ADMIN_TOKEN}`,
    ]);
    expect(ok.status).toBe(200);
  });

  it('JSON and HTML under /api carry nosniff and no-store', async () => {
    for (const url of ['/api/clientes', '/api/docs', '/api/clientes/exportar', '/api/nada']) {
      const res = await app.inject({ url, headers: auth });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
    const unauth = await app.inject({ url: '/api/clientes' });
    expect(unauth.headers['x-content-type-options']).toBe('nosniff');
  });

  it('HTML pages carry a CSP without inline styles, and no route writes inline styles', async () => {
    const docs = await app.inject({ url: '/api/docs' });
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(docs.body).not.toMatch(/<style|\sstyle=/i);
    const css = await app.inject({ url: '/assets/docs.css' });
    expect(css.statusCode).toBe(200);
    for (const file of readdirSync(routesDir)) {
      const source = readFileSync(path.join(routesDir, file), 'utf8');
      expect(source, file).not.toMatch(/<style|\sstyle=["']/i);
    }
  });

  it('fuzz: no route answers 500 to odd ids, query values or bodies', async () => {
    const routes = app.routeTable.filter(
      // Backups write a file per call and fail for lack of a data folder here: they have their own tests.
      (r) =>
        !r.public &&
        !r.url.includes('*') &&
        !['OPTIONS'].includes(r.method) &&
        !r.url.startsWith('/api/respaldo'),
    );
    expect(routes.length).toBeGreaterThan(30);
    const oddText = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('\u0000', 'a\u0000b', 'ñ', '2147483648', '-1', '1e309', '0x10', '', ' ', '%', "'; --"),
    );
    const oddId = fc.oneof(
      fc.constantFrom('2147483648', '99999999999999999999', '-5', '0', '1.5', 'abc', '%00', '1e3'),
      fc.nat({ max: 3 }).map(String),
    );
    const body = fc.dictionary(
      fc.constantFrom(
        'nombre',
        'cedula',
        'mensaje',
        'monto',
        'fecha',
        'cliente_id',
        'chat_id',
        'id',
        'plan_id',
        'motivo',
      ),
      fc.oneof(oddText, fc.integer(), fc.double(), fc.constant(2147483648), fc.constant(null)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        oddId,
        fc.dictionary(
          fc.constantFrom('buscar', 'pagina', 'plan_id', 'cliente_id', 'estado', 'sector'),
          oddText,
        ),
        body,
        async (route, id, query, payload) => {
          const url =
            route.url.replace(/:[a-z_]+/g, encodeURIComponent(id)) +
            '?' +
            new URLSearchParams(query as Record<string, string>).toString();
          const res = await app.inject({
            method: route.method as 'GET',
            url,
            headers: auth,
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload }),
          });
          if (res.statusCode >= 500) {
            const code = res.json().error?.code;
            expect(
              notConfigured.has(code),
              `${route.method} ${url} ${JSON.stringify(payload)} → ${res.body}`,
            ).toBe(true);
          }
          if (res.statusCode >= 400 && String(res.headers['content-type']).includes('json')) {
            expect(Object.keys(errorRegistry)).toContain(res.json().error.code);
          }
        },
      ),
      { numRuns: 250, seed: 20261128 },
    );
  });
});
