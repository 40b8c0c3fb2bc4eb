import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { classifyEmailFailure } from '../../src/email/index.js';
import { classifySmsFailure, smsChannelFromConfig } from '../../src/sms/index.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';

describe('SMS channel adapter against the stand-in', () => {
  let standin: SmsGatewayStandin;
  beforeAll(async () => {
    standin = await startSmsGatewayStandin();
  });
  afterAll(async () => {
    await standin.close();
  });
  const channel = () =>
    smsChannelFromConfig(
      parseConfig({ SMS_GATEWAY_URL: standin.sendUrl, SMS_WINDOW: 'lun-vie 09:00-18:00' }),
    )!;
  const message = (envioId: number) => ({
    notificationId: 7,
    envioId,
    clientId: 3,
    tipo: 'pago_vencido',
    to: '593991234567',
    composed: { text: 'TelTec: su pago de $25,50 vencio', html: false },
    marketing: false,
    signal: new AbortController().signal,
  });

  it('sends with the attempt id as {id} and provider id', async () => {
    const sms = channel();
    expect(sms.name).toBe('sms');
    expect(sms.reportsDelivery).toBe(false);
    expect(await sms.send(message(90))).toEqual({ ok: true, providerId: '90' });
    expect(standin.inbox('593991234567').at(-1)).toMatchObject({
      id: '90',
      message: 'TelTec: su pago de $25,50 vencio',
    });
  });

  it('a 5xx retries, a 4xx fails, 401 stops the channel, 429 pauses it', async () => {
    const sms = channel();
    const verdictFor = async (status: number) => {
      standin.failNext({ kind: 'status', status });
      const r = await sms.send(message(91));
      if (r.ok) throw new Error('expected a failure');
      return sms.classify(r.failure);
    };
    expect(await verdictFor(503)).toMatchObject({ action: 'retry' });
    expect(await verdictFor(400)).toMatchObject({ action: 'fail', reason: 'sms_rechazado' });
    expect(await verdictFor(401)).toMatchObject({ action: 'stop' });
    expect(await verdictFor(429)).toMatchObject({ action: 'pause' });
    expect(classifySmsFailure({ code: 'sms_no_entregado', message: '' })).toMatchObject({
      action: 'fail',
      unreachable: { reason: 'sms_inalcanzable' },
    });
  });

  it('is open only inside SMS_WINDOW, in the provider zone', () => {
    const sms = channel();
    expect(sms.isOpen(new Date('2026-03-10T15:00:00Z'))).toBe(true); // Tuesday 10:00 in Guayaquil
    expect(sms.isOpen(new Date('2026-03-10T23:30:00Z'))).toBe(false); // Tuesday 18:30
    expect(sms.isOpen(new Date('2026-03-14T15:00:00Z'))).toBe(false); // Saturday
  });

  it('e-mail: 5xx marks the address unreachable, 4xx retries, a refused login stops', () => {
    expect(classifyEmailFailure({ code: 'smtp_permanente', message: '' })).toMatchObject({
      action: 'fail',
      reason: 'email_inalcanzable',
      unreachable: { reason: 'email_inalcanzable' },
    });
    expect(classifyEmailFailure({ code: 'smtp_temporal', message: '' }).action).toBe('retry');
    expect(classifyEmailFailure({ code: 'smtp_credenciales', message: '' }).action).toBe('stop');
  });
});
