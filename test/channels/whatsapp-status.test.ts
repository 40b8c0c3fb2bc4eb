import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { createWhatsAppService, type WhatsAppService } from '../../src/whatsapp/service.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { seedClients } from '../notifications/support.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

// Issue 10 §10: Ajustes → WhatsApp (token valid, number, tier, templates, last error) and "probar".
describeEachDb('WhatsApp status and test send', (ctx) => {
  let standin: WhatsAppStandin;
  let app: App;
  let bad: App;
  let none: App;
  let service: WhatsAppService;
  let clientId: number;
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const number = '593987650123';
  const silent = pino({ level: 'silent' });

  const build = async (token: string, withService = true) => {
    const config = testConfig({
      WHATSAPP_TOKEN: token,
      WHATSAPP_PHONE_NUMBER_ID: standin.phoneNumberId,
      WHATSAPP_BUSINESS_ACCOUNT_ID: standin.businessAccountId,
      WHATSAPP_APP_SECRET: standin.appSecret,
      WHATSAPP_API_ROOT: standin.url,
      EMPRESA_NOMBRE: 'TelTec',
    });
    const svc = createWhatsAppService({
      db: ctx.db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger: silent,
    });
    const a = await buildApi({
      db: ctx.db,
      config,
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      ...(withService && { whatsapp: svc }),
    });
    return { a, svc };
  };

  beforeAll(async () => {
    standin = await startWhatsAppStandin({ pairIntervalMs: 0 });
    ({ a: app, svc: service } = await build(standin.token));
    ({ a: bad } = await build(`${standin.token}x`));
    ({ a: none } = await build(standin.token, false));
    await service.templateSync.runOnce();
    clientId = (await seedClients(ctx.db, [{ nombre: 'Pedro Andrango' }]))[0]!;
  });
  afterAll(async () => {
    await Promise.all([app.close(), bad.close(), none.close()]);
    await standin.close();
  });

  it('says whether the token is valid, the number, its tier and the templates by approval state', async () => {
    const ok = (await app.inject({ url: '/api/whatsapp/estado', headers: auth })).json();
    expect(ok).toMatchObject({ configurado: true, simulado: false, token_valido: true, detalle: null });
    expect(ok.numero.telefono).toBeTruthy();
    expect(ok.plantillas.total).toBeGreaterThan(0);
    expect(ok.plantillas.aprobadas).toBe(ok.plantillas.total);
    expect(ok.sincronizado_en).not.toBeNull();

    const wrong = (await bad.inject({ url: '/api/whatsapp/estado', headers: auth })).json();
    expect(wrong.token_valido).toBe(false);
    expect(wrong.detalle).toMatch(/^190: /);
    expect(JSON.stringify(wrong)).not.toContain(standin.token);

    const off = (await none.inject({ url: '/api/whatsapp/estado', headers: auth })).json();
    expect(off).toMatchObject({ configurado: false, token_valido: null, numero: null });
  });

  it('"probar": no number or no consent outside the window is refused in Spanish; with consent the welcome template goes', async () => {
    const probar = (a: App = app) =>
      a.inject({
        method: 'POST',
        url: '/api/whatsapp/probar',
        headers: auth,
        payload: { cliente_id: clientId },
      });
    const noNumber = await probar();
    expect(noNumber.statusCode).toBe(422);
    expect(noNumber.json().error.mensaje).toContain('no tiene número de WhatsApp');
    await ctx.db.query('UPDATE clients SET whatsapp = $2 WHERE id = $1', [clientId, number]);
    const noConsent = await probar();
    expect(noConsent.statusCode).toBe(422);
    expect(noConsent.json().error.mensaje).toContain('no ha aceptado recibir WhatsApp');
    expect(standin.thread(number)).toEqual([]);
    expect((await probar(none)).json().error.code).toBe('WHATSAPP_NO_CONFIGURADO');

    await app.inject({
      method: 'POST',
      url: `/api/clientes/${clientId}/consentimientos`,
      headers: auth,
      payload: {
        canal: 'whatsapp',
        categoria: 'servicio',
        otorgado: true,
        fuente: 'presencial',
        evidencia: 'Firmó en oficina',
      },
    });
    const sent = await probar();
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json()).toMatchObject({ ok: true, como: 'plantilla', plantilla: 'bienvenida', error: null });
    expect(sent.json().proveedor_id).toMatch(/^wamid\./);
    const out = standin.thread(number).filter((e) => e.direction === 'out');
    expect(out).toHaveLength(1);
    expect(out[0]!.text).toContain('Pedro Andrango');

    // Inside the window (the client wrote): free text.
    await ctx.db.query(`UPDATE clients SET whatsapp_ventana_hasta = $2 WHERE id = $1`, [
      clientId,
      new Date(clock.now().getTime() + 3600_000),
    ]);
    const text = await app.inject({
      method: 'POST',
      url: '/api/whatsapp/probar',
      headers: auth,
      payload: { cliente_id: clientId, mensaje: 'Prueba desde Ajustes' },
    });
    expect(text.json()).toMatchObject({ ok: true, como: 'texto', plantilla: null });
    expect(standin.thread(number).at(-1)!.text).toBe('Prueba desde Ajustes');
  });
});
