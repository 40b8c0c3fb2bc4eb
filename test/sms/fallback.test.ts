import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordConsent } from '../../src/clients/consents.js';
import { createManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config.js';
import { createEmailChannel, createEmailSender, type EmailSender } from '../../src/email/index.js';
import {
  createDispatcher,
  type Dispatcher,
  generatePaymentNotices,
  notificationPath,
} from '../../src/notifications/index.js';
import { enqueue } from '../../src/notifications/outbox.js';
import { smsChannelFromConfig } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { createPlan, nextChatId, settingsFor, silent, startTestStandin } from '../notifications/support.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';

/** Issue 11 done-when: the fallback policy end to end through the dispatcher, against the stand-ins. */
describeEachDb('fallback to SMS and e-mail through the dispatcher', (ctx) => {
  let telegram: Standin;
  let sms: SmsGatewayStandin;
  let smtp: SmtpStandin;
  let mailer: EmailSender;
  let dispatcher: Dispatcher;
  let planId: number;
  let seq = 100;
  // Tuesday 10:00 in Guayaquil: inside SEND_WINDOW and SMS_WINDOW (lun-vie 09:00-18:00).
  const clock = createManualClock('2026-03-10T15:00:00Z');

  beforeAll(async () => {
    const tg = await startTestStandin();
    telegram = tg.standin;
    sms = await startSmsGatewayStandin();
    smtp = await startSmtpStandin();
    mailer = createEmailSender({ smtpUrl: smtp.url, from: 'TelTec <avisos@teltec.test>', dkim: null });
    planId = await createPlan(ctx.db, 'Hogar 50', 25.5);
    dispatcher = createDispatcher({
      db: ctx.db,
      sender: tg.sender,
      clock,
      logger: silent,
      settings: settingsFor(),
      extraChannels: [
        smsChannelFromConfig(parseConfig({ SMS_GATEWAY_URL: sms.sendUrl }))!,
        createEmailChannel({
          sender: mailer,
          ratePerSecond: 100,
          unsubscribeUrl: (id) => `http://127.0.0.1/baja/correo?c=${id}&t=x`,
          empresa: () => 'TelTec',
        }),
      ],
      options: {
        ratePerSecond: 1000,
        perChatPerSecond: 50,
        concurrency: 4,
        maxAttempts: 6,
        idleMs: 20,
        fallbackOrder: ['telegram', 'whatsapp', 'sms', 'email'],
      },
    });
  });
  afterAll(async () => {
    await dispatcher?.stop({ drainMs: 2000 });
    mailer?.close();
    await Promise.all([telegram.close(), sms.close(), smtp.close()]);
  });

  /** A client: optional Telegram chat, mobile and e-mail; a payment 32 days ago (overdue). */
  async function client(o: { chat?: boolean; mobile?: boolean; email?: boolean }) {
    seq++;
    const chat = o.chat ? nextChatId() : null;
    const phone = o.mobile ? `5939${String(10_000_000 + seq)}` : null;
    const email = o.email ? `cliente${seq}@correo.test` : null;
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, chat_id, link_verified, telefono_norm, email, plan_id, fecha_ultimo_pago)
       VALUES ($1, $2, $3::bigint, $3::bigint IS NOT NULL, $4, $5, $6, '2026-02-06') RETURNING id`,
      [cedulaFor(seq), `Cliente ${seq}`, chat, phone, email, planId],
    );
    return { id: rows[0]!.id, chat, phone, email };
  }
  const row = async (clientId: number, tipo: string) =>
    (
      await ctx.db.query<{ id: number; estado: string; motivo: string | null; canal: string }>(
        'SELECT id, estado, motivo, canal FROM notifications WHERE client_id = $1 AND tipo = $2',
        [clientId, tipo],
      )
    ).rows;
  const generate = () =>
    generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-10', now: clock.now() });

  it('blocked on Telegram, no WhatsApp: the overdue notice goes by SMS inside the SMS window, exactly once', async () => {
    const c = await client({ chat: true, mobile: true, email: true });
    telegram.failNext(1, { kind: 'blocked' }, { method: 'sendMessage', chatId: c.chat! });
    await generate();
    const before = { sms: sms.messages.length, mail: smtp.mails.length };
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    const [n] = await row(c.id, 'pago_vencido');
    expect(n).toMatchObject({ estado: 'enviado', canal: 'sms' });
    expect(sms.inbox(c.phone!)).toHaveLength(1);
    expect(sms.inbox(c.phone!)[0]!.message).toMatch(/^TelTec: su pago de \$25,50 vencio/);
    expect(sms.messages.length - before.sms).toBe(1);
    expect(smtp.mails.length - before.mail).toBe(0);
    expect(await notificationPath(ctx.db, n!.id, 'America/Guayaquil')).toBe(
      'Telegram: bloqueado → SMS: enviado 10:00',
    );
  });

  it('outside the SMS window the same notice goes by e-mail, exactly once', async () => {
    clock.set('2026-03-11T00:00:00Z'); // Tuesday 19:00: send window open, SMS window closed
    try {
      const c = await client({ chat: true, mobile: true, email: true });
      telegram.failNext(1, { kind: 'blocked' }, { method: 'sendMessage', chatId: c.chat! });
      await generate();
      await dispatcher.runOnce();
      await dispatcher.runOnce();
      const [n] = await row(c.id, 'pago_vencido');
      expect(n).toMatchObject({ estado: 'enviado', canal: 'email' });
      expect(sms.inbox(c.phone!)).toHaveLength(0);
      const mails = smtp.mails.filter((m) => m.to.includes(c.email!));
      expect(mails).toHaveLength(1);
      expect(mails[0]!.subject).toMatch(/^Pago vencido/);
      expect(mails[0]!.raw).not.toMatch(/List-Unsubscribe/);
    } finally {
      clock.set('2026-03-10T15:00:00Z');
    }
  });

  it('outside the SMS window with no other channel, the notice waits for the window (not lost, not failed) and goes once', async () => {
    clock.set('2026-03-11T00:00:00Z'); // Tuesday 19:00: send window open, SMS window closed
    try {
      const c = await client({ chat: true, mobile: true });
      telegram.failNext(1, { kind: 'blocked' }, { method: 'sendMessage', chatId: c.chat! });
      await generate();
      await dispatcher.runOnce();
      await dispatcher.runOnce();
      const waiting = await ctx.db.query<{ estado: string; proximo_intento: Date; ultimo_error: string }>(
        `SELECT estado, proximo_intento, ultimo_error, motivo FROM notifications WHERE client_id = $1 AND tipo = 'pago_vencido'`,
        [c.id],
      );
      expect(waiting.rows[0], JSON.stringify(await row(c.id, 'pago_vencido'))).toMatchObject({
        estado: 'pendiente',
      });
      expect(waiting.rows[0]!.ultimo_error).toMatch(/fuera de su horario/);
      // Wednesday 09:00 in Guayaquil, when SMS_WINDOW opens.
      expect(waiting.rows[0]!.proximo_intento.toISOString()).toBe('2026-03-11T14:00:00.000Z');
      expect(sms.inbox(c.phone!)).toHaveLength(0);
      clock.set('2026-03-11T14:05:00Z');
      await dispatcher.runOnce();
      await dispatcher.runOnce();
      const [n] = await row(c.id, 'pago_vencido');
      expect(n).toMatchObject({ estado: 'enviado', canal: 'sms' });
      expect(sms.inbox(c.phone!)).toHaveLength(1);
    } finally {
      clock.set('2026-03-10T15:00:00Z');
    }
  });

  it('an offer never falls back, and never reaches a client without marketing consent', async () => {
    const blocked = await client({ chat: true, mobile: true, email: true });
    const unconsented = await client({ mobile: true, email: true });
    const consented = await client({ mobile: true, email: true });
    await recordConsent(ctx.db, {
      clientId: consented.id,
      canal: 'email',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'formulario',
      at: clock.now(),
    });
    telegram.failNext(1, { kind: 'blocked' }, { method: 'sendMessage', chatId: blocked.chat! });
    await enqueue(
      ctx.db,
      [blocked, unconsented, consented].map((c) => ({
        client_id: c.id,
        tipo: 'oferta' as const,
        mensaje: 'Nuevo plan 200 Mbps',
      })),
      clock.now(),
    );
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    expect((await row(blocked.id, 'oferta'))[0]).toMatchObject({ estado: 'fallido', canal: 'telegram' });
    expect((await row(unconsented.id, 'oferta'))[0]!.estado).toBe('fallido');
    expect((await row(consented.id, 'oferta'))[0]).toMatchObject({ estado: 'enviado', canal: 'email' });
    for (const c of [blocked, unconsented]) {
      expect(sms.inbox(c.phone!)).toHaveLength(0);
      expect(smtp.mails.filter((m) => m.to.includes(c.email!))).toHaveLength(0);
    }
    expect(sms.inbox(consented.phone!)).toHaveLength(0);
    const offer = smtp.mails.filter((m) => m.to.includes(consented.email!));
    expect(offer).toHaveLength(1);
    expect(offer[0]!.raw).toMatch(/List-Unsubscribe-Post: List-Unsubscribe=One-Click/);
  });

  it('a 5xx from the gateway retries; a 4xx fails without retrying', async () => {
    const retried = await client({ mobile: true });
    const refused = await client({ mobile: true });
    await enqueue(
      ctx.db,
      [{ client_id: retried.id, tipo: 'manual', mensaje: 'Corte programado el jueves' }],
      clock.now(),
    );
    sms.failNext({ kind: 'status', status: 503 });
    await dispatcher.runOnce();
    expect((await row(retried.id, 'manual'))[0]!.estado).toBe('pendiente');
    expect(sms.inbox(retried.phone!)).toHaveLength(0);
    clock.advance(5 * 60_000);
    await dispatcher.runOnce();
    expect((await row(retried.id, 'manual'))[0]).toMatchObject({ estado: 'enviado', canal: 'sms' });
    expect(sms.inbox(retried.phone!)).toHaveLength(1);

    await enqueue(ctx.db, [{ client_id: refused.id, tipo: 'manual', mensaje: 'Aviso' }], clock.now());
    const requests = sms.requests.length;
    sms.failNext({ kind: 'status', status: 400 });
    await dispatcher.runOnce();
    clock.advance(10 * 60_000);
    await dispatcher.runOnce();
    const [n] = await row(refused.id, 'manual');
    expect(n!.estado).toBe('fallido');
    expect(sms.requests.length - requests).toBe(1);
    const envios = await ctx.db.query<{ estado: string; error_codigo: string }>(
      'SELECT estado, error_codigo FROM notification_envios WHERE notification_id = $1',
      [n!.id],
    );
    expect(envios.rows).toEqual([{ estado: 'fallido', error_codigo: 'sms_rechazado' }]);
  });
});
