import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import type { Role } from '../../src/users/index.js';
import { TEST_ADMIN_TOKEN } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { buildStaffApp, seedUser, signInAs } from './support.js';

/**
 * The role rules, written out here independently of src/http/permissions.ts: the test walks
 * every route of the real app for every role and compares.
 */
const OPERATOR_CHANGES = new Set([
  'POST /api/clientes',
  'POST /api/clientes/importar',
  'PATCH /api/clientes/:id',
  'POST /api/clientes/:id/pagos',
  'POST /api/clientes/:id/verificar-vinculo',
  'POST /api/clientes/:id/invitacion',
  'DELETE /api/clientes/:id/invitacion',
  'POST /api/notificaciones/actualizar-chat-id/',
  'POST /api/notificaciones/create/',
  'POST /api/notificaciones/:id/reintentar',
  'POST /api/notificaciones/:id/cancelar',
  'POST /api/plantillas/:tipo/vista-previa',
  // Issue 10 §10: a test WhatsApp to a client, as staff who write to clients.
  'POST /api/whatsapp/probar',
]);
const ADMIN_ONLY_READS = new Set([
  'GET /api/usuarios',
  'GET /api/auditoria',
  'GET /api/diagnostico',
  'GET /api/respaldo',
  'GET /metrics',
]);
const OWN_ACCOUNT = /^\/api\/(sesion|tokens)(\/|$)/;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function expectedAllowed(role: Role, method: string, url: string): boolean {
  const key = `${method} ${url}`;
  if (role === 'admin' || OWN_ACCOUNT.test(url)) return true;
  // Backups (issue 15) hold every client's data: admins only.
  if (SAFE.has(method)) return !ADMIN_ONLY_READS.has(key) && !url.startsWith('/api/respaldo');
  // Invitations by SMS, e-mail or WhatsApp (issue 11 §5) are a mass send: admins, like campaigns.
  if (url.startsWith('/api/invitaciones/envios')) return false;
  // Routes other issues add for operators (receipts, inbox, sandbox chat…): by prefix.
  const operatorPrefix =
    /^\/api\/(comprobantes|bandeja|mensajes|promesas|invitaciones|sandbox)(\/|$)|^\/api\/clientes\/:id\/(pagos|invitacion|consentimientos|mensajes)/;
  return role === 'operador' && (OPERATOR_CHANGES.has(key) || operatorPrefix.test(url));
}

const concrete = (url: string) =>
  url
    .replace(/:tipo/g, 'recordatorio')
    .replace(/:chatId/g, '1')
    .replace(/:[a-zA-Z_]+/g, '999999')
    .replace('*', 'x');

describeEachDb('roles on every route', (ctx) => {
  let app: App;
  const bearer: Record<Role, { authorization: string }> = {} as never;

  beforeAll(async () => {
    ({ app } = await buildStaffApp(ctx.db));
    for (const role of ['admin', 'operador', 'lectura'] as const) {
      bearer[role] = (await seedUser(ctx.db, `rol-${role}`, role)).bearer;
    }
  });
  afterAll(async () => {
    await app.close();
  });

  it('every role gets 403 PERMISO_DENEGADO exactly where the rules say, before the body is validated', async () => {
    const guarded = app.routeTable.filter((r) => !r.public);
    const changes = guarded.filter((r) => !SAFE.has(r.method));
    expect(changes.length).toBeGreaterThan(25);
    let refused = 0;
    for (const role of ['lectura', 'operador', 'admin'] as const) {
      for (const r of guarded) {
        // Signing out or closing sessions would not hurt a token, but keep the walk side-effect free.
        if (r.method === 'DELETE' && r.url.startsWith('/api/sesion')) continue;
        const url = concrete(r.url);
        const res = await app.inject({
          method: r.method as 'GET',
          url,
          headers: { ...bearer[role], 'content-type': 'application/json' },
          // An invalid body: a refused role must see 403, not 422.
          payload: SAFE.has(r.method) ? undefined : '{"campo_que_no_existe": [',
        });
        const denied = res.statusCode === 403 && res.json().error?.code === 'PERMISO_DENEGADO';
        const allowed = expectedAllowed(role, r.method, r.url);
        expect(denied, `${role}: ${r.method} ${r.url} → ${res.statusCode} ${res.body.slice(0, 120)}`).toBe(
          !allowed,
        );
        if (denied) {
          refused++;
          expect(res.json().error.mensaje).toContain(`Su rol (${role}) no permite esta acción`);
        }
      }
    }
    // lectura is refused every change outside its own account; operador the admin-only ones.
    expect(refused).toBeGreaterThan(changes.length);
  });

  it('a browser session gets the same answer as a token of the same role', async () => {
    const s = await signInAs(app, 'rol-operador');
    const denied = await app.inject({
      method: 'POST',
      url: '/api/planes',
      headers: { ...s.headers, 'content-type': 'application/json' },
      payload: '{',
    });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('PERMISO_DENEGADO');
    const ok = await app.inject({ method: 'POST', url: '/api/clientes', headers: s.headers, payload: {} });
    expect(ok.statusCode).toBe(422);
  });

  it('ADMIN_TOKEN may do everything, including creating an admin', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/usuarios',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      payload: { usuario: 'segunda', nombre: 'Segunda', rol: 'admin', clave: 'una clave bastante larga' },
    });
    expect(res.statusCode).toBe(201);
  });

  it('nobody changes anything without credentials', async () => {
    const res = await app.inject({ method: 'PATCH', url: '/api/ajustes', payload: { ciclo: { dias: 31 } } });
    expect(res.statusCode).toBe(401);
  });
});
