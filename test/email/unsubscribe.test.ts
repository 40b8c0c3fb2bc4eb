import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChannelRegistry } from '../../src/channels/index.js';
import { consentHistory, recordConsent } from '../../src/clients/consents.js';
import {
  createEmailChannel,
  createEmailSender,
  loadUnsubscribeKey,
  unsubscribeUrl,
} from '../../src/email/index.js';
import type { App } from '../../src/http/types.js';
import { buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';

describeEachDb('marketing e-mail: List-Unsubscribe one-click', (ctx) => {
  let app: App;
  let base: string;
  let smtp: SmtpStandin;
  let clientId: number;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    smtp = await startSmtpStandin();
    const c = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, email) VALUES ($1, 'Ana', 'ana@cliente.test') RETURNING id`,
      [cedulaFor(31)],
    );
    clientId = c.rows[0]!.id;
    await recordConsent(ctx.db, {
      clientId,
      canal: 'email',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'formulario',
      evidencia: 'formulario de contrato',
      at: new Date('2026-03-01T12:00:00Z'),
    });
  });
  afterAll(async () => {
    await smtp.close();
    await app.close();
  });

  it('an offer carries List-Unsubscribe; the one-click POST revokes marketing in the ledger, once', async () => {
    const key = await loadUnsubscribeKey(ctx.db);
    expect((await loadUnsubscribeKey(ctx.db)).equals(key)).toBe(true); // one key per database
    const sender = createEmailSender({ smtpUrl: smtp.url, from: 'TelTec <avisos@teltec.test>', dkim: null });
    const email = createEmailChannel({
      sender,
      ratePerSecond: 5,
      unsubscribeUrl: (id) => unsubscribeUrl(base, key, id),
      empresa: () => 'TelTec',
    });
    expect(createChannelRegistry([email]).names()).toEqual(['email']);
    const common = {
      notificationId: 1,
      clientId,
      tipo: 'oferta',
      to: 'ana@cliente.test',
      signal: new AbortController().signal,
    };
    const composed = {
      text: 'Nuevo plan 200 Mbps',
      html: false,
      subject: 'Novedades de TelTec',
      htmlBody: '<html><body><p>Nuevo plan</p></body></html>',
    };
    expect(await email.send({ ...common, envioId: 41, composed, marketing: true })).toMatchObject({
      ok: true,
    });
    expect(
      await email.send({ ...common, envioId: 42, composed, marketing: false, tipo: 'pago_vencido' }),
    ).toMatchObject({ ok: true });
    sender.close();
    const [offer, notice] = await smtp.waitForMails(2);
    const headers = offer!.raw.replace(/\r?\n(?=[ \t])/g, ''); // unfold
    const link = /^List-Unsubscribe:\s*<([^>]+)>\r?$/m.exec(headers)?.[1];
    expect(link).toBe(unsubscribeUrl(base, key, clientId));
    expect(offer!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(offer!.html).toContain('Dejar de recibirlas');
    expect(notice!.raw).not.toMatch(/List-Unsubscribe/); // service notices have no marketing opt-out

    // A link scanner's GET changes nothing; a forged token is refused.
    const page = await fetch(link!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sí, dejar de recibirlas');
    const forged = await fetch(link!.replace(/t=[^&]+/, 't=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(forged.status).toBe(400);
    expect((await consentHistory(ctx.db, clientId)).filter((r) => !r.otorgado)).toHaveLength(0);

    // RFC 8058 one-click, as a mail client sends it.
    for (let i = 0; i < 2; i++) {
      const r = await fetch(link!, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(r.status).toBe(200);
    }
    const ledger = await consentHistory(ctx.db, clientId);
    expect(ledger.map((r) => [r.canal, r.categoria, r.otorgado, r.fuente, r.registrado_por])).toEqual([
      ['email', 'marketing', false, 'email', 'cliente'],
      ['email', 'marketing', true, 'formulario', null],
    ]);
    const reach = await ctx.db.query<{ r: Record<string, string | null> }>(
      'SELECT teltec_channel_reasons(c, NULL, true) AS r FROM clients c WHERE id = $1',
      [clientId],
    );
    expect(reach.rows[0]!.r.email).toBe('sin_consentimiento');
  });
});
