import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { isSmsOptOut } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import { buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

it('SALIR, STOP and BAJA in any case, with accents or punctuation, are an opt-out; other texts are not', () => {
  for (const t of ['SALIR', 'salir', ' Salír! ', '¡SALIR!', 'stop', 'Stop.', 'baja', 'BAJÁ']) {
    expect(isSmsOptOut(t), t).toBe(true);
  }
  for (const t of ['', 'hola', 'quiero salir', 'SALIR YA', 'STOPP', 'bajar']) {
    expect(isSmsOptOut(t), t).toBe(false);
  }
});

describeEachDb('inbound SMS through the gateway (POST /api/sms/entrante)', (ctx) => {
  const secret = ['sms', 'entrante', 'secreto', String(process.pid)].join('-');
  let app: App;
  let url: string;
  let standin: SmsGatewayStandin;
  let clientId: number;

  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, {
      env: {
        SMS_GATEWAY_URL: 'http://127.0.0.1:9/send?to={to}&message={message}&id={id}',
        SMS_DLR_SECRET: secret,
      },
    }));
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/sms/entrante`;
    standin = await startSmsGatewayStandin();
    const c = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono_norm, email) VALUES ($1, 'Ana', '593991234567', 'ana@correo.test')
       RETURNING id`,
      [cedulaFor(31)],
    );
    clientId = c.rows[0]!.id;
  });
  afterAll(async () => {
    await standin?.close();
    await app?.close();
  });

  const ledger = async () =>
    (
      await ctx.db.query<{
        canal: string;
        categoria: string;
        otorgado: boolean;
        fuente: string;
        evidencia: string;
      }>('SELECT canal, categoria, otorgado, fuente, evidencia FROM consents ORDER BY categoria')
    ).rows;
  /** Can SMS carry this client's service notices? The one SQL home of the answer. */
  const smsReason = async () =>
    (
      await ctx.db.query<{ sms: string | null }>(
        `SELECT teltec_channel_reasons(c, now(), false)->>'sms' AS sms FROM clients c WHERE c.id = $1`,
        [clientId],
      )
    ).rows[0]!.sms;

  it('a wrong or missing secret is 401 before the body is read, and records nothing', async () => {
    const wrong = await standin.clientSends(url, { from: '0991234567', text: 'SALIR', secret: 'otro' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.code).toBe('SMS_SECRETO_INVALIDO');
    // Without the secret, a body that is not even valid JSON is never parsed: 401, not 400.
    const unread = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(unread.status).toBe(401);
    expect(await ledger()).toEqual([]);
  });

  it('an unknown sender or another text: 200 and nothing changes; a missing field is a 422 in Spanish', async () => {
    const unknown = await standin.clientSends(url, { from: '0987000000', text: 'SALIR', secret });
    expect(unknown.status).toBe(200);
    expect(JSON.parse(unknown.body)).toEqual({ ok: true, resultado: 'desconocido' });
    const other = await standin.clientSends(url, { from: '0991234567', text: 'Hola, ¿cuánto debo?', secret });
    expect(JSON.parse(other.body)).toEqual({ ok: true, resultado: 'ignorado' });
    const missing = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sms-secret': secret },
      body: JSON.stringify({ text: 'SALIR' }),
    });
    expect(missing.status).toBe(422);
    expect((await missing.json()).error.mensaje).toMatch(/Faltan "from"/);
    expect(await ledger()).toEqual([]);
    expect(await smsReason()).toBeNull();
  });

  it('"Salír!" from the client\'s mobile revokes SMS in the ledger (source sms); SMS no longer carries its notices', async () => {
    const res = await standin.clientSends(url, { from: '+593 99 123 4567', text: 'Salír!', secret });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true, resultado: 'baja' });
    const rows = await ledger();
    expect(rows.map(({ evidencia: _, ...r }) => r)).toEqual([
      { canal: 'sms', categoria: 'marketing', otorgado: false, fuente: 'sms' },
      { canal: 'sms', categoria: 'servicio', otorgado: false, fuente: 'sms' },
    ]);
    expect(rows[0]!.evidencia).toContain('Salír!');
    expect(await smsReason()).toBe('sin_consentimiento');
    // The client's consents as staff see them (the consentimientos API).
    const shown = await app.inject({
      method: 'GET',
      url: `/api/clientes/${clientId}/consentimientos`,
      headers: { authorization: 'Bearer test-admin-token-0123456789' },
    });
    expect(shown.statusCode).toBe(200);
    expect(JSON.stringify(shown.json())).toContain('"fuente":"sms"');
    // Twilio-style JSON with the secret in the query works too (a second STOP is just recorded again).
    const twilio = await fetch(`${url}?secreto=${secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ From: '+593991234567', Body: 'STOP' }),
    });
    expect((await twilio.json()).resultado).toBe('baja');
  });
});
