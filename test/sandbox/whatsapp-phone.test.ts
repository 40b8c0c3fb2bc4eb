import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectWhatsAppReplies } from '../../src/bot/index.js';
import { createManualClock } from '../../src/clock.js';
import { whatsappEnabled } from '../../src/config.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { createWhatsAppService, type WhatsAppService } from '../../src/whatsapp/service.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { createTestDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 10 §9: with no WhatsApp settings the sandbox simulates WhatsApp too (the Cloud API
// stand-in), and the sandbox page plays the client's WhatsApp phone beside the Telegram one.
const silent = pino({ level: 'silent' });

describe('sandbox WhatsApp phone', () => {
  let sandbox: Sandbox;
  let app: App;
  let service: WhatsAppService;
  let db: Awaited<ReturnType<typeof createTestDb>>;
  const clock = createManualClock('2026-03-10T15:00:00Z');

  beforeAll(async () => {
    db = await createTestDb('pglite');
    sandbox = (await startSandbox(testConfig(), silent))!;
    const config = sandbox.config;
    // As main.ts does: the WhatsApp service on the sandbox's config, the replies, then the webhook.
    if (!whatsappEnabled(config.whatsapp)) throw new Error('the sandbox must enable WhatsApp');
    service = createWhatsAppService({ db, config: config.whatsapp, clock, logger: silent });
    connectWhatsAppReplies(service, { db, config, clock, logger: silent });
    app = await buildApi({
      db,
      config,
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      sandbox,
      whatsapp: service,
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    sandbox.whatsapp!.setWebhookUrl(`${address}/api/whatsapp/webhook`); // as main.ts does
    await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(7001), nombre: 'Marta Yépez', telefono: '0987650011' },
    });
  });
  afterAll(async () => {
    await app?.close();
    await sandbox?.close();
    await db?.close();
  });

  it('points the WhatsApp config at the stand-in; never with a real WHATSAPP_TOKEN', async () => {
    expect(sandbox.whatsapp).toBeDefined();
    expect(sandbox.config.whatsapp.apiRoot).toBe(sandbox.whatsapp!.url);
    expect(sandbox.config.whatsapp.apiRoot).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.config.whatsapp.appSecret).toBe(sandbox.whatsapp!.appSecret);
    const real = await startSandbox(
      testConfig({ WHATSAPP_TOKEN: `EAAG${'x'.repeat(40)}`, WHATSAPP_PHONE_NUMBER_ID: '1234567890' }),
      silent,
    );
    try {
      expect(real!.whatsapp).toBeUndefined();
      expect(real!.phones).toBeUndefined();
      expect(real!.config.whatsapp.apiRoot).toBe('https://graph.facebook.com');
    } finally {
      await real?.close();
    }
  });

  it('the client writes from the page; the service answers on the phone (opt-in, ESTADO), long poll included', async () => {
    const url = '/api/sandbox/whatsapp/0987650011';
    const first = await app.inject({ url, headers: auth });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ numero: '593987650011', mensajes: [] });
    const wrote = await app.inject({
      method: 'POST',
      url: `${url}/mensajes`,
      headers: auth,
      payload: { texto: 'Hola' },
    });
    expect(wrote.statusCode, wrote.body).toBe(200);
    // The page waits for the answer with its version.
    let t = wrote.json();
    for (let i = 0; i < 20 && !t.mensajes.some((m: { de: string }) => m.de === 'empresa'); i++) {
      t = (await app.inject({ url: `${url}?version=${t.version}&esperar=5`, headers: auth })).json();
    }
    expect(t.mensajes[0]).toMatchObject({ de: 'cliente', texto: 'Hola', estado: null });
    expect(t.mensajes.at(-1).texto).toContain('¿Desea recibir sus avisos');
    expect(t.ventana_hasta).not.toBeNull();

    await app.inject({ method: 'POST', url: `${url}/mensajes`, headers: auth, payload: { texto: 'SI' } });
    await expect
      .poll(async () => (await app.inject({ url, headers: auth })).json().mensajes.at(-1).texto, {
        timeout: 10_000,
      })
      .toContain('desde ahora recibirá sus avisos por WhatsApp');
    const consent = await db.query<{ fuente: string }>(
      `SELECT fuente FROM consents WHERE canal = 'whatsapp'`,
    );
    expect(consent.rows).toEqual([{ fuente: 'whatsapp' }]);
    // Outgoing messages carry their delivery marks (the stand-in sends sent → delivered → read).
    await expect
      .poll(async () => (await app.inject({ url, headers: auth })).json().mensajes.at(-1).estado, {
        timeout: 10_000,
      })
      .toBe('read');
  });

  it('refuses a landline in the path, in Spanish', async () => {
    const res = await app.inject({ url: '/api/sandbox/whatsapp/022456789', headers: auth });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.mensaje).toContain('celular de Ecuador');
  });
});
