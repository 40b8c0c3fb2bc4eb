import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChannelAdapter,
  type ChannelMessage,
  createChannelRegistry,
  createTelegramChannel,
} from '../../src/channels/index.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { startTestStandin } from '../notifications/support.js';

const pacing = () => ({ ratePerSecond: 25, perRecipientIntervalMs: 1000, concurrency: 4 });

function message(to: string, text: string): ChannelMessage {
  return {
    notificationId: 1,
    envioId: 1,
    clientId: null,
    tipo: 'manual',
    to,
    composed: { text, html: false },
    marketing: false,
    signal: new AbortController().signal,
  };
}

describe('Telegram as a channel adapter', () => {
  let standin: Standin;
  let adapter: ChannelAdapter;

  beforeAll(async () => {
    const { standin: s, sender } = await startTestStandin();
    standin = s;
    adapter = createTelegramChannel({ sender, pacing });
  });
  afterAll(async () => {
    await standin.close();
  });

  it('sends through the Bot API and answers chatId:messageId as the provider id', async () => {
    const r = await adapter.send(message('7001', 'Hola'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.providerId).toMatch(/^7001:\d+$/);
    expect(r.providerId).toBe(`7001:${r.messageNumber}`);
    expect(standin.sentTo(7001).map((m) => m.text)).toEqual(['Hola']);
    expect(adapter.reportsDelivery).toBe(false);
    expect(adapter.pacing().perRecipientIntervalMs).toBe(1000);
  });

  it('maps each Telegram failure to the channel verdict of the one classifier', async () => {
    const verdictFor = async (fault: Parameters<Standin['failNext']>[1]) => {
      standin.failNext(1, fault, { method: 'sendMessage' });
      const r = await adapter.send(message('7002', 'x'));
      expect(r.ok).toBe(false);
      if (r.ok) throw new Error('sent');
      return adapter.classify(r.failure);
    };
    expect(await verdictFor({ kind: 'retry_after', seconds: 3 })).toMatchObject({
      action: 'pause',
      waitMs: 3000,
    });
    expect(await verdictFor({ kind: 'blocked' })).toEqual({
      action: 'fail',
      reason: 'blocked',
      unreachable: { reason: 'blocked' },
    });
    expect(await verdictFor({ kind: 'deactivated' })).toMatchObject({
      action: 'fail',
      reason: 'deactivated',
    });
    expect(await verdictFor({ kind: 'chat_not_found' })).toMatchObject({
      action: 'fail',
      reason: 'chat_not_found',
    });
    expect(await verdictFor({ kind: 'server_error', status: 502 })).toEqual({
      action: 'retry',
      reason: 'server_error',
    });
    expect(await verdictFor({ kind: 'unauthorized' })).toEqual({ action: 'stop', reason: 'unauthorized' });
    expect(adapter.classify({ code: 'network', message: 'ECONNRESET', network: true })).toEqual({
      action: 'retry',
      reason: 'network',
    });
  });

  it('checks the token', async () => {
    expect((await adapter.check!()).ok).toBe(true);
  });

  it('a registry holds one adapter per channel, in channel order', () => {
    const fake: ChannelAdapter = { ...adapter, name: 'sms' };
    const reg = createChannelRegistry([fake, adapter]);
    expect(reg.names()).toEqual(['telegram', 'sms']);
    expect(reg.get('telegram')).toBe(adapter);
    expect(reg.has('whatsapp')).toBe(false);
    expect(() => createChannelRegistry([adapter, adapter])).toThrow(/twice/);
  });
});
