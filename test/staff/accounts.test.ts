import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { issueSetupCode } from '../../src/users/index.js';
import { TEST_ADMIN_TOKEN } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { buildStaffApp, HOST, ORIGIN, passwordFor, seedUser, signInAs } from './support.js';

const adminAuth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

describeEachDb('staff accounts: first admin, sign-in, sessions, CSRF, limits, tokens', (ctx) => {
  let app: App;
  let clock: Awaited<ReturnType<typeof buildStaffApp>>['clock'];
  let logs: Awaited<ReturnType<typeof buildStaffApp>>['logs'];
  const secrets: string[] = [];

  beforeAll(async () => {
    ({ app, clock, logs } = await buildStaffApp(ctx.db));
  });
  afterAll(async () => {
    await app.close();
  });

  describe('first administrator', () => {
    it('asks for setup while there is no user, and accepts only the one-time code', async () => {
      expect((await app.inject({ url: '/api/sesion/estado' })).json().primer_inicio).toBe(true);
      const code = (await issueSetupCode(ctx.db))!;
      expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
      const body = { usuario: 'gerencia', nombre: 'Gerencia', clave: passwordFor('gerencia') };
      const wrong = await app.inject({
        method: 'POST',
        url: '/api/sesion/primer-admin',
        headers: { host: HOST, origin: ORIGIN },
        payload: { ...body, codigo: 'AAAA-BBBB-CCCC' },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.code).toBe('CODIGO_CONFIGURACION_INVALIDO');
      const weak = await app.inject({
        method: 'POST',
        url: '/api/sesion/primer-admin',
        headers: { host: HOST, origin: ORIGIN },
        payload: { ...body, clave: '123456789', codigo: code },
      });
      expect(weak.statusCode).toBe(422);
      expect(weak.json().error.code).toBe('CLAVE_DEBIL');
      const ok = await app.inject({
        method: 'POST',
        url: '/api/sesion/primer-admin',
        headers: { host: HOST, origin: ORIGIN },
        payload: { ...body, codigo: code.toLowerCase() },
      });
      expect(ok.statusCode).toBe(201);
      expect(ok.json().usuario).toMatchObject({ usuario: 'gerencia', rol: 'admin' });
      expect(String(ok.headers['set-cookie'])).toContain('HttpOnly');
      // The code worked once.
      const again = await app.inject({
        method: 'POST',
        url: '/api/sesion/primer-admin',
        headers: { host: HOST, origin: ORIGIN },
        payload: { ...body, usuario: 'otro', codigo: code },
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().error.code).toBe('YA_CONFIGURADO');
      expect(await issueSetupCode(ctx.db)).toBeNull();
      expect((await app.inject({ url: '/api/sesion/estado' })).json().primer_inicio).toBe(false);
      secrets.push(body.clave, code);
    });
  });

  describe('users API', () => {
    it('ADMIN_TOKEN creates users of any role; passwords are checked and never returned', async () => {
      for (const [usuario, rol] of [
        ['olga', 'operador'],
        ['luis', 'lectura'],
        ['ana', 'admin'],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/usuarios',
          headers: adminAuth,
          payload: { usuario, nombre: `Persona ${usuario}`, rol, clave: passwordFor(usuario) },
        });
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json()).toMatchObject({ usuario, rol, activo: true });
        expect(res.body).not.toContain('clave');
        expect(res.body).not.toContain('scrypt');
        secrets.push(passwordFor(usuario));
      }
      const list = await app.inject({ url: '/api/usuarios', headers: adminAuth });
      expect(list.json().usuarios.map((u: { usuario: string }) => u.usuario)).toEqual([
        'ana',
        'gerencia',
        'luis',
        'olga',
      ]);
      expect(list.body).not.toContain('scrypt');
      const { rows } = await ctx.db.query<{ password_hash: string }>(
        `SELECT password_hash FROM users WHERE usuario = 'olga'`,
      );
      expect(rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(rows[0]!.password_hash).not.toContain(passwordFor('olga'));
    });

    it('refuses short, common and user-name passwords, bad roles and duplicates with Spanish messages', async () => {
      const cases: [Record<string, unknown>, number, string, RegExp][] = [
        [{ clave: 'corta1' }, 422, 'CLAVE_DEBIL', /al menos 10 caracteres/],
        [{ clave: 'administrador' }, 422, 'CLAVE_DEBIL', /más usadas/],
        [{ clave: 'qwertyuiop' }, 422, 'CLAVE_DEBIL', /más usadas/],
        [{ clave: 'pedro.perez-2026!' }, 422, 'CLAVE_DEBIL', /nombre de usuario/],
        [{ rol: 'jefe' }, 422, 'VALIDACION', /rol/],
        [{ usuario: 'olga' }, 409, 'USUARIO_DUPLICADO', /Ya existe/],
        [{ usuario: 'OLGA' }, 409, 'USUARIO_DUPLICADO', /Ya existe/],
      ];
      for (const [patch, status, code, message] of cases) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/usuarios',
          headers: adminAuth,
          payload: {
            usuario: 'pedro.perez',
            nombre: 'Pedro',
            rol: 'operador',
            clave: passwordFor('x'),
            ...patch,
          },
        });
        expect(res.statusCode, JSON.stringify(patch)).toBe(status);
        expect(res.json().error.code).toBe(code);
        expect(res.json().error.mensaje).toMatch(message);
      }
      const { rows } = await ctx.db.query(`SELECT 1 FROM users WHERE usuario = 'pedro.perez'`);
      expect(rows).toEqual([]);
    });

    it('the last active administrator cannot be demoted or deactivated', async () => {
      const users = (await app.inject({ url: '/api/usuarios', headers: adminAuth })).json().usuarios;
      const ana = users.find((u: { usuario: string }) => u.usuario === 'ana');
      const gerencia = users.find((u: { usuario: string }) => u.usuario === 'gerencia');
      const demote = await app.inject({
        method: 'PATCH',
        url: `/api/usuarios/${ana.id}`,
        headers: adminAuth,
        payload: { rol: 'operador' },
      });
      expect(demote.statusCode).toBe(200);
      const last = await app.inject({
        method: 'PATCH',
        url: `/api/usuarios/${gerencia.id}`,
        headers: adminAuth,
        payload: { activo: false },
      });
      expect(last.statusCode).toBe(409);
      expect(last.json().error.code).toBe('ULTIMO_ADMINISTRADOR');
      // Back as it was.
      await app.inject({
        method: 'PATCH',
        url: `/api/usuarios/${ana.id}`,
        headers: adminAuth,
        payload: { rol: 'admin' },
      });
    });
  });

  describe('sign-in and sessions', () => {
    it('signs in with a HttpOnly SameSite=Strict cookie, tells who I am, signs out', async () => {
      expect((await app.inject({ url: '/api/sesion' })).statusCode).toBe(401);
      const s = await signInAs(app, 'olga');
      expect(s.setCookie).toMatch(
        /^teltec_sesion=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/,
      );
      secrets.push(s.cookie.split('=')[1]!);
      const me = await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({
        usuario: { usuario: 'olga', rol: 'operador' },
        via: 'sesion',
        csrf_token: s.csrf,
      });
      const out = await app.inject({ method: 'DELETE', url: '/api/sesion', headers: s.headers });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } })).statusCode).toBe(401);
    });

    it('marks the cookie Secure when served over HTTPS (PUBLIC_URL or the proxy says so)', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN, 'x-forwarded-proto': 'https' },
        payload: { usuario: 'luis', clave: passwordFor('luis') },
      });
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure$/);
    });

    it('ends a session after the idle timeout and keeps a used one alive', async () => {
      const s = await signInAs(app, 'luis');
      clock.advance(7 * 3600_000);
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } })).statusCode).toBe(200);
      clock.advance(7 * 3600_000); // 14 h after sign-in, 7 h after last use
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } })).statusCode).toBe(200);
      clock.advance(8 * 3600_000 + 1000);
      const gone = await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } });
      expect(gone.statusCode).toBe(401);
      expect(gone.json().error.code).toBe('NO_AUTORIZADO');
    });

    it('"cerrar otras sesiones" closes every other browser of the user, not this one', async () => {
      const a = await signInAs(app, 'ana');
      const b = await signInAs(app, 'ana');
      const other = await signInAs(app, 'olga');
      const res = await app.inject({ method: 'DELETE', url: '/api/sesion/otras', headers: a.headers });
      expect(res.json()).toEqual({ cerradas: 1 });
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: a.cookie } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: b.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: other.cookie } })).statusCode).toBe(
        200,
      );
    });

    it('deactivating a user ends their sessions and their tokens', async () => {
      const { user, bearer } = await seedUser(ctx.db, 'temporal', 'operador');
      const s = await signInAs(app, 'temporal');
      expect((await app.inject({ url: '/api/clientes', headers: bearer })).statusCode).toBe(200);
      const off = await app.inject({
        method: 'PATCH',
        url: `/api/usuarios/${user.id}`,
        headers: adminAuth,
        payload: { activo: false },
      });
      expect(off.json().activo).toBe(false);
      expect((await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } })).statusCode).toBe(401);
      expect((await app.inject({ url: '/api/clientes', headers: bearer })).statusCode).toBe(401);
      const again = await app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN },
        payload: { usuario: 'temporal', clave: passwordFor('temporal') },
        remoteAddress: '10.9.9.9',
      });
      expect(again.statusCode).toBe(401);
    });
  });

  describe('CSRF', () => {
    it('a cookie-authenticated change needs this service as Origin and the X-CSRF-Token', async () => {
      const s = await signInAs(app, 'ana');
      const payload = { nombre: 'Plan CSRF', velocidad_mbps: 10, precio: 10 };
      const attempts = [
        { host: HOST, origin: ORIGIN, cookie: s.cookie }, // no token
        { host: HOST, origin: ORIGIN, cookie: s.cookie, 'x-csrf-token': 'x'.repeat(43) }, // wrong token
        { host: HOST, cookie: s.cookie, 'x-csrf-token': s.csrf }, // no Origin
        { host: HOST, origin: 'https://malicioso.example', cookie: s.cookie, 'x-csrf-token': s.csrf },
      ];
      for (const headers of attempts) {
        const res = await app.inject({ method: 'POST', url: '/api/planes', headers, payload });
        expect(res.statusCode).toBe(403);
        expect(res.json().error.code).toBe('CSRF_INVALIDO');
        expect(res.json().error.mensaje).toMatch(/X-CSRF-Token/);
      }
      expect((await ctx.db.query(`SELECT 1 FROM plans WHERE nombre = 'Plan CSRF'`)).rows).toEqual([]);
      const ok = await app.inject({ method: 'POST', url: '/api/planes', headers: s.headers, payload });
      expect(ok.statusCode).toBe(201);
      // Reading needs no CSRF token; a Bearer token needs none either (not sent by browsers on their own).
      expect((await app.inject({ url: '/api/planes', headers: { cookie: s.cookie } })).statusCode).toBe(200);
    });

    it('PUBLIC_URL counts as our own address', async () => {
      const other = await buildStaffApp(ctx.db, { env: { PUBLIC_URL: 'https://isp.example.ec' } });
      const s = await signInAs(other.app, 'ana');
      const res = await other.app.inject({
        method: 'POST',
        url: '/api/planes',
        headers: {
          host: '127.0.0.1:8000',
          origin: 'https://isp.example.ec',
          cookie: s.cookie,
          'x-csrf-token': s.csrf,
        },
        payload: { nombre: 'Plan público', velocidad_mbps: 10, precio: 10 },
      });
      expect(res.statusCode).toBe(201);
      await other.app.close();
    });

    it('a sign-in form posted from another site is refused', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: 'https://malicioso.example' },
        payload: { usuario: 'ana', clave: passwordFor('ana') },
      });
      expect(res.statusCode).toBe(403);
    });
  });

  describe('failed sign-in limit', () => {
    it('the 6th attempt is refused even with the right password, also after a restart, and 15 min later works', async () => {
      const ip = '192.0.2.50';
      for (let i = 1; i <= 5; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/sesion',
          headers: { host: HOST, origin: ORIGIN },
          payload: { usuario: 'luis', clave: `equivocada número ${i}` },
          remoteAddress: ip,
        });
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('CREDENCIALES_INVALIDAS');
      }
      const sixth = await app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN },
        payload: { usuario: 'luis', clave: passwordFor('luis') },
        remoteAddress: '192.0.2.99', // another address: the per-user limit holds
      });
      expect(sixth.statusCode).toBe(429);
      expect(sixth.json().error.code).toBe('DEMASIADOS_INTENTOS');
      expect(sixth.json().error.mensaje).toMatch(/Demasiados intentos fallidos.*Espere 15 minutos/);
      expect(sixth.headers['set-cookie']).toBeUndefined();

      // "Restart": a new process over the same database.
      const restarted = await buildStaffApp(ctx.db, { clock });
      const afterRestart = await restarted.app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN },
        payload: { usuario: 'luis', clave: passwordFor('luis') },
        remoteAddress: ip,
      });
      expect(afterRestart.statusCode).toBe(429);
      // Per address: another user from the same address is refused too.
      const sameIp = await restarted.app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN },
        payload: { usuario: 'ana', clave: passwordFor('ana') },
        remoteAddress: ip,
      });
      expect(sameIp.statusCode).toBe(429);
      clock.advance(15 * 60_000 + 1000);
      const later = await restarted.app.inject({
        method: 'POST',
        url: '/api/sesion',
        headers: { host: HOST, origin: ORIGIN },
        payload: { usuario: 'luis', clave: passwordFor('luis') },
        remoteAddress: ip,
      });
      expect(later.statusCode).toBe(200);
      await restarted.app.close();
    });
  });

  describe('behind the reverse proxy (TRUST_PROXY, default loopback)', () => {
    it('the per-address limit counts the client named by the proxy, not the proxy; a stranger cannot spoof it', async () => {
      const viaProxy = (usuario: string, clave: string, client: string, remoteAddress = '127.0.0.1') =>
        app.inject({
          method: 'POST',
          url: '/api/sesion',
          headers: { host: HOST, origin: ORIGIN, 'x-forwarded-for': client },
          payload: { usuario, clave },
          remoteAddress,
        });
      for (let i = 1; i <= 5; i++) {
        expect((await viaProxy(`nadie${i}`, 'equivocada', '203.0.113.7')).statusCode).toBe(401);
      }
      // The client who failed five times is stopped, even with another user's right password…
      expect((await viaProxy('olga', passwordFor('olga'), '203.0.113.7')).statusCode).toBe(429);
      // …but the rest of the office, behind the same proxy, is not.
      expect((await viaProxy('olga', passwordFor('olga'), '203.0.113.8')).statusCode).toBe(200);
      // A peer that is not a trusted proxy cannot borrow (or escape) an address with the header.
      expect((await viaProxy('olga', passwordFor('olga'), '203.0.113.7', '198.51.100.9')).statusCode).toBe(
        200,
      );
      const { rows } = await ctx.db.query<{ ip: string }>(
        'SELECT DISTINCT ip FROM login_failures WHERE ip IS NOT NULL ORDER BY ip',
      );
      expect(rows.map((r) => r.ip)).toContain('203.0.113.7');
      expect(rows.map((r) => r.ip)).not.toContain('127.0.0.1');
    });
  });

  describe('API tokens', () => {
    it('creates a named token shown once, stored hashed, usable as Bearer, with last use, revocable', async () => {
      const s = await signInAs(app, 'olga');
      const created = await app.inject({
        method: 'POST',
        url: '/api/tokens',
        headers: s.headers,
        payload: { nombre: 'cron' },
      });
      expect(created.statusCode).toBe(201);
      const { token, id, prefijo } = created.json();
      secrets.push(token);
      expect(token).toMatch(/^ttk_[A-Za-z0-9_-]{43}$/);
      expect(token.startsWith(prefijo)).toBe(true);
      const { rows } = await ctx.db.query<{ token_hash: Buffer }>(
        'SELECT token_hash FROM api_tokens WHERE id = $1',
        [id],
      );
      expect(Buffer.from(rows[0]!.token_hash).toString('hex')).not.toContain(
        Buffer.from(token).toString('hex'),
      );

      const dup = await app.inject({
        method: 'POST',
        url: '/api/tokens',
        headers: s.headers,
        payload: { nombre: 'CRON' },
      });
      expect(dup.json().error.code).toBe('TOKEN_DUPLICADO');

      const bearer = { authorization: `Bearer ${token}` };
      clock.advance(5 * 60_000);
      expect((await app.inject({ url: '/api/clientes', headers: bearer })).statusCode).toBe(200);
      const list = await app.inject({ url: '/api/tokens', headers: { cookie: s.cookie } });
      expect(list.body).not.toContain(token);
      const row = list.json().tokens.find((t: { id: number }) => t.id === id);
      expect(row).toMatchObject({ nombre: 'cron', usuario: 'olga', revoked_at: null });
      expect(new Date(row.last_used_at).getTime()).toBe(clock.now().getTime());

      // The audit names the person and the token.
      await app.inject({
        method: 'POST',
        url: '/api/planes',
        headers: adminAuth,
        payload: { nombre: 'Plan token', velocidad_mbps: 5, precio: 5 },
      });
      const other = await seedUser(ctx.db, 'tokenadmin', 'admin');
      await app.inject({
        method: 'POST',
        url: '/api/planes',
        headers: other.bearer,
        payload: { nombre: 'Plan token 2', velocidad_mbps: 5, precio: 5 },
      });
      const audit = await ctx.db.query<{ actor: string }>(
        `SELECT actor FROM audit_log WHERE accion = 'plan.crear' ORDER BY id DESC LIMIT 2`,
      );
      expect(audit.rows.map((r) => r.actor)).toEqual([
        'tokenadmin (token pruebas-tokenadmin)',
        'ADMIN_TOKEN',
      ]);

      // Someone else cannot revoke it; its owner can.
      const luis = await signInAs(app, 'luis');
      expect(
        (await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: luis.headers })).statusCode,
      ).toBe(404);
      expect(
        (await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: s.headers })).statusCode,
      ).toBe(204);
      const revoked = await app.inject({ url: '/api/clientes', headers: bearer });
      expect(revoked.statusCode).toBe(401);
    });

    it('ADMIN_TOKEN keeps working as before', async () => {
      const me = await app.inject({ url: '/api/sesion', headers: adminAuth });
      expect(me.json()).toMatchObject({ usuario: null, rol: 'admin', via: 'admin_token', csrf_token: null });
    });
  });

  it('no log line ever shows a password, a session cookie or a token', () => {
    const text = logs.text();
    expect(text.length).toBeGreaterThan(1000);
    expect(secrets.length).toBeGreaterThan(5);
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).not.toContain(TEST_ADMIN_TOKEN);
  });
});
