import { describe, expect, it } from 'vitest';
import type { ChannelFailure } from '../../src/channels/types.js';
import { notificationReasons } from '../../src/vocabulary.js';
import {
  classifyWhatsAppFailure,
  UNREACHABLE_DAYS,
  WHATSAPP_RULES,
  whatsappErrorText,
} from '../../src/whatsapp/classify.js';

const f = (code: string, extra: Partial<ChannelFailure> = {}): ChannelFailure => ({
  code,
  message: 'texto que el clasificador nunca lee',
  ...extra,
});

/** Issue 10 §5, code by code. */
const table: [
  code: string,
  action: string,
  extra?: (v: ReturnType<typeof classifyWhatsAppFailure>) => void,
][] = [
  ['130429', 'pause'],
  ['80007', 'pause'],
  ['4', 'pause'],
  ['131056', 'retry', (v) => expect(v).toMatchObject({ minDelayMs: 6000 })],
  ['131000', 'retry'],
  ['133004', 'retry'],
  ['134101', 'retry'],
  ['131048', 'stop'],
  ['131042', 'stop'],
  ['131031', 'stop'],
  ['368', 'stop'],
  ['190', 'stop'],
  ['10', 'stop'],
  ['200', 'stop'],
  [
    '131026',
    'fail',
    (v) =>
      expect(v).toMatchObject({ reason: 'whatsapp_inalcanzable', unreachable: { days: UNREACHABLE_DAYS } }),
  ],
  ['130472', 'fail', (v) => expect(v).toMatchObject({ unreachable: { days: 30 } })],
  ['131049', 'fail', (v) => expect(v).toMatchObject({ unreachable: { days: 30 } })],
  ['131050', 'fail', (v) => expect(v).toMatchObject({ reason: 'baja_marketing', optOut: 'marketing' })],
  ['131047', 'template'],
  ['470', 'template'],
  ...['132000', '132001', '132005', '132007', '132012', '132015', '132016', '100', '131008', '131009'].map(
    (c) =>
      [
        c,
        'fail',
        (v: ReturnType<typeof classifyWhatsAppFailure>) => {
          expect(v).not.toHaveProperty('unreachable');
          expect(v).not.toHaveProperty('optOut');
        },
      ] as [string, string, (v: ReturnType<typeof classifyWhatsAppFailure>) => void],
  ),
];

describe('WhatsApp classifier (issue 10 §5): by code, never by text', () => {
  it.each(table)('%s → %s', (code, action, extra) => {
    const v = classifyWhatsAppFailure(f(code, { httpStatus: 400 }));
    expect(v.action).toBe(action);
    if (v.action === 'fail') {
      // A failure's reason is the notice's motivo: a vocabulary value.
      expect(notificationReasons.values).toContain(v.reason);
    } else {
      expect(v.reason).toContain(code);
    }
    // Staff read a Spanish text for every code, never Meta's English.
    expect(whatsappErrorText(code)).toContain(`(${code})`);
    expect(whatsappErrorText(code)).not.toMatch(/WhatsApp rechazó el mensaje/);
    expect(v.reason).not.toContain('texto que el clasificador');
    extra?.(v);
  });

  it('the message text never changes the verdict', () => {
    for (const code of Object.keys(WHATSAPP_RULES)) {
      const a = classifyWhatsAppFailure(f(code, { message: 'Rate limit hit' }));
      const b = classifyWhatsAppFailure(f(code, { message: 'user blocked / invalid token / deactivated' }));
      expect(a).toEqual(b);
    }
  });

  it('network errors and 5xx retry; a pause honours a longer Retry-After; 131056 grows with it', () => {
    expect(classifyWhatsAppFailure({ code: 'network', message: 'ECONNRESET', network: true }).action).toBe(
      'retry',
    );
    expect(classifyWhatsAppFailure({ code: 'timeout', message: '', network: true }).action).toBe('retry');
    expect(classifyWhatsAppFailure(f('http_502', { httpStatus: 502 })).action).toBe('retry');
    expect(classifyWhatsAppFailure(f('999999', { httpStatus: 503 })).action).toBe('retry');
    expect(classifyWhatsAppFailure(f('130429', { retryAfterMs: 30_000 }))).toMatchObject({ waitMs: 30_000 });
    expect(classifyWhatsAppFailure(f('131056', { retryAfterMs: 9000 }))).toMatchObject({ minDelayMs: 9000 });
  });

  it('an unknown code is a failure of this message, a 401 without code stops the channel', () => {
    expect(classifyWhatsAppFailure(f('123456', { httpStatus: 400 }))).toEqual({
      action: 'fail',
      reason: 'rechazado',
    });
    expect(whatsappErrorText('123456')).toBe('WhatsApp rechazó el mensaje (123456)');
    expect(classifyWhatsAppFailure(f('http_401', { httpStatus: 401 })).action).toBe('stop');
    expect(classifyWhatsAppFailure(f('http_429', { httpStatus: 429 })).action).toBe('pause');
  });

  it('is pure: same failure, same verdict', () => {
    for (const [code] of table) {
      expect(classifyWhatsAppFailure(f(code))).toEqual(classifyWhatsAppFailure(f(code)));
    }
  });
});
