import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { createApiTokenStore, createUser, type Role } from '../../src/users/index.js';
import { TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';

/** Everything the app logged, as text (to prove no password or token is ever logged). */
export function logSink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => lines.join('') };
}

/** The real app over `db` with a manual clock and a capturing logger ("a process" of the service). */
export async function buildStaffApp(
  db: Db,
  opts: { now?: string; env?: Record<string, string>; clock?: ReturnType<typeof createManualClock> } = {},
) {
  const clock = opts.clock ?? createManualClock(opts.now ?? '2026-03-10T15:00:00Z');
  const logs = logSink();
  const app: App = await buildApi({
    db,
    config: testConfig(opts.env),
    logger: logs.logger,
    clock,
    adminTokens: [{ name: 'ADMIN_TOKEN', token: TEST_ADMIN_TOKEN }],
  });
  await app.ready();
  return { app, clock, logs };
}

export const HOST = 'teltec.test';
export const ORIGIN = `http://${HOST}`;

/** A password that passes the rules, per user. */
export const passwordFor = (usuario: string) => `caballo-bateria-${Buffer.from(usuario).toString('hex')}`;

/** Creates a user straight in the database (no API), and a personal token for them. */
export async function seedUser(db: Db, usuario: string, rol: Role, now = new Date('2026-03-10T15:00:00Z')) {
  const user = await createUser(db, {
    usuario,
    nombre: `Persona ${usuario}`,
    rol,
    clave: passwordFor(usuario),
    now,
  });
  const token = await createApiTokenStore(db).create({ userId: user.id, nombre: `pruebas-${usuario}`, now });
  return { user, token: token.token, bearer: { authorization: `Bearer ${token.token}` } };
}

/** Signs in through the API; returns the cookie header and the CSRF token to send with changes. */
export async function signInAs(app: App, usuario: string, clave = passwordFor(usuario), ip = '10.0.0.1') {
  const res = await app.inject({
    method: 'POST',
    url: '/api/sesion',
    headers: { host: HOST, origin: ORIGIN },
    payload: { usuario, clave },
    remoteAddress: ip,
  });
  if (res.statusCode !== 200) throw new Error(`sign-in failed: ${res.statusCode} ${res.body}`);
  const setCookie = String(res.headers['set-cookie']);
  const cookie = setCookie.split(';')[0]!;
  const csrf = res.json().csrf_token as string;
  return {
    cookie,
    csrf,
    setCookie,
    /** Headers of a same-origin page request with the session (and the CSRF token). */
    headers: { host: HOST, origin: ORIGIN, cookie, 'x-csrf-token': csrf },
  };
}
