import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createChannelRegistry } from '../../src/channels/index.js';
import { recordConsents } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createEmailChannel, createEmailSender, type EmailSender } from '../../src/email/index.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import {
  createDispatcher,
  type Dispatcher,
  generatePaymentNotices,
  notificationPath,
} from '../../src/notifications/index.js';
import { enqueue, moveUndelivered } from '../../src/notifications/outbox.js';
import { createSettingsProvider } from '../../src/settings/index.js';
import { smsChannelFromConfig } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import { createWhatsAppAdapter } from '../../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../../src/whatsapp/graph.js';
import { createWhatsAppService } from '../../src/whatsapp/service.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { createTemplateSync, templateResolverFor } from '../../src/whatsapp/templates.js';
import { ingestWebhook } from '../../src/whatsapp/webhook.js';
import { createPlan, settingsFor, silent } from '../notifications/support.js';
import { testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';

/**
 * Issue 11 §3: a must-deliver notice whose attempt fails LATE (a WhatsApp `failed` status webhook,
 * an SMS delivery report `fallido`) moves on to the next channel of its policy, through the same
 * decision as a synchronous failure; reminders get one fallback, offers none. End to end against
 * the WhatsApp, SMS and SMTP stand-ins, the real app (webhook, /api/sms/estado) and the dispatcher.
 */
describeEachDb('fallback after a late failure', (ctx) => {
  // Tuesday 10:00 in Guayaquil: inside SEND_WINDOW and SMS_WINDOW.
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const DLR_SECRET = 'dlr-secret-0123456789';
  let wa: WhatsAppStandin;
  let sms: SmsGatewayStandin;
  let smtp: SmtpStandin;
  let mailer: EmailSender;
  let app: App;
  let address: string;
  let config: Config;
  let dispatcher: Dispatcher;
  let planId: number;
  let seq = 300;

  beforeAll(async () => {
    wa = await startWhatsAppStandin({ pairIntervalMs: 0 });
    sms = await startSmsGatewayStandin();
    smtp = await startSmtpStandin();
    mailer = createEmailSender({ smtpUrl: smtp.url, from: 'TelTec <avisos@teltec.test>', dkim: null });
    config = testConfig({
      WHATSAPP_TOKEN: wa.token,
      WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
      WHATSAPP_APP_SECRET: wa.appSecret,
      WHATSAPP_API_ROOT: wa.url,
      SMS_GATEWAY_URL: sms.sendUrl,
      SMS_DLR_SECRET: DLR_SECRET,
    });
    const client = createWhatsAppClient({
      token: wa.token,
      phoneNumberId: wa.phoneNumberId,
      businessAccountId: wa.businessAccountId,
      apiRoot: wa.url,
      apiVersion: 'v23.0',
    });
    await createTemplateSync({ db: ctx.db, client, clock, logger: silent }).runOnce();
    const whatsapp = createWhatsAppService({
      db: ctx.db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger: silent,
    });
    app = await buildApi({ db: ctx.db, config, logger: silent, clock, adminTokens: [], whatsapp });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
    wa.setWebhookUrl(`${address}/api/whatsapp/webhook`);
    planId = await createPlan(ctx.db, 'Hogar 50', 25.5);
    dispatcher = createDispatcher({
      db: ctx.db,
      channels: createChannelRegistry([
        createWhatsAppAdapter({ client, ratePerSecond: 100, dailyLimit: 1000 }),
        smsChannelFromConfig(config)!,
        createEmailChannel({
          sender: mailer,
          ratePerSecond: 100,
          unsubscribeUrl: (id) => `http://127.0.0.1/baja/correo?c=${id}&t=x`,
          empresa: () => 'TelTec',
        }),
      ]),
      resolveTemplate: templateResolverFor(ctx.db),
      clock,
      logger: silent,
      settings: settingsFor(),
      options: {
        ratePerSecond: 1000,
        perChatPerSecond: 50,
        concurrency: 4,
        maxAttempts: 6,
        idleMs: 20,
        noDeliveryMinutes: 30,
      },
    });
  });
  afterAll(async () => {
    await dispatcher?.stop({ drainMs: 2000 });
    wa?.setWebhookUrl(undefined);
    await app?.close();
    mailer?.close();
    await Promise.all([wa?.close(), sms?.close(), smtp?.close()]);
  });
  beforeEach(() => {
    wa.clearFaults();
    wa.setWebhookUrl(`${address}/api/whatsapp/webhook`);
    clock.set('2026-03-10T15:00:00Z');
  });

  /** A client on WhatsApp (service consent, no Telegram) with a mobile and an e-mail; overdue. */
  async function client(o: { marketing?: boolean } = {}) {
    seq++;
    const whatsapp = `5939${String(30_000_000 + seq)}`;
    const phone = `5939${String(40_000_000 + seq)}`;
    const email = `tardio${seq}@correo.test`;
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, whatsapp, telefono_norm, email, plan_id, fecha_ultimo_pago)
       VALUES ($1, $2, $3, $4, $5, $6, '2026-02-06') RETURNING id`,
      [cedulaFor(seq), `Cliente ${seq}`, whatsapp, phone, email, planId],
    );
    const id = rows[0]!.id;
    await recordConsents(
      ctx.db,
      (['servicio', ...(o.marketing ? ['marketing' as const] : [])] as const).map((categoria) => ({
        clientId: id,
        canal: 'whatsapp' as const,
        categoria,
        otorgado: true,
        fuente: 'contrato' as const,
        at: clock.now(),
      })),
    );
    return { id, whatsapp, phone, email };
  }
  const notice = async (clientId: number, tipo: string) =>
    (
      await ctx.db.query<{ id: number; estado: string; motivo: string | null; canal: string; datos: object }>(
        'SELECT id, estado, motivo, canal, datos FROM notifications WHERE client_id = $1 AND tipo = $2',
        [clientId, tipo],
      )
    ).rows[0]!;
  const mails = (to: string) => smtp.mails.filter((m) => m.to.includes(to));
  const generate = () =>
    generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-10', now: clock.now() });
  /**
   * Dispatcher passes until nothing is due, each followed by every webhook the WhatsApp stand-in
   * scheduled (a late failure may requeue a notice during the pass or after it).
   */
  const pass = async () => {
    let enviadas = 0;
    let quiet = 0;
    // Until three passes in a row, 50 ms apart, claim nothing: a failed status that overtook the
    // send's own commit is settled when that commit lands, which can be after the first empty pass.
    for (let i = 0; i < 40 && quiet < 3; i++) {
      const r = await dispatcher.runOnce();
      await wa.idle();
      enviadas += r.enviadas;
      quiet = r.reclamadas === 0 ? quiet + 1 : 0;
      if (r.reclamadas === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { enviadas };
  };
  const smsReport = (id: string, estado: string) =>
    sms.reportDelivery(`${address}/api/sms/estado`, { id, estado, secret: DLR_SECRET });

  it('WhatsApp accepted then failed 131026: the overdue notice goes by SMS exactly once; the client is marked', async () => {
    const c = await client();
    wa.failRecipient(c.whatsapp, { code: 131026, mode: 'status' });
    await generate();
    // Accepted by WhatsApp, failed by webhook, then sent by SMS.
    expect((await pass()).enviadas).toBe(2);
    expect(wa.messages.filter((m) => m.to === c.whatsapp)).toHaveLength(1);
    const marked = await ctx.db.query<{ whatsapp_inalcanzable: string | null }>(
      'SELECT whatsapp_inalcanzable FROM clients WHERE id = $1',
      [c.id],
    );
    expect(marked.rows[0]!.whatsapp_inalcanzable).toContain('131026');

    const n = await notice(c.id, 'pago_vencido');
    expect(n).toMatchObject({
      estado: 'enviado',
      canal: 'sms',
      datos: { canales_descartados: ['whatsapp'] },
    });
    expect(sms.inbox(c.phone)).toHaveLength(1);
    // Composed again for SMS from its template, not the WhatsApp text.
    expect(sms.inbox(c.phone)[0]!.message).toMatch(/^TelTec: su pago de \$25,50 vencio/);
    expect(await notificationPath(ctx.db, n.id, 'America/Guayaquil')).toBe(
      'WhatsApp: no tiene WhatsApp → SMS: enviado 10:00',
    );
    // Nothing more goes, however often the dispatcher looks; no e-mail either.
    clock.advance(10 * 60_000);
    await pass();
    expect(sms.inbox(c.phone)).toHaveLength(1);
    expect(wa.messages.filter((m) => m.to === c.whatsapp)).toHaveLength(1);
    expect(mails(c.email)).toHaveLength(0);
  });

  it('the rule staff set in Ajustes for a kind applies to late failures: an overdue notice set to "sin respaldo" stops at WhatsApp', async () => {
    const provider = createSettingsProvider({ db: ctx.db, config: testConfig(), clock, ttlMs: 0 });
    await provider.update(ctx.db, { respaldo: { reglas: { pago_vencido: 'no_fallback' } } });
    try {
      const c = await client();
      wa.failRecipient(c.whatsapp, { code: 131026, mode: 'status' });
      await generate();
      await pass();
      clock.advance(60_000);
      await pass();
      expect(await notice(c.id, 'pago_vencido')).toMatchObject({
        estado: 'fallido',
        canal: 'whatsapp',
        motivo: 'whatsapp_inalcanzable',
      });
      expect(sms.inbox(c.phone)).toHaveLength(0);
      expect(mails(c.email)).toHaveLength(0);
    } finally {
      await ctx.db.query(`DELETE FROM settings WHERE key LIKE 'ajustes.respaldo.%'`);
    }
  });

  it('must-deliver keeps going: a late SMS report "fallido" moves it on to e-mail', async () => {
    const c = await client();
    wa.failRecipient(c.whatsapp, { code: 131026, mode: 'status' });
    await generate();
    await pass();
    const [sent] = sms.inbox(c.phone);
    expect(sent).toBeDefined();
    expect((await smsReport(sent!.id, 'undelivered')).status).toBe(200);
    expect(await notice(c.id, 'pago_vencido')).toMatchObject({
      estado: 'pendiente',
      datos: { canales_descartados: ['whatsapp', 'sms'] },
    });
    await pass();
    const n = await notice(c.id, 'pago_vencido');
    expect(n).toMatchObject({ estado: 'enviado', canal: 'email' });
    expect(mails(c.email)).toHaveLength(1);
    expect(mails(c.email)[0]!.subject).toMatch(/^Pago vencido/);
    expect(sms.inbox(c.phone)).toHaveLength(1);
    expect(await notificationPath(ctx.db, n.id, 'America/Guayaquil')).toBe(
      'WhatsApp: no tiene WhatsApp → SMS: no entregado → Correo: enviado 10:00',
    );
    // A replayed report changes nothing.
    await smsReport(sent!.id, 'undelivered');
    await pass();
    expect(mails(c.email)).toHaveLength(1);
    expect((await notice(c.id, 'pago_vencido')).estado).toBe('enviado');
  });

  it('a notice of the one-fallback kind (maintenance, not urgent) falls back once only; an offer never falls back', async () => {
    const reminder = await client();
    const offer = await client({ marketing: true });
    wa.failRecipient(reminder.whatsapp, { code: 131026, mode: 'status' });
    wa.failRecipient(offer.whatsapp, { code: 131026, mode: 'status' });
    await enqueue(
      ctx.db,
      [
        { client_id: reminder.id, tipo: 'mantenimiento', mensaje: 'Su router será cambiado el jueves' },
        { client_id: offer.id, tipo: 'oferta', mensaje: 'Nuevo plan 200 Mbps' },
      ],
      clock.now(),
    );
    await pass();
    expect(await notice(offer.id, 'oferta')).toMatchObject({
      estado: 'fallido',
      motivo: 'whatsapp_inalcanzable',
      canal: 'whatsapp',
    });
    expect(await notice(reminder.id, 'mantenimiento')).toMatchObject({ estado: 'enviado', canal: 'sms' });
    const [sent] = sms.inbox(reminder.phone);
    expect(sent!.message).toContain('Su router sera cambiado el jueves');
    await smsReport(sent!.id, 'failed');
    await pass();
    // Its one fallback was SMS: no e-mail after SMS fails.
    expect(await notice(reminder.id, 'mantenimiento')).toMatchObject({
      estado: 'fallido',
      motivo: 'sms_inalcanzable',
    });
    expect(mails(reminder.email)).toHaveLength(0);
    expect(sms.inbox(offer.phone)).toHaveLength(0);
    expect(mails(offer.email)).toHaveLength(0);
  });

  /** The WhatsApp message of a notice (its wamid), as our attempt recorded it. */
  const wamidOf = async (notificationId: number) =>
    (
      await ctx.db.query<{ proveedor_id: string }>(
        `SELECT proveedor_id FROM notification_envios WHERE notification_id = $1 AND canal = 'whatsapp'`,
        [notificationId],
      )
    ).rows[0]!.proveedor_id;
  /** A late `delivered` from Meta for one message, through the webhook's own door. */
  const deliveredLate = (wamid: string, recipient: string) =>
    ingestWebhook(
      { db: ctx.db, clock },
      {
        statuses: [{ wamid, estado: 'entregado', at: clock.now(), recipient }],
        messages: [],
        templates: [],
        ignored: 0,
      },
    );

  it('no delivery report within 30 minutes: the overdue notice moves on to SMS once; a late delivered sends nothing more', async () => {
    const c = await client();
    wa.setWebhookUrl(undefined); // Meta never reports this message
    await generate();
    await pass();
    const sent = await notice(c.id, 'pago_vencido');
    expect(sent).toMatchObject({ estado: 'enviado', canal: 'whatsapp' });
    clock.advance(29 * 60_000);
    await pass();
    expect(sms.inbox(c.phone)).toHaveLength(0);
    expect((await notice(c.id, 'pago_vencido')).canal).toBe('whatsapp');

    clock.advance(2 * 60_000);
    await pass();
    const n = await notice(c.id, 'pago_vencido');
    expect(n).toMatchObject({
      estado: 'enviado',
      canal: 'sms',
      datos: { canales_descartados: ['whatsapp'] },
    });
    expect(sms.inbox(c.phone)).toHaveLength(1);
    expect(await notificationPath(ctx.db, n.id, 'America/Guayaquil')).toBe(
      'WhatsApp: sin confirmación de entrega → SMS: enviado 10:31',
    );
    // The WhatsApp client was not marked: it may just have been offline.
    const marked = await ctx.db.query<{ whatsapp_inalcanzable: string | null }>(
      'SELECT whatsapp_inalcanzable FROM clients WHERE id = $1',
      [c.id],
    );
    expect(marked.rows[0]!.whatsapp_inalcanzable).toBeNull();

    // Meta's delivered for the old message arrives after the move: nothing goes again, nothing
    // moves back (the notice was delivered after all; it keeps its SMS).
    clock.advance(60_000);
    await deliveredLate(await wamidOf(n.id), c.whatsapp);
    clock.advance(60 * 60_000);
    await pass();
    expect(await notice(c.id, 'pago_vencido')).toMatchObject({ estado: 'entregado', canal: 'sms' });
    expect(sms.inbox(c.phone)).toHaveLength(1);
    expect(wa.messages.filter((m) => m.to === c.whatsapp)).toHaveLength(1);
    expect(mails(c.email)).toHaveLength(0);
  });

  it('a notice moved for no delivery but not sent yet closes as delivered when the late delivered comes', async () => {
    const c = await client();
    wa.setWebhookUrl(undefined);
    await generate();
    await pass();
    const { id } = await notice(c.id, 'pago_vencido');
    clock.advance(31 * 60_000);
    // The outbox's door alone (no dispatcher pass): the notice waits for its next channel.
    expect(
      await moveUndelivered(ctx.db, { now: clock.now(), afterMs: 30 * 60_000, canales: ['whatsapp'] }),
    ).toBe(1);
    expect(await notice(c.id, 'pago_vencido')).toMatchObject({ estado: 'pendiente' });
    await deliveredLate(await wamidOf(id), c.whatsapp);
    expect(await notice(c.id, 'pago_vencido')).toMatchObject({ estado: 'entregado', canal: 'whatsapp' });
    await pass();
    expect(sms.inbox(c.phone)).toHaveLength(0);
    expect(mails(c.email)).toHaveLength(0);
    expect(await notificationPath(ctx.db, id, 'America/Guayaquil')).toBe('WhatsApp: entregado 10:31');
  });

  it('only must-deliver notices move for no delivery, and not while no other channel may send', async () => {
    const reminder = await client();
    const night = await client();
    wa.setWebhookUrl(undefined);
    await enqueue(
      ctx.db,
      [{ client_id: reminder.id, tipo: 'mantenimiento', mensaje: 'Corte el jueves' }],
      clock.now(),
    );
    await pass();
    clock.advance(31 * 60_000);
    await pass();
    expect(await notice(reminder.id, 'mantenimiento')).toMatchObject({
      estado: 'enviado',
      canal: 'whatsapp',
    });
    expect(sms.inbox(reminder.phone)).toHaveLength(0);

    // Tuesday 19:00: SMS is closed; without an e-mail the notice keeps waiting for WhatsApp's report.
    clock.set('2026-03-11T00:00:00Z');
    await ctx.db.query('UPDATE clients SET email = NULL WHERE id = $1', [night.id]);
    await generate();
    await pass();
    clock.advance(31 * 60_000);
    await pass();
    expect(await notice(night.id, 'pago_vencido')).toMatchObject({ estado: 'enviado', canal: 'whatsapp' });
    // Wednesday 09:01: the SMS window opens and it moves.
    clock.set('2026-03-11T14:01:00Z');
    await pass();
    expect(await notice(night.id, 'pago_vencido')).toMatchObject({ estado: 'enviado', canal: 'sms' });
    expect(sms.inbox(night.phone)).toHaveLength(1);
  });
});
