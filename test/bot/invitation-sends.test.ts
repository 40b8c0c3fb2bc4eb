import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordConsent } from '../../src/clients/consents.js';
import { parseConfig } from '../../src/config.js';
import { createEmailChannel, createEmailSender, type EmailSender } from '../../src/email/index.js';
import { qrPng } from '../../src/lib/qr.js';
import {
  defaultSmsTemplates,
  renderSms,
  smsTemplateProblems,
  smsWorstCaseValues,
} from '../../src/notifications/channel-texts.js';
import { createDispatcher, type Dispatcher } from '../../src/notifications/index.js';
import { WORST_CASE_LINK } from '../../src/notifications/templates.js';
import { smsChannelFromConfig } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { createWhatsAppAdapter } from '../../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../../src/whatsapp/graph.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../../src/whatsapp/standin/index.js';
import { createTemplateSync, templateResolverFor } from '../../src/whatsapp/templates.js';
import { settingsFor, silent, startTestStandin } from '../notifications/support.js';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';
import { type BotHarness, startBotHarness } from './support.js';

describe('the invitation SMS', () => {
  it('fits one 160-character GSM-7 SMS with the longest link; a longer text is refused in the editor', () => {
    const settings = settingsFor();
    expect(WORST_CASE_LINK.length).toBe(74);
    const r = renderSms(defaultSmsTemplates.invitacion, smsWorstCaseValues(settings));
    expect(r.text).toContain(WORST_CASE_LINK);
    expect(r.length).toBeLessThanOrEqual(160);
    expect(smsTemplateProblems(defaultSmsTemplates.invitacion, settings)).toEqual([]);
    const wordy = `{empresa} le invita a recibir sus avisos de pago y de mantenimiento por Telegram, gratis: {enlace}`;
    expect(smsTemplateProblems(wordy, settings).join()).toMatch(/tendría \d+ caracteres \(máximo 160\)/);
  });
});

/**
 * Issue 11 §5: invitations by SMS, e-mail and WhatsApp, in bulk through the campaign machinery,
 * end to end against the stand-ins — the API creates the send, the real dispatcher delivers it to
 * the SMS gateway stand-in, the in-process SMTP server and the WhatsApp stand-in, the client opens
 * the link on the Telegram stand-in, and the funnel counts it per channel.
 */
describeEachDb('invitations through SMS, e-mail and WhatsApp (issue 11 §5)', (ctx) => {
  let h: BotHarness;
  let telegram: Standin;
  let sms: SmsGatewayStandin;
  let smtp: SmtpStandin;
  let wa: WhatsAppStandin;
  let mailer: EmailSender;
  let dispatcher: Dispatcher;
  let seq = 500;
  let sectorSeq = 0;

  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling' });
    const tg = await startTestStandin();
    telegram = tg.standin;
    sms = await startSmsGatewayStandin();
    smtp = await startSmtpStandin();
    wa = await startWhatsAppStandin({ pairIntervalMs: 0 });
    mailer = createEmailSender({ smtpUrl: smtp.url, from: 'TelTec <avisos@teltec.test>', dkim: null });
    const waClient = createWhatsAppClient({
      token: wa.token,
      phoneNumberId: wa.phoneNumberId,
      businessAccountId: wa.businessAccountId,
      apiRoot: wa.url,
      apiVersion: 'v23.0',
      timeoutMs: 5000,
    });
    await createTemplateSync({ db: ctx.db, client: waClient, clock: h.clock, logger: silent }).runOnce();
    dispatcher = createDispatcher({
      db: ctx.db,
      sender: tg.sender,
      clock: h.clock,
      logger: silent,
      settings: settingsFor(),
      resolveTemplate: templateResolverFor(ctx.db),
      extraChannels: [
        smsChannelFromConfig(parseConfig({ SMS_GATEWAY_URL: sms.sendUrl }))!,
        createEmailChannel({
          sender: mailer,
          ratePerSecond: 100,
          unsubscribeUrl: (id) => `http://127.0.0.1/baja/correo?c=${id}&t=x`,
          empresa: () => 'TelTec',
        }),
        createWhatsAppAdapter({ client: waClient, ratePerSecond: 100, dailyLimit: 1000 }),
      ],
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 1, maxAttempts: 6, idleMs: 20 },
    });
  });
  afterAll(async () => {
    await dispatcher?.stop({ drainMs: 2000 });
    mailer?.close();
    await Promise.all([h?.close(), telegram?.close(), sms?.close(), smtp?.close(), wa?.close()]);
  });

  const newSector = () => `Sector Invitaciones ${++sectorSeq}`;

  /** A client of `sector`: optional Telegram chat, mobile (also its WhatsApp) and e-mail. */
  async function client(sector: string, o: { chat?: boolean; mobile?: boolean; email?: boolean } = {}) {
    seq++;
    const chat = o.chat ? 800_000_000 + seq : null;
    const phone = o.mobile === false ? null : `5939${String(30_000_000 + seq)}`;
    const email = o.email ? `invitado${seq}@correo.test` : null;
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, sector, chat_id, link_verified, telefono, telefono_norm, whatsapp, email)
       VALUES ($1, $2, $3, $4::bigint, $4::bigint IS NOT NULL, $5, $5, $5, $6) RETURNING id`,
      [cedulaFor(seq), `Cliente Invitado ${seq}`, sector, chat, phone, email],
    );
    return { id: rows[0]!.id, nombre: `Cliente Invitado ${seq}`, chat, phone, email };
  }

  const post = (url: string, payload: unknown) =>
    h.app.inject({ method: 'POST', url, headers: auth, payload: payload as object });
  const notices = async (campaignId: number) =>
    (
      await ctx.db.query<{ client_id: number; estado: string; motivo: string | null; canal: string }>(
        'SELECT client_id, estado, motivo, canal FROM notifications WHERE campaign_id = $1 ORDER BY client_id',
        [campaignId],
      )
    ).rows;
  const startToken = (text: string) => /https:\/\/t\.me\/\w+\?start=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  const funnel = async (canal: string, campaignId?: number) => {
    const res = await h.app.inject({
      url: `/api/invitaciones/embudo${campaignId ? `?campana_id=${campaignId}` : ''}`,
      headers: auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().canales.find((c: { canal: string }) => c.canal === canal);
  };

  it('SMS and e-mail reach each unlinked client exactly once with a working link; opening it moves the funnel', async () => {
    const sector = newSector();
    const both = await client(sector, { email: true });
    const smsOnly = await client(sector);
    const linked = await client(sector, { chat: true, email: true });
    const optedOut = await client(sector, { email: true });
    await recordConsent(ctx.db, {
      clientId: optedOut.id,
      canal: 'sms',
      categoria: 'servicio',
      otorgado: false,
      fuente: 'sms',
      at: h.clock.now(),
    });

    const preview = await post('/api/invitaciones/envios/vista-previa', { canal: 'sms', sector });
    expect(preview.statusCode, preview.body).toBe(200);
    const p = preview.json();
    expect(p).toMatchObject({
      canal: 'sms',
      sin_telegram: 3,
      audiencia: 2,
      excluidos: { sin_consentimiento: 1 },
      por_canal: { sms: 2, email: 2 },
    });
    expect(p.muestra).toHaveLength(2);
    expect(p.muestra[0].texto).toMatch(
      /^TelTec: reciba sus avisos de pago por Telegram\. Su enlace personal: https:\/\/t\.me\/TelTecTestBot\?start=/,
    );
    expect(p.muestra[0].longitud).toBeLessThanOrEqual(160);
    // The preview created nothing.
    expect((await ctx.db.query('SELECT 1 FROM campaigns WHERE tipo = $1', ['invitacion'])).rows).toHaveLength(
      0,
    );

    const created = await post('/api/invitaciones/envios', { canal: 'sms', sector });
    expect(created.statusCode, created.body).toBe(201);
    const envio = created.json();
    expect(envio).toMatchObject({ tipo: 'invitacion', canal: 'sms', total: 2, estado: 'en_curso' });
    // Sending it again right away: the queued ones are not invited twice.
    const again = await post('/api/invitaciones/envios', { canal: 'sms', sector });
    expect(again.statusCode).toBe(422);
    expect(again.json().error).toMatchObject({ code: 'AUDIENCIA_VACIA' });

    await dispatcher.runOnce();
    await dispatcher.runOnce();
    expect((await notices(envio.id)).map((n) => [n.client_id, n.estado, n.canal])).toEqual([
      [both.id, 'enviado', 'sms'],
      [smsOnly.id, 'enviado', 'sms'],
    ]);
    expect(sms.inbox(linked.phone!)).toHaveLength(0);
    expect(sms.inbox(optedOut.phone!)).toHaveLength(0);
    const [toBoth] = sms.inbox(both.phone!);
    expect(sms.inbox(both.phone!)).toHaveLength(1);
    expect(sms.inbox(smsOnly.phone!)).toHaveLength(1);
    expect(toBoth!.message.length).toBeLessThanOrEqual(160);
    const smsToken = startToken(toBoth!.message);
    expect(smsToken).toBeTruthy();
    // The mass sends page shows the send with its clients' real links (not a missing {enlace}).
    const asCampaign = (await h.app.inject({ url: `/api/campanas/${envio.id}`, headers: auth })).json();
    expect(asCampaign.muestra[0]).toMatchObject({ cliente_id: both.id, motivo: null });
    expect(asCampaign.muestra[0].texto).toContain(`https://t.me/TelTecTestBot?start=${smsToken}`);

    // The same invitation by e-mail: one mail, subject and link in both parts.
    const mailSend = await post('/api/invitaciones/envios', { canal: 'email', sector });
    expect(mailSend.statusCode, mailSend.body).toBe(201);
    expect(mailSend.json()).toMatchObject({ canal: 'email', total: 2 });
    await dispatcher.runOnce();
    const mails = smtp.mails.filter((m) => m.to.includes(both.email!));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Reciba sus avisos de TelTec por Telegram');
    const mailToken = startToken(mails[0]!.text);
    expect(mailToken).toBeTruthy();
    expect(mails[0]!.html).toContain(`href="https://t.me/TelTecTestBot?start=${mailToken}"`);
    expect(mailToken).not.toBe(smsToken); // one link per channel: the funnel knows which one opened
    // The QR of the same link, inline (for a mail read on a computer).
    // (mailparser turns the cid: reference into a data: URI once it resolved the attachment.)
    expect(mails[0]!.html).toMatch(
      /<img src="(cid:qr-invitacion@teltec|data:image\/png;base64,[^"]+)" alt="Código QR/,
    );
    const [qr] = mails[0]!.attachments;
    expect(qr).toMatchObject({ cid: 'qr-invitacion@teltec', contentType: 'image/png' });
    expect(qr!.content.equals(await qrPng(`https://t.me/TelTecTestBot?start=${mailToken}`, 240))).toBe(true);
    expect(await funnel('sms', envio.id)).toMatchObject({ enviadas: 2, abrieron_el_bot: 0, vinculados: 0 });

    // The client opens the SMS link on Telegram: linked at once (verified), funnel moves on SMS only.
    const user = h.user({ chatId: 810_000_000 + seq });
    const replies = await h.act(user, (u) => u.command('start', smsToken));
    expect(replies.map((r) => r.text).join('\n')).toContain('¡Listo');
    const row = (
      await ctx.db.query<{ chat_id: string | null; link_verified: boolean }>(
        'SELECT chat_id, link_verified FROM clients WHERE id = $1',
        [both.id],
      )
    ).rows[0]!;
    expect(Number(row.chat_id)).toBe(user.chatId);
    expect(row.link_verified).toBe(true);
    expect(await funnel('sms', envio.id)).toMatchObject({ enviadas: 2, abrieron_el_bot: 1, vinculados: 1 });
    expect(await funnel('email', mailSend.json().id)).toMatchObject({
      enviadas: 2,
      abrieron_el_bot: 0,
      vinculados: 0,
    });
    // The e-mail link is the same invitation: spent now.
    const late = h.user({ chatId: 811_000_000 + seq });
    const lateReply = await h.act(late, (u) => u.command('start', mailToken));
    expect(lateReply.map((r) => r.text).join('\n')).toContain('Este enlace de invitación ya fue usado.');
    const after = await ctx.db.query<{ chat_id: string }>('SELECT chat_id FROM clients WHERE id = $1', [
      both.id,
    ]);
    expect(Number(after.rows[0]!.chat_id)).toBe(user.chatId);
  });

  it('a client linked (or whose invitation was revoked) before the send goes out is not sent', async () => {
    const sector = newSector();
    const linksFirst = await client(sector);
    const revoked = await client(sector);
    const stays = await client(sector);
    const created = await post('/api/invitaciones/envios', { canal: 'sms', sector });
    expect(created.statusCode, created.body).toBe(201);
    const envio = created.json();
    expect(envio.total).toBe(3);
    // Before the dispatcher runs: one links through the printed QR (its own invitation link)…
    const inv = (
      await h.app.inject({ url: `/api/clientes/${linksFirst.id}/invitacion`, headers: auth })
    ).json();
    await h.act(h.user({ chatId: 820_000_000 + seq }), (u) => u.command('start', inv.token));
    // …and staff revoke the other's invitation.
    const del = await h.app.inject({
      method: 'DELETE',
      url: `/api/clientes/${revoked.id}/invitacion`,
      headers: auth,
    });
    expect(del.json()).toMatchObject({ ok: true, revocadas: 1 });

    await dispatcher.runOnce();
    const rows = await notices(envio.id);
    expect(rows.map((n) => [n.client_id, n.estado, n.motivo])).toEqual([
      [linksFirst.id, 'cancelado', 'ya_vinculado'],
      [revoked.id, 'cancelado', 'invitacion_no_disponible'],
      [stays.id, 'enviado', null],
    ]);
    expect(sms.inbox(linksFirst.phone!)).toHaveLength(0);
    expect(sms.inbox(revoked.phone!)).toHaveLength(0);
    expect(sms.inbox(stays.phone!)).toHaveLength(1);
  });

  it('cancel stops the rest: what did not go out yet never goes', async () => {
    const sector = newSector();
    const clients = [await client(sector), await client(sector), await client(sector)];
    const envio = (await post('/api/invitaciones/envios', { canal: 'sms', sector })).json();
    expect(envio.total).toBe(3);
    // The gateway is down for two of them: they wait for a retry.
    sms.failNext({ kind: 'status', status: 503 }, 2);
    await dispatcher.runOnce();
    const got = () => clients.filter((c) => sms.inbox(c.phone!).length > 0).length;
    expect(got()).toBe(1);

    const res = await post(`/api/invitaciones/envios/${envio.id}/cancelar`, {});
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      estado: 'cancelada',
      canal: 'sms',
      progreso: { enviadas: 1, canceladas: 2, pendientes: 0 },
    });
    h.clock.advance(30 * 60_000);
    await dispatcher.runOnce();
    expect(got()).toBe(1);
    const again = await post(`/api/invitaciones/envios/${envio.id}/cancelar`, {});
    expect(again.statusCode).toBe(409);
    const progress = await h.app.inject({ url: `/api/invitaciones/envios/${envio.id}`, headers: auth });
    expect(progress.json()).toMatchObject({
      estado: 'cancelada',
      embudo: [{ canal: 'sms', enviadas: 1, abrieron_el_bot: 0, vinculados: 0 }],
    });
  });

  it('WhatsApp: the approved invitacion_bot template, only to clients with consent, never another channel', async () => {
    const sector = newSector();
    const consented = await client(sector);
    const noConsent = await client(sector);
    const noWhatsApp = await client(sector);
    for (const c of [consented, noWhatsApp]) {
      await recordConsent(ctx.db, {
        clientId: c.id,
        canal: 'whatsapp',
        categoria: 'servicio',
        otorgado: true,
        fuente: 'contrato',
        at: h.clock.now(),
      });
    }
    const preview = (
      await post('/api/invitaciones/envios/vista-previa', { canal: 'whatsapp', sector })
    ).json();
    expect(preview).toMatchObject({ audiencia: 2, excluidos: { sin_consentimiento: 1 } });
    expect(preview.muestra[0]).toMatchObject({
      canal: 'whatsapp',
      plantilla: 'invitacion_bot',
      motivo: null,
    });
    expect(preview.muestra[0].parametros).toEqual([consented.nombre, 'TelTec', preview.muestra[0].enlace]);
    const envio = (await post('/api/invitaciones/envios', { canal: 'whatsapp', sector })).json();
    expect(envio.total).toBe(2);
    // The number has no WhatsApp (131026): the invitation never falls back to another channel.
    wa.failRecipient(noWhatsApp.phone!, { code: 131026 });
    await dispatcher.runOnce();
    h.clock.advance(60 * 60_000);
    await dispatcher.runOnce();
    expect((await notices(envio.id)).map((n) => [n.client_id, n.estado, n.motivo])).toEqual([
      [consented.id, 'enviado', null],
      [noWhatsApp.id, 'fallido', 'whatsapp_inalcanzable'],
    ]);
    const tries = await ctx.db.query<{ canal: string }>(
      `SELECT e.canal FROM notification_envios e JOIN notifications n ON n.id = e.notification_id
        WHERE n.campaign_id = $1 AND n.client_id = $2`,
      [envio.id, noWhatsApp.id],
    );
    expect(tries.rows).toEqual([{ canal: 'whatsapp' }]);
    expect(sms.inbox(noWhatsApp.phone!)).toHaveLength(0);
    const sent = wa.messages.filter((m) => m.to === consented.phone);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: 'template', template: { name: 'invitacion_bot', language: 'es' } });
    expect(startToken(sent[0]!.template!.params[2]!)).toBeTruthy();
    expect(wa.messages.filter((m) => m.to === noConsent.phone)).toHaveLength(0);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const bad = await post('/api/invitaciones/envios', { canal: 'telegram', sector: 'x' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('VALIDACION');
    const empty = await post('/api/invitaciones/envios', { canal: 'sms', sector: 'Sector que no existe' });
    expect(empty.statusCode).toBe(422);
    expect(empty.json().error).toMatchObject({ code: 'AUDIENCIA_VACIA' });
    expect(empty.json().error.mensaje).toMatch(/por SMS/);
    const missing = await h.app.inject({ url: '/api/invitaciones/envios/999999', headers: auth });
    expect(missing.statusCode).toBe(404);
  });
});
