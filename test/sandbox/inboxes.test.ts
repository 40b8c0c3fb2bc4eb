import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consentHistory, hasConsent } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import { emailChannelFromConfig } from '../../src/email/index.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { createDispatcher, type Dispatcher, generatePaymentNotices } from '../../src/notifications/index.js';
import { type Sandbox, startSandbox } from '../../src/sandbox/index.js';
import { smsChannelFromConfig } from '../../src/sms/index.js';
import { createTelegramSender } from '../../src/telegram/send.js';
import { createPlan, settingsFor } from '../notifications/support.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 11 §7: in sandbox mode SMS and e-mail really go out, to the SMS gateway stand-in and an
// in-process SMTP server, and the sandbox page reads each client's SMS inbox and mailbox.
const silent = pino({ level: 'silent' });

describeEachDb('sandbox SMS inbox and mailbox', (ctx) => {
  let sandbox: Sandbox;
  let app: App;
  let dispatcher: Dispatcher;
  let closeMail = () => {};
  // Saturday 22:00 in Guayaquil: outside the default SMS_WINDOW (lun-vie 09:00-18:00). The sandbox
  // sends SMS at any hour, so the newcomer sees them now.
  const clock = createManualClock('2026-03-15T03:00:00Z');

  beforeAll(async () => {
    sandbox = (await startSandbox(testConfig(), silent))!;
    const config = sandbox.config;
    // As main.ts does: the channels from the sandbox's config, then the API, then the report URL.
    const sms = smsChannelFromConfig(config);
    const email = await emailChannelFromConfig(config, {
      db: ctx.db,
      baseUrl: () => 'http://127.0.0.1',
      empresa: () => 'TelTec',
    });
    if (!sms || !email) throw new Error('the sandbox must configure SMS and e-mail');
    closeMail = () => email.close();
    const sender = createTelegramSender({
      token: config.telegram.token!,
      apiRoot: config.telegram.apiRoot,
      timeoutMs: 5000,
    });
    dispatcher = createDispatcher({
      db: ctx.db,
      sender,
      clock,
      logger: silent,
      settings: settingsFor({ SEND_WINDOW: '00:00-24:00' }),
      extraChannels: [sms, email],
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 2, maxAttempts: 6, idleMs: 20 },
    });
    app = await buildApi({
      db: ctx.db,
      config,
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      sandbox,
    });
    sandbox.setServiceUrl(await app.listen({ port: 0, host: '127.0.0.1' }));
  });
  afterAll(async () => {
    await dispatcher?.stop({ drainMs: 2000 });
    closeMail();
    await app?.close();
    await sandbox?.close();
  });

  async function client(seq: number, o: { mobile: string | null; email: string | null }) {
    const planId = await createPlan(ctx.db, `Plan ${seq}`, 25.5);
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, email, plan_id, fecha_ultimo_pago)
       VALUES ($1, $2, $3, $4, $5, $6, '2026-02-10') RETURNING id`,
      [cedulaFor(seq), `Cliente ${seq}`, o.mobile && `0${o.mobile.slice(3)}`, o.mobile, o.email, planId],
    );
    return rows[0]!.id;
  }
  const boxes = async (id: number) => {
    const res = await app.inject({ url: `/api/sandbox/clientes/${id}/bandejas`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  it('says SMS and e-mail are simulated; the config points at the stand-ins', async () => {
    const res = await app.inject({ url: '/api/sandbox', headers: auth });
    expect(res.json()).toMatchObject({ activo: true, sms: true, correo: true });
    expect(sandbox.config.sms?.url).toBe(sandbox.sms!.sendUrl);
    expect(sandbox.config.email?.smtpUrl).toBe(sandbox.mail!.url);
  });

  it('an overdue notice goes out by SMS to a client with only a mobile: in their inbox, then delivered', async () => {
    const id = await client(9101, { mobile: '593987650101', email: null });
    expect(await boxes(id)).toMatchObject({ sms: { numero: '593987650101', mensajes: [] }, correo: null });
    await generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-14', now: clock.now() });
    await dispatcher.runOnce();
    const b = await boxes(id);
    expect(b.sms.mensajes).toHaveLength(1);
    expect(b.sms.mensajes[0].texto).toMatch(/^TelTec: su pago de \$25,50 vencio/);
    // The simulated gateway reports it delivered to POST /api/sms/estado, as a real one would.
    await expect
      .poll(
        async () =>
          (
            await ctx.db.query<{ estado: string }>(
              `SELECT e.estado FROM notification_envios e JOIN notifications n ON n.id = e.notification_id
                WHERE n.client_id = $1 AND e.canal = 'sms'`,
              [id],
            )
          ).rows,
        { timeout: 10_000 },
      )
      .toEqual([{ estado: 'entregado' }]);
  });

  it('a client with only an e-mail gets it in their mailbox; nobody else sees it', async () => {
    const id = await client(9102, { mobile: null, email: 'Rosa.Paz@correo.test' });
    const other = await client(9103, { mobile: null, email: 'otra@correo.test' });
    await generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-14', now: clock.now() });
    await dispatcher.runOnce();
    await expect.poll(async () => (await boxes(id)).correo?.correos.length, { timeout: 10_000 }).toBe(1);
    const b = await boxes(id);
    expect(b.sms).toBeNull();
    expect(b.correo.direccion).toBe('rosa.paz@correo.test');
    expect(b.correo.correos[0]).toMatchObject({ de: 'avisos@sandbox.teltec.invalid' });
    expect(b.correo.correos[0].asunto).toMatch(/^Pago vencido/);
    expect(b.correo.correos[0].texto).toContain('25,50');
    // The other client's own notice is in their own mailbox only.
    expect((await boxes(other)).correo.correos).toHaveLength(1);
  });

  it('the played client answers SALIR by SMS: through the simulated gateway, the SMS opt-out is recorded', async () => {
    const id = await client(9104, { mobile: '593987650104', email: null });
    const send = (texto: string, cliente = id) =>
      app.inject({
        method: 'POST',
        url: `/api/sandbox/clientes/${cliente}/sms`,
        headers: auth,
        payload: { texto },
      });
    const hola = await send('hola');
    expect(hola.statusCode, hola.body).toBe(200);
    expect(hola.json()).toMatchObject({ resultado: 'ignorado', sms: { numero: '593987650104' } });
    expect((await consentHistory(ctx.db, id)).filter((c) => c.canal === 'sms')).toEqual([]);
    const salir = await send('¡Salir!');
    expect(salir.json()).toMatchObject({ resultado: 'baja', cliente_id: id });
    expect(await hasConsent(ctx.db, id, 'sms', 'servicio')).toBe(false);
    expect(await hasConsent(ctx.db, id, 'sms', 'marketing')).toBe(false);
    const history = await consentHistory(ctx.db, id);
    expect(history.find((c) => c.canal === 'sms' && c.categoria === 'servicio')).toMatchObject({
      otorgado: false,
      fuente: 'sms',
    });
    // No mobile on file: nothing to send from; an empty text is refused; nothing changes.
    const none = await client(9105, { mobile: null, email: 'sin.celular@correo.test' });
    expect((await send('SALIR', none)).statusCode).toBe(409);
    const empty = await send('   ');
    expect(empty.statusCode).toBe(422);
    expect(empty.json().error.code).toBe('VALIDACION');
  });

  it('an unknown client is a 404; without the sandbox it is a 409', async () => {
    const res = await app.inject({ url: '/api/sandbox/clientes/999999/bandejas', headers: auth });
    expect(res.statusCode).toBe(404);
    const plain = await buildApi({
      db: ctx.db,
      config: testConfig(),
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    });
    try {
      const off = await plain.inject({ url: '/api/sandbox/clientes/1/bandejas', headers: auth });
      expect(off.statusCode).toBe(409);
      expect((await plain.inject({ url: '/api/sandbox', headers: auth })).json()).toMatchObject({
        sms: false,
        correo: false,
      });
    } finally {
      await plain.close();
    }
  });
});

it('without smtp-server and mailparser the sandbox starts with no e-mail and says so', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  const missing = Object.assign(new Error("Cannot find package 'smtp-server'"), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
  const sandbox = (await startSandbox(testConfig(), logger, {
    loadSmtpStandin: () => Promise.reject(missing),
  }))!;
  try {
    expect(sandbox.mail).toBeUndefined();
    expect(sandbox.config.email).toBeUndefined();
    expect(sandbox.inboxes).toMatchObject({ sms: true, correo: false });
    expect(sandbox.config.sms).toBeDefined();
    expect(lines.join('\n')).toContain('faltan los paquetes opcionales smtp-server y mailparser');
  } finally {
    await sandbox.close();
  }
});
