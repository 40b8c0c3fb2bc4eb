import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { DatabaseUnavailableError, type Db } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { enqueue } from '../../src/notifications/outbox.js';
import { createWhatsAppService, type WhatsAppService } from '../../src/whatsapp/service.js';
import { signWebhookBody } from '../../src/whatsapp/signature.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import type { ClassifiedFailure, InboundWithClient } from '../../src/whatsapp/webhook.js';
import { seedClients } from '../notifications/support.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

const PATH = '/api/whatsapp/webhook';
const VERIFY = 'verificacion-de-prueba-123';
let seq = 0;

describeEachDb('WhatsApp webhook (issue 10 §6)', (ctx) => {
  let standin: WhatsAppStandin;
  let app: App;
  let service: WhatsAppService;
  let clientId: number;
  const inbound: InboundWithClient[] = [];
  const settled: ClassifiedFailure[] = [];
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const number = '593987650001';

  function build(db: Db) {
    const config = testConfig({
      WHATSAPP_TOKEN: standin.token,
      WHATSAPP_PHONE_NUMBER_ID: standin.phoneNumberId,
      WHATSAPP_BUSINESS_ACCOUNT_ID: standin.businessAccountId,
      WHATSAPP_APP_SECRET: standin.appSecret,
      WHATSAPP_VERIFY_TOKEN: VERIFY,
      WHATSAPP_API_ROOT: standin.url,
    });
    const wa = config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string };
    const svc = createWhatsAppService({
      db,
      config: wa,
      clock,
      logger: pino({ level: 'silent' }),
      settleAsyncFailures: async (_tx, failures) => {
        settled.push(...failures);
      },
    });
    return { config, svc };
  }

  beforeAll(async () => {
    standin = await startWhatsAppStandin({ pairIntervalMs: 0 });
    const { config, svc } = build(ctx.db);
    service = svc;
    service.onInbound((m) => {
      inbound.push(m);
    });
    app = await buildApi({
      db: ctx.db,
      config,
      logger: pino({ level: 'silent' }),
      clock,
      adminTokens: [{ name: 'admin', token: 'test-admin-token-0123456789' }],
      whatsapp: service,
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    standin.setWebhookUrl(`${address}${PATH}`);
    clientId = (await seedClients(ctx.db, [{ nombre: 'Ana WhatsApp' }]))[0]!;
    await ctx.db.query('UPDATE clients SET whatsapp = $2 WHERE id = $1', [clientId, number]);
  });
  afterAll(async () => {
    await standin.close();
    await app.close();
  });

  /** A notice sent on WhatsApp with one attempt carrying `wamid` (as the dispatcher records it). */
  async function sentNotice(wamid: string): Promise<number> {
    const [id] = await enqueue(
      ctx.db,
      [{ client_id: clientId, tipo: 'manual', mensaje: 'x', dedupe_key: `wa${++seq}` }],
      clock.now(),
    );
    await ctx.db.query(
      `UPDATE notifications SET estado = 'enviado', canal = 'whatsapp', sent_at = $2 WHERE id = $1`,
      [id, clock.now()],
    );
    await ctx.db.query(
      `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
       VALUES ($1, 'whatsapp', 'enviado', $3, $2, $4, $4)`,
      [id, wamid, number, clock.now()],
    );
    return id!;
  }

  const statusBody = (wamid: string, status: string, ts: number, code?: number) =>
    JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: standin.businessAccountId,
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { phone_number_id: standin.phoneNumberId },
                statuses: [
                  {
                    id: wamid,
                    status,
                    timestamp: String(ts),
                    recipient_id: number,
                    ...(code && { errors: [{ code, title: 'x' }] }),
                  },
                ],
              },
            },
          ],
        },
      ],
    });
  const post = (body: string, signature?: string | null) =>
    app.inject({
      method: 'POST',
      url: PATH,
      headers: {
        'content-type': 'application/json',
        ...(signature !== null && {
          'x-hub-signature-256': signature ?? signWebhookBody(standin.appSecret, body),
        }),
      },
      payload: body,
    });
  const counts = async () =>
    (
      await ctx.db.query<{ inbound: number; parked: number; envios: string; ventana: Date | null }>(
        `SELECT (SELECT count(*)::int FROM whatsapp_inbound) AS inbound,
                (SELECT count(*)::int FROM delivery_status_parked) AS parked,
                (SELECT string_agg(estado, ',' ORDER BY id) FROM notification_envios) AS envios,
                (SELECT whatsapp_ventana_hasta FROM clients WHERE id = $1) AS ventana`,
        [clientId],
      )
    ).rows[0]!;

  it('GET answers the verify handshake only with the right token', async () => {
    const ok = await app.inject({
      url: `${PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`,
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toBe('1158201444');
    for (const q of [
      `hub.mode=subscribe&hub.verify_token=otro&hub.challenge=1`,
      `hub.mode=subscribe&hub.challenge=1`,
      `hub.mode=unsubscribe&hub.verify_token=${VERIFY}&hub.challenge=1`,
    ]) {
      const bad = await app.inject({ url: `${PATH}?${q}` });
      expect(bad.statusCode, q).toBe(403);
      expect(bad.json().error.code).toBe('WHATSAPP_VERIFICACION_INVALIDA');
    }
  });

  it('a bad or missing signature answers 401 and writes nothing', async () => {
    const wamid = `wamid.sig${seq}`;
    const id = await sentNotice(wamid);
    const before = await counts();
    const body = statusBody(wamid, 'read', 1773154800);
    const inboundBody = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: {
                messages: [
                  {
                    from: number,
                    id: 'wamid.in.sig',
                    timestamp: '1773154800',
                    type: 'text',
                    text: { body: 'hola' },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
    for (const [b, sig] of [
      [body, null],
      [body, 'sha256=' + '0'.repeat(64)],
      [body, signWebhookBody('otro-secreto', body)],
      [body, signWebhookBody(standin.appSecret, `${body} `)],
      [inboundBody, signWebhookBody(standin.appSecret, body)],
      [body, 'sha1=abc'],
    ] as const) {
      const res = await post(b, sig);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('WHATSAPP_FIRMA_INVALIDA');
    }
    expect(await counts()).toEqual(before);
    const n = await ctx.db.query<{ estado: string }>('SELECT estado FROM notifications WHERE id = $1', [id]);
    expect(n.rows[0]!.estado).toBe('enviado');
  });

  it('statuses from the stand-in move the attempt forward; out of order and replays end right', async () => {
    const wamid = `wamid.order${seq}`;
    const id = await sentNotice(wamid);
    // read first, then sent, then delivered, then read again (replay).
    for (const [status, ts] of [
      ['read', 1773154830],
      ['sent', 1773154810],
      ['delivered', 1773154820],
      ['read', 1773154830],
    ] as const) {
      expect((await post(statusBody(wamid, status, ts))).statusCode).toBe(200);
    }
    const n = (
      await ctx.db.query<{ estado: string; entregado_at: Date; leido_at: Date }>(
        'SELECT estado, entregado_at, leido_at FROM notifications WHERE id = $1',
        [id],
      )
    ).rows[0]!;
    expect(n.estado).toBe('leido');
    expect(n.leido_at.toISOString()).toBe(new Date(1773154830_000).toISOString());
  });

  it('an unknown message answers 200 (parked, logged); a failed status is classified once', async () => {
    const res = await post(statusBody('wamid.nadie', 'delivered', 1773154800));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, resultado: 'aceptado' });
    const wamid = `wamid.fail${seq}`;
    await sentNotice(wamid);
    settled.length = 0;
    expect((await post(statusBody(wamid, 'failed', 1773154900, 131026))).statusCode).toBe(200);
    expect((await post(statusBody(wamid, 'failed', 1773154900, 131026))).statusCode).toBe(200);
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({
      proveedorId: wamid,
      errorCodigo: '131026',
      verdict: { action: 'fail', reason: 'whatsapp_inalcanzable', unreachable: { days: 30 } },
    });
  });

  it('a client writing opens the 24 h window, is recorded once and reaches the inbound hook', async () => {
    inbound.length = 0;
    const wamid = await standin.clientSends(number, 'ESTADO');
    await standin.idle();
    await expect.poll(() => inbound.length).toBe(1);
    expect(inbound[0]).toMatchObject({ wamid, from: number, clientId, tipo: 'text', texto: 'ESTADO' });
    const c = await counts();
    expect(c.ventana!.getTime()).toBe(inbound[0]!.at.getTime() + 24 * 3600_000);
    // Meta redelivers: nothing twice.
    const body = standin.webhooks.find((w) => w.body.includes(wamid))!.body;
    expect((await post(body)).statusCode).toBe(200);
    expect((await counts()).inbound).toBe(c.inbound);
    expect(inbound).toHaveLength(1);
    // A button reply too; an unknown number is recorded without client.
    await standin.clientPresses(number, { payload: 'optin:si', text: 'Sí, acepto' });
    await standin.clientSends('593999999999', 'hola');
    await standin.idle();
    await expect.poll(() => inbound.length).toBe(3);
    expect(inbound[1]).toMatchObject({ tipo: 'button', payload: 'optin:si', clientId });
    expect(inbound[2]).toMatchObject({ clientId: null });
  });

  it('template webhooks update the registry', async () => {
    await service.templateSync.runOnce();
    await standin.setTemplate({
      name: 'oferta',
      language: 'es',
      status: 'REJECTED',
      category: 'MARKETING',
      body: 'Hola {{1}}, {{2}}',
    });
    await standin.setTemplateCategory('pago_recibido', 'es', 'MARKETING');
    await standin.idle();
    const rows = (
      await ctx.db.query<{ nombre: string; estado: string; categoria: string }>(
        `SELECT nombre, estado, categoria FROM whatsapp_templates WHERE nombre IN ('oferta', 'pago_recibido') ORDER BY nombre`,
      )
    ).rows;
    expect(rows).toEqual([
      { nombre: 'oferta', estado: 'REJECTED', categoria: 'MARKETING' },
      { nombre: 'pago_recibido', estado: 'APPROVED', categoria: 'MARKETING' },
    ]);
  });

  it('a database outage answers 503 so Meta redelivers', async () => {
    const { config, svc } = build({
      ...ctx.db,
      transaction: () => Promise.reject(new DatabaseUnavailableError('la base no responde')),
    });
    const down = await buildApi({
      db: ctx.db,
      config,
      logger: pino({ level: 'silent' }),
      clock,
      adminTokens: [],
      whatsapp: svc,
    });
    const body = statusBody('wamid.x', 'delivered', 1773154800);
    const res = await down.inject({
      method: 'POST',
      url: PATH,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signWebhookBody(standin.appSecret, body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('BASE_DE_DATOS_NO_DISPONIBLE');
    await down.close();
  });

  it('2,000 fuzzed bodies, signed or not, never get a 5xx', async () => {
    const wamids = ['wamid.a', 'wamid.b', `wamid.order1`, 'x'];
    const status = fc.record(
      {
        id: fc.oneof(fc.constantFrom(...wamids), fc.string(), fc.integer()),
        status: fc.oneof(fc.constantFrom('sent', 'delivered', 'read', 'failed', 'deleted'), fc.string()),
        timestamp: fc.oneof(
          fc.constantFrom('1773154800', '-1', '99999999999999', ''),
          fc.string(),
          fc.integer(),
        ),
        recipient_id: fc.oneof(fc.constant(number), fc.string()),
        errors: fc.array(
          fc.record({ code: fc.oneof(fc.integer(), fc.string()), title: fc.string() }, { requiredKeys: [] }),
        ),
      },
      { requiredKeys: [] },
    );
    const message = fc.record(
      {
        from: fc.oneof(fc.constant(number), fc.stringMatching(/^\d{6,16}$/), fc.string()),
        id: fc.oneof(fc.string(), fc.constant('wamid.m')),
        timestamp: fc.oneof(fc.constant('1773154800'), fc.string()),
        type: fc.constantFrom('text', 'button', 'interactive', 'image', 'unknown'),
        text: fc.record({ body: fc.oneof(fc.string(), fc.string({ unit: 'binary' })) }, { requiredKeys: [] }),
        button: fc.record({ payload: fc.string(), text: fc.string() }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    const value = fc.record(
      {
        statuses: fc.oneof(fc.array(status, { maxLength: 4 }), fc.anything()),
        messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.anything()),
        event: fc.string(),
        message_template_name: fc.oneof(fc.constant('oferta'), fc.string()),
        message_template_language: fc.oneof(fc.constant('es'), fc.string()),
        new_category: fc.string(),
      },
      { requiredKeys: [] },
    );
    const webhook = fc.record({
      object: fc.oneof(fc.constant('whatsapp_business_account'), fc.string()),
      entry: fc.oneof(
        fc.array(
          fc.record(
            {
              id: fc.string(),
              changes: fc.oneof(
                fc.array(
                  fc.record(
                    {
                      field: fc.constantFrom(
                        'messages',
                        'message_template_status_update',
                        'template_category_update',
                        'x',
                      ),
                      value: fc.oneof(value, fc.anything()),
                    },
                    { requiredKeys: [] },
                  ),
                  { maxLength: 3 },
                ),
                fc.anything(),
              ),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 2 },
        ),
        fc.anything(),
      ),
    });
    const body = fc.oneof(
      { weight: 6, arbitrary: webhook.map((w) => JSON.stringify(w)) },
      { weight: 1, arbitrary: fc.json() },
      { weight: 1, arbitrary: fc.string() },
      { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
    );
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, fc.integer({ min: 0, max: 9 }), async (b, k) => {
        const sig = k === 0 ? null : k === 1 ? 'sha256=nope' : undefined;
        const res = await post(b, sig);
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, b.slice(0, 300)).toBeLessThan(500);
      }),
      { numRuns: 2000 },
    );
    expect(seen.get(200)).toBeGreaterThan(1000);
    expect(seen.get(401)).toBeGreaterThan(100);
  }, 180_000);
});
