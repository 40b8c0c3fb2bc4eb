import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';
import { isInWeekWindow, parseWeekWindow } from '../../src/lib/week-window.js';
import { buildGatewayRequest, createSmsGateway } from '../../src/sms/gateway.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import { redactBotToken } from '../../src/telegram/redact.js';

describe('SMS gateway request', () => {
  const values = { to: '593991234567', message: 'Pago vencido: $25,50 & más', id: '42' };
  it('GET puts URL-encoded values in the URL', () => {
    const r = buildGatewayRequest(
      {
        url: 'https://gw.example/send?to={to}&msg={message}&ref={id}',
        method: 'GET',
        body: null,
        headers: {},
      },
      values,
    );
    expect(r.url).toBe(
      'https://gw.example/send?to=593991234567&msg=Pago%20vencido%3A%20%2425%2C50%20%26%20m%C3%A1s&ref=42',
    );
    expect(r.init.method).toBe('GET');
  });
  it('POST form-encodes the body template (Twilio preset)', () => {
    const r = buildGatewayRequest(
      {
        url: 'https://api.twilio.example/2010-04-01/Accounts/AC1/Messages.json',
        method: 'POST',
        body: 'To=%2B{to}&From=%2B15550000000&Body={message}',
        headers: { Authorization: 'Basic abc' },
      },
      values,
    );
    expect(r.init.body).toBe(
      'To=%2B593991234567&From=%2B15550000000&Body=Pago+vencido%3A+%2425%2C50+%26+m%C3%A1s',
    );
    expect(r.init.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(r.init.body as string).get('Body')).toBe(values.message);
  });
  it('POST_JSON escapes values inside the JSON template', () => {
    const r = buildGatewayRequest(
      {
        url: 'https://gw.example/api',
        method: 'POST_JSON',
        body: '{"to":"{to}","text":"{message}","ref":"{id}"}',
        headers: {},
      },
      { ...values, message: 'dice "hola"\nadiós' },
    );
    expect(JSON.parse(r.init.body as string)).toEqual({
      to: '593991234567',
      text: 'dice "hola"\nadiós',
      ref: '42',
    });
  });
});

describe('SMS_WINDOW', () => {
  it('parses days and times', () => {
    const w = parseWeekWindow('lun-vie 09:00-18:00');
    expect(isInWeekWindow(w, 1, '09:00')).toBe(true);
    expect(isInWeekWindow(w, 5, '17:59')).toBe(true);
    expect(isInWeekWindow(w, 5, '18:00')).toBe(false);
    expect(isInWeekWindow(w, 6, '10:00')).toBe(false);
    expect(isInWeekWindow(w, 0, '10:00')).toBe(false);
    const always = parseWeekWindow('00:00-24:00');
    expect(isInWeekWindow(always, 0, '23:59')).toBe(true);
    const wrap = parseWeekWindow('vie-lun,mié 20:00-08:00');
    expect([...(wrap.days ?? [])].sort()).toEqual([0, 1, 3, 5, 6]);
    expect(isInWeekWindow(wrap, 3, '07:00')).toBe(true);
    expect(isInWeekWindow(wrap, 3, '12:00')).toBe(false);
  });
  it('refuses a bad window naming the variable', () => {
    expect(() => parseConfig({ SMS_WINDOW: 'lunes a viernes' })).toThrow(/SMS_WINDOW/);
    expect(() => parseConfig({ SMS_WINDOW: 'xyz-vie 09:00-18:00' })).toThrow(ConfigError);
    expect(parseConfig({}).sms).toBeUndefined();
  });
  it('reads the gateway settings and refuses incomplete ones', () => {
    const c = parseConfig({
      SMS_GATEWAY_URL: 'https://gw.example/send?to={to}&message={message}',
      SMS_GATEWAY_HEADERS: 'Authorization: Bearer abc; X-Cuenta: 7',
    });
    expect(c.sms?.headers).toEqual({ Authorization: 'Bearer abc', 'X-Cuenta': '7' });
    expect(c.sms?.window).toBe('lun-vie 09:00-18:00');
    expect(() =>
      parseConfig({ SMS_GATEWAY_URL: 'https://gw.example/send', SMS_GATEWAY_METHOD: 'POST_JSON' }),
    ).toThrow(/SMS_GATEWAY_BODY|\{to\}/);
  });
});

describe('SMS gateway against the stand-in', () => {
  let standin: SmsGatewayStandin;
  const secret = ['clave', 'secreta', String(Date.now())].join('-');
  beforeAll(async () => {
    standin = await startSmsGatewayStandin();
  });
  afterAll(async () => {
    await standin.close();
  });
  const gateway = () =>
    createSmsGateway({
      url: `${standin.url}/send?to={to}&message={message}&id={id}&key=${secret}`,
      method: 'GET',
      body: null,
      headers: { Authorization: `Bearer ${secret}` },
      okRegex: '"status":"ok"',
      timeoutMs: 2000,
    });

  it('sends and records; the provider id is ours', async () => {
    const r = await gateway().send({ to: '593991234567', message: 'Hola, ñandú', id: '7' });
    expect(r).toEqual({ ok: true, providerId: '7' });
    expect(standin.inbox('593991234567').at(-1)?.message).toBe('Hola, ñandú');
  });
  it('5xx and dropped connections are retryable; 4xx is a refusal; 401 is credentials; 429 carries Retry-After', async () => {
    const g = gateway();
    standin.failNext({ kind: 'status', status: 503 });
    const r5 = await g.send({ to: '593991234567', message: 'x', id: '8' });
    expect(r5.ok === false && r5.failure.code).toBe('sms_error_servidor');
    standin.failNext({ kind: 'drop' });
    const rd = await g.send({ to: '593991234567', message: 'x', id: '8' });
    expect(rd.ok === false && rd.failure.code).toBe('sms_red');
    standin.failNext({ kind: 'status', status: 400, body: `numero invalido key=${secret}` });
    const r4 = await g.send({ to: '593991234567', message: 'x', id: '9' });
    expect(r4.ok === false && r4.failure.code).toBe('sms_rechazado');
    // The gateway's secret never shows in an error text, even when the gateway echoes it.
    expect(r4.ok === false && r4.failure.message).not.toContain(secret);
    standin.failNext({ kind: 'status', status: 401 });
    const ra = await g.send({ to: '593991234567', message: 'x', id: '9' });
    expect(ra.ok === false && ra.failure.code).toBe('sms_credenciales');
    standin.failNext({ kind: 'status', status: 429, retryAfter: 3 });
    const rl = await g.send({ to: '593991234567', message: 'x', id: '9' });
    expect(rl.ok === false && rl.failure).toMatchObject({ code: 'sms_limite', retryAfterMs: 3000 });
    standin.failNext({ kind: 'status', status: 200, body: '{"status":"error","saldo":0}' });
    const rb = await g.send({ to: '593991234567', message: 'x', id: '9' });
    expect(rb.ok === false && rb.failure.code).toBe('sms_respuesta_no_ok');
    expect(redactBotToken(`url ${secret}`)).not.toContain(secret);
  });
  it('a gateway that does not answer in time is a network failure', async () => {
    standin.setDelay(1500);
    try {
      const g = createSmsGateway({
        url: standin.sendUrl,
        method: 'GET',
        body: null,
        headers: {},
        okRegex: null,
        timeoutMs: 1000,
      });
      const r = await g.send({ to: '593991234567', message: 'x', id: '10' });
      expect(r.ok === false && r.failure).toMatchObject({ code: 'sms_red', network: true });
    } finally {
      standin.setDelay(0);
    }
  });
  it('POST form and POST JSON reach the stand-in', async () => {
    const form = createSmsGateway({
      url: `${standin.url}/send`,
      method: 'POST',
      body: null,
      headers: {},
      okRegex: null,
      timeoutMs: 2000,
    });
    expect((await form.send({ to: '593990000001', message: 'Por formulario', id: '11' })).ok).toBe(true);
    const json = createSmsGateway({
      url: `${standin.url}/api`,
      method: 'POST_JSON',
      body: '{"to":"{to}","message":"{message}","id":"{id}"}',
      headers: {},
      okRegex: null,
      timeoutMs: 2000,
    });
    expect((await json.send({ to: '593990000002', message: 'Por "JSON"', id: '12' })).ok).toBe(true);
    expect(standin.inbox('593990000001')[0]).toMatchObject({
      message: 'Por formulario',
      id: '11',
      method: 'POST',
    });
    expect(standin.inbox('593990000002')[0]).toMatchObject({ message: 'Por "JSON"', id: '12' });
  });
});
