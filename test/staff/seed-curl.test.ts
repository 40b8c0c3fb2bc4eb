import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { describeEachDb } from '../support/db.js';
import { buildStaffApp, seedUser, signInAs } from './support.js';

const run = promisify(execFile);

/**
 * The seed's curl commands (README of the replaced system), run by the real curl against the
 * listening service, with a named personal token instead of the old shared one.
 */
describeEachDb("the seed's curl commands with a named token", (ctx) => {
  let app: App;
  let base: string;
  let token: string;

  beforeAll(async () => {
    ({ app } = await buildStaffApp(ctx.db));
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    await seedUser(ctx.db, 'cron-admin', 'admin');
    const s = await signInAs(app, 'cron-admin');
    const created = await app.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: s.headers,
      payload: { nombre: 'cron diario' },
    });
    token = created.json().token;
    const plan = await app.inject({
      method: 'POST',
      url: '/api/planes',
      headers: { authorization: `Bearer ${token}` },
      payload: { nombre: 'Hogar', velocidad_mbps: 50, precio: 25 },
    });
    await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: { authorization: `Bearer ${token}` },
      payload: { cedula: '1710034065', nombre: 'Cliente Semilla', plan_id: plan.json().id },
    });
  });
  afterAll(async () => {
    await app.close();
  });

  async function curl(method: string, path: string, data?: string) {
    const args = ['-s', '-o', '-', '-w', '\n%{http_code}', '-X', method, `${base}${path}`];
    args.push('-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${token}`);
    if (data) args.push('-d', data);
    const { stdout } = await run('curl', args, { timeout: 20_000 });
    const i = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(i + 1)), body: stdout.slice(0, i) };
  }

  it('every command answers as the seed promised, and the audit names the token', async () => {
    const clientes = JSON.parse((await curl('GET', '/api/clientes')).body).clientes;
    const id = clientes[0].id;
    const cases: [string, string, string | undefined, number[]][] = [
      ['POST', '/api/notificaciones/generar-automaticas/', undefined, [200]],
      // Without a bot token the dispatcher is off: the seed's command gets a clear 503, not a 401.
      ['POST', '/api/notificaciones/procesar/', undefined, [200, 503]],
      [
        'POST',
        '/api/notificaciones/actualizar-chat-id/',
        JSON.stringify({ cliente_id: id, chat_id: '123456789' }),
        [200],
      ],
      ['GET', '/api/notificaciones/estadisticas/', undefined, [200]],
      ['GET', '/api/notificaciones/telegram/estadisticas/', undefined, [200]],
      ['GET', '/api/notificaciones/', undefined, [200]],
    ];
    for (const [method, path, data, statuses] of cases) {
      const res = await curl(method, path, data);
      expect(statuses, `${method} ${path} → ${res.status} ${res.body.slice(0, 200)}`).toContain(res.status);
    }
    const { rows } = await ctx.db.query<{ actor: string }>(
      `SELECT DISTINCT actor FROM audit_log WHERE accion LIKE 'notificaciones.%' OR accion LIKE 'telegram.%'`,
    );
    expect(rows.map((r) => r.actor)).toEqual(['cron-admin (token cron diario)']);
  });

  it('the same command without a token is refused', async () => {
    const { stdout } = await run('curl', [
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      `${base}/api/notificaciones/generar-automaticas/`,
    ]);
    expect(stdout).toBe('401');
  });
});
