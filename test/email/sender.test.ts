import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailSender, toEmailFailure } from '../../src/email/sender.js';
import { type SmtpStandin, startSmtpStandin } from '../support/smtp-standin.js';

describe('e-mail sender against the SMTP stand-in', () => {
  let smtp: SmtpStandin;
  const pass = ['p', 'a', 's', 's', String(Date.now())].join('');
  beforeAll(async () => {
    smtp = await startSmtpStandin({ user: 'avisos', pass });
  });
  afterAll(async () => {
    await smtp.close();
  });
  const sender = (url = smtp.url) =>
    createEmailSender({ smtpUrl: url, from: 'TelTec <avisos@teltec.test>', dkim: null, timeoutMs: 3000 });

  it('sends HTML and plain text with our headers', async () => {
    const s = sender();
    const r = await s.send({
      to: 'ana@cliente.test',
      subject: 'Pago vencido — TelTec',
      text: 'Hola Ana',
      html: '<p>Hola <b>Ana</b></p>',
      headers: {
        'List-Unsubscribe': '<https://x.test/baja>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      id: '15',
    });
    s.close();
    expect(r).toEqual({ ok: true, providerId: '<teltec-15@teltec.test>' });
    const [mail] = await smtp.waitForMails(1);
    expect(mail).toMatchObject({
      to: ['ana@cliente.test'],
      subject: 'Pago vencido — TelTec',
      text: 'Hola Ana',
    });
    expect(mail!.html).toContain('<b>Ana</b>');
    expect(mail!.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    expect(mail!.raw).toMatch(/^List-Unsubscribe: <https:\/\/x.test\/baja>\r?$/m);
  });
  it('550 at RCPT is permanent, 451 is temporary, a bad login is credentials', async () => {
    const s = sender();
    smtp.rejectRecipient('nadie@cliente.test');
    const perm = await s.send({
      to: 'nadie@cliente.test',
      subject: 's',
      text: 't',
      html: '<p>t</p>',
      id: '16',
    });
    expect(perm.ok === false && perm.failure).toMatchObject({ code: 'smtp_permanente', smtpCode: 550 });
    smtp.failNext(451);
    const temp = await s.send({
      to: 'ana@cliente.test',
      subject: 's',
      text: 't',
      html: '<p>t</p>',
      id: '17',
    });
    expect(temp.ok === false && temp.failure).toMatchObject({ code: 'smtp_temporal', smtpCode: 451 });
    s.close();
    const bad = sender(smtp.url.replace(pass, 'otra'));
    const auth = await bad.send({
      to: 'ana@cliente.test',
      subject: 's',
      text: 't',
      html: '<p>t</p>',
      id: '18',
    });
    bad.close();
    expect(auth.ok === false && auth.failure.code).toBe('smtp_credenciales');
    expect(auth.ok === false && auth.failure.message).not.toContain(pass);
  });
  it('an unreachable server is a network failure', async () => {
    const s = sender('smtp://127.0.0.1:9');
    const r = await s.send({ to: 'ana@cliente.test', subject: 's', text: 't', html: '<p>t</p>', id: '19' });
    s.close();
    expect(r.ok === false && r.failure).toMatchObject({ code: 'smtp_red', network: true });
    expect(toEmailFailure({ responseCode: 552 }).code).toBe('smtp_permanente');
  });
});
