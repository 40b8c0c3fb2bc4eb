import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = parseConfig({});
    expect(c.port).toBe(8000);
    expect(c.telegram.apiRoot).toBe('https://api.telegram.org');
    expect(c.timeZone).toBe('America/Guayaquil');
    expect(c.engine.sendWindow).toEqual({ start: '08:00', end: '20:00' });
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });

  it('names the bad variable in one line, without echoing its value', () => {
    expect(() => parseConfig({ PORT: 'ochenta' })).toThrow(/^Configuración inválida: PORT/);
    expect(() => parseConfig({ TZ: 'Mars/Base' })).toThrow(/TZ debe ser una zona horaria IANA/);
    expect(() => parseConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    try {
      parseConfig({ TELEGRAM_BOT_TOKEN: 'secret-value-no-colon' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/TELEGRAM_BOT_TOKEN/);
      expect((err as Error).message).not.toContain('secret-value-no-colon');
    }
  });

  it('treats empty values as unset', () => {
    expect(parseConfig({ DATABASE_URL: '', PORT: '' }).databaseUrl).toBeUndefined();
  });
});
