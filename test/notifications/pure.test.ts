import fc from 'fast-check';
import { GrammyError, HttpError } from 'grammy';
import { describe, expect, it } from 'vitest';
import {
  renderTemplate,
  templateValues,
  validateTemplate,
  visibleLength,
} from '../../src/notifications/templates.js';
import { isTimeInWindow } from '../../src/notifications/window.js';
import {
  backoffDelayMs,
  classifyTelegramFailure,
  defaultBackoff,
  describeFailure,
  toTelegramFailure,
} from '../../src/telegram/send.js';
import { settingsFor } from './support.js';

describe('the classifier of failed Telegram calls', () => {
  it('429 pauses the whole sender for retry_after, capped', () => {
    expect(
      classifyTelegramFailure({
        kind: 'api',
        code: 429,
        description: 'Too Many Requests: retry after 7',
        retryAfter: 7,
      }),
    ).toEqual({
      action: 'pause',
      waitMs: 7000,
      capped: false,
      reason: 'rate_limited',
    });
    const absurd = classifyTelegramFailure(
      { kind: 'api', code: 429, description: 'Too Many Requests', retryAfter: 86_400 },
      { maxRetryAfterMs: 30_000 },
    );
    expect(absurd).toMatchObject({ action: 'pause', waitMs: 30_000, capped: true });
  });

  it('5xx, network errors and timeouts are retried', () => {
    for (const code of [500, 502, 503, 504]) {
      expect(classifyTelegramFailure({ kind: 'api', code, description: 'Internal' }).action).toBe('retry');
    }
    expect(classifyTelegramFailure({ kind: 'network', message: 'socket hang up', timeout: false })).toEqual({
      action: 'retry',
      reason: 'network',
    });
    expect(classifyTelegramFailure({ kind: 'network', message: 'timed out', timeout: true })).toEqual({
      action: 'retry',
      reason: 'timeout',
    });
  });

  it('blocked, deactivated and chat not found fail at once and mark the client unreachable', () => {
    expect(
      classifyTelegramFailure({
        kind: 'api',
        code: 403,
        description: 'Forbidden: bot was blocked by the user',
      }),
    ).toEqual({ action: 'fail', reason: 'blocked', unreachable: true });
    expect(
      classifyTelegramFailure({ kind: 'api', code: 403, description: 'Forbidden: user is deactivated' }),
    ).toEqual({
      action: 'fail',
      reason: 'deactivated',
      unreachable: true,
    });
    expect(
      classifyTelegramFailure({ kind: 'api', code: 400, description: 'Bad Request: chat not found' }),
    ).toEqual({
      action: 'fail',
      reason: 'chat_not_found',
      unreachable: true,
    });
    expect(
      classifyTelegramFailure({ kind: 'api', code: 400, description: "Bad Request: can't parse entities" }),
    ).toEqual({ action: 'fail', reason: 'rejected', unreachable: false });
  });

  it('401 stops everything', () => {
    expect(classifyTelegramFailure({ kind: 'api', code: 401, description: 'Unauthorized' })).toEqual({
      action: 'stop',
      reason: 'unauthorized',
    });
  });

  it('is total: any failure gets exactly one verdict', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({
            kind: fc.constant('api' as const),
            code: fc.integer({ min: 300, max: 599 }),
            description: fc.string(),
            retryAfter: fc.option(fc.integer({ min: 0, max: 1e6 }), { nil: undefined }),
          }),
          fc.record({ kind: fc.constant('network' as const), message: fc.string(), timeout: fc.boolean() }),
        ),
        (f) => {
          const v = classifyTelegramFailure(f, { maxRetryAfterMs: 60_000 });
          expect(['pause', 'retry', 'fail', 'stop']).toContain(v.action);
          if (v.action === 'pause') expect(v.waitMs).toBeLessThanOrEqual(60_000);
        },
      ),
    );
  });

  it("maps grammY's two error kinds, and never keeps the token", () => {
    const api = toTelegramFailure(
      new GrammyError(
        'x',
        { ok: false, error_code: 429, description: 'Too Many', parameters: { retry_after: 3 } },
        'sendMessage',
        {},
      ),
    );
    expect(api).toEqual({ kind: 'api', code: 429, description: 'Too Many', retryAfter: 3 });
    const net = toTelegramFailure(
      new HttpError(
        'Network request failed',
        new Error('request to http://x/bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef01/sendMessage failed'),
      ),
    );
    expect(net.kind).toBe('network');
    expect(describeFailure(net)).not.toContain('ABCDEFGHIJ');
  });
});

describe('retry backoff', () => {
  it('grows exponentially with jitter, capped', () => {
    const mid = () => 0.5;
    expect(backoffDelayMs(1, defaultBackoff, mid)).toBe(60_000);
    expect(backoffDelayMs(2, defaultBackoff, mid)).toBe(240_000);
    expect(backoffDelayMs(9, defaultBackoff, mid)).toBe(defaultBackoff.maxMs);
    expect(backoffDelayMs(1, defaultBackoff, () => 0)).toBe(48_000);
    expect(backoffDelayMs(1, defaultBackoff, () => 0.999999)).toBeLessThanOrEqual(72_000);
  });

  it('6 attempts with the defaults fit in 24 hours', () => {
    let total = 0;
    for (let a = 1; a < 6; a++) total += backoffDelayMs(a, defaultBackoff, () => 0.999999);
    expect(total).toBeLessThan(24 * 3600_000);
  });
});

describe('templates', () => {
  const s = settingsFor({ EMPRESA_NOMBRE: 'TelTec & Co', EMPRESA_TELEFONO: '022345678' });

  it('escapes values and fills every variable', () => {
    const html = renderTemplate(
      'Hola {nombre}, {plan} por <b>{monto}</b> vence {fecha_vencimiento} ({dias} días). {empresa}',
      templateValues(
        {
          tipo: 'recordatorio_pago',
          today: '2026-03-10',
          nombre: 'Ana <b>&',
          plan: 'Hogar',
          precio: 25.5,
          vencimiento: '2026-03-15',
        },
        s,
      ),
    );
    expect(html).toBe(
      'Hola Ana &lt;b&gt;&amp;, Hogar por <b>$25,50</b> vence 15/03/2026 (5 días). TelTec &amp; Co',
    );
  });

  it('counts days overdue for overdue notices', () => {
    const v = templateValues({ tipo: 'pago_vencido', today: '2026-03-10', vencimiento: '2026-03-01' }, s);
    expect(v.dias).toBe('9');
  });

  it('unknown variables stay as written; values are escaped', () => {
    expect(renderTemplate('&lt;hola&gt; {nombre} {desconocida}', { nombre: 'A&B' })).toBe(
      '&lt;hola&gt; A&amp;B {desconocida}',
    );
  });

  it('refuses bad markup, unknown variables and texts that would pass 4096 characters', () => {
    expect(() => validateTemplate('Hola <b>{nombre}', s)).toThrow(/sin cerrar/);
    expect(() => validateTemplate('Hola {apellido}', s)).toThrow(/variable desconocida/);
    expect(() => validateTemplate('<script>x</script>', s)).toThrow(/no permitida/);
    expect(() => validateTemplate('Hola <b>{nombre}</i>', s)).toThrow(/mal anidada: se esperaba <\/b>/);
    expect(() => validateTemplate('a < b', s)).toThrow(/&lt;/);
    // Telegram takes a lone "&" as text: so do we (one parser for the validator and the stand-in).
    expect(() => validateTemplate('A & B', s)).not.toThrow();
    expect(() => validateTemplate('x'.repeat(4000) + '{nombre}', s)).toThrow(/máximo 4096/);
    expect(() => validateTemplate('<b>Hola</b> {nombre} &amp; <i>bienvenido</i>', s)).not.toThrow();
  });

  it('measures what the reader sees', () => {
    expect(visibleLength('<b>ab</b>&amp;')).toBe(3);
  });
});

describe('send window', () => {
  it('is half-open and may run over midnight', () => {
    const w = { start: '08:00', end: '20:00' };
    expect(isTimeInWindow('07:59', w)).toBe(false);
    expect(isTimeInWindow('08:00', w)).toBe(true);
    expect(isTimeInWindow('19:59', w)).toBe(true);
    expect(isTimeInWindow('20:00', w)).toBe(false);
    const night = { start: '20:00', end: '08:00' };
    expect(isTimeInWindow('23:00', night)).toBe(true);
    expect(isTimeInWindow('12:00', night)).toBe(false);
  });
});
