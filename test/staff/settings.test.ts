import { afterAll, beforeAll, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import type { App } from '../../src/http/types.js';
import { createDispatcher } from '../../src/notifications/index.js';
import { createSettingsProvider } from '../../src/settings/index.js';
import { nextChatId, seedClients, silent, startTestStandin } from '../notifications/support.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { buildStaffApp, seedUser, signInAs } from './support.js';

describeEachDb('Ajustes in the database', (ctx) => {
  let app: App;
  let admin: Awaited<ReturnType<typeof seedUser>>;
  let operador: Awaited<ReturnType<typeof seedUser>>;
  let test: Awaited<ReturnType<typeof startTestStandin>>;

  beforeAll(async () => {
    // 21:30 in Guayaquil.
    ({ app } = await buildStaffApp(ctx.db, { now: '2026-03-11T02:30:00Z' }));
    admin = await seedUser(ctx.db, 'jefa', 'admin');
    operador = await seedUser(ctx.db, 'cajero', 'operador');
    test = await startTestStandin();
  });
  afterAll(async () => {
    await app.close();
    await test.standin.close();
  });

  it('reads the environment defaults and the first-run checklist', async () => {
    const res = await app.inject({ url: '/api/ajustes', headers: operador.bearer });
    expect(res.statusCode).toBe(200);
    const a = res.json();
    expect(a.envio.ventana).toEqual({ inicio: '08:00', fin: '20:00' });
    expect(a.ciclo).toMatchObject({ dias: 30, recordatorio_dias_antes: 5, dias_suspension: 10 });
    expect(a.empresa).toMatchObject({ nombre: 'TelTec', telefono: '', cuentas_bancarias: [] });
    expect(a.pendientes.map((p: { campo: string }) => p.campo)).toEqual([
      'empresa.telefono',
      'empresa.email',
      'empresa.direccion',
      'empresa.cuentas_bancarias',
    ]);
    expect(a.pendientes[0].mensaje).toContain('{contacto}');
  });

  it('only an admin changes settings; bad values are refused in Spanish and change nothing', async () => {
    const denied = await app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: operador.bearer,
      payload: { ciclo: { dias: 31 } },
    });
    expect(denied.statusCode).toBe(403);
    const cases: [unknown, string, RegExp][] = [
      [{ envio: { ventana: { inicio: '8:00', fin: '20:00' } } }, 'VALIDACION', /HH:MM/],
      [{ ciclo: { dias: 3 } }, 'VALIDACION', /al menos 7/],
      [
        { ciclo: { recordatorio_dias_antes: 27, dias: 20 } },
        'AJUSTE_INVALIDO',
        /menor que la duración del ciclo/,
      ],
      [{ empresa: { email: 'no-es-correo' } }, 'VALIDACION', /correo/],
      [
        {
          empresa: {
            cuentas_bancarias: [{ banco: 'Pichincha', tipo: 'plazo', numero: '123', titular: 'X' }],
          },
        },
        'VALIDACION',
        /ahorros/,
      ],
      [{ empresa: { nombre: '' } }, 'VALIDACION', /no puede quedar vacío/],
      [{ otra_cosa: 1 }, 'VALIDACION', /otra_cosa|reconoc|clave/i],
    ];
    for (const [payload, code, message] of cases) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/api/ajustes',
        headers: admin.bearer,
        payload: payload as object,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.mensaje).toMatch(message);
    }
    expect((await ctx.db.query(`SELECT 1 FROM settings WHERE key LIKE 'ajustes.%'`)).rows).toEqual([]);
  });

  it('stores a change, shows it at once, fills the checklist and audits who changed what', async () => {
    const s = await signInAs(app, 'jefa');
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: s.headers,
      payload: {
        empresa: {
          telefono: '02 123 4567',
          email: 'cobros@teltec.ec',
          direccion: 'Av. Amazonas y Colón',
          cuentas_bancarias: [
            { banco: 'Banco Pichincha', tipo: 'ahorros', numero: '2200123456', titular: 'TelTec S.A.' },
          ],
        },
        ciclo: { dias_suspension: 15 },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().pendientes).toEqual([]);
    expect(res.json().empresa.nombre).toBe('TelTec'); // untouched keys keep their value
    expect(res.json().ciclo.dias_suspension).toBe(15);
    const { rows } = await ctx.db.query<{ actor: string; detalles: { cambios: { campo: string }[] } }>(
      `SELECT actor, detalles FROM audit_log WHERE accion = 'ajustes.cambiar'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.actor).toBe('jefa');
    expect(rows[0]!.detalles.cambios.map((c) => c.campo).sort()).toEqual([
      'ciclo.dias_suspension',
      'empresa.cuentas_bancarias',
      'empresa.direccion',
      'empresa.email',
      'empresa.telefono',
    ]);
    // A second instance (or a restart) reads the same.
    const other = createSettingsProvider({ db: ctx.db, config: testConfig() });
    expect((await other.get()).empresa.telefono).toBe('02 123 4567');
    expect((await other.engine()).company.telefono).toBe('02 123 4567');
  });

  it('a changed send window takes effect in the running dispatcher without a restart', async () => {
    const clock = createManualClock('2026-03-11T02:30:00Z'); // 21:30 local
    const [id] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, urgente, proximo_intento) VALUES ($1, 'oferta', 'Oferta', false, $2)`,
      [id, clock.now()],
    );
    // The running service's provider (the one the API writes through) feeds the dispatcher.
    const settings = createSettingsProvider({ db: ctx.db, config: testConfig(), ttlMs: 0 });
    const d = createDispatcher({
      db: ctx.db,
      sender: test.sender,
      clock,
      logger: silent,
      settings: await settings.engine(),
      getSettings: () => settings.engine(),
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 4, maxAttempts: 6, idleMs: 20 },
    });
    const before = await d.runOnce();
    expect(before).toMatchObject({ en_ventana: false, enviadas: 0 });
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: admin.bearer,
      payload: { envio: { ventana: { inicio: '20:00', fin: '23:00' } } },
    });
    expect(res.json().envio).toMatchObject({ ventana: { inicio: '20:00', fin: '23:00' }, en_ventana: true });
    const after = await d.runOnce();
    expect(after).toMatchObject({ en_ventana: true, enviadas: 1 });
    await d.stop();
  });

  it('an idle-timeout change applies to sessions at once', async () => {
    const s = await signInAs(app, 'cajero');
    await app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: admin.bearer,
      payload: { sesion: { horas_inactividad: 0.5 } },
    });
    await ctx.db.query(`UPDATE sessions SET last_seen_at = last_seen_at - interval '31 minutes'`);
    expect((await app.inject({ url: '/api/sesion', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });
});
