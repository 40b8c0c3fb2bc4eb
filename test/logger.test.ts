import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ destination }) };
}

describe('logger', () => {
  // Built at run time so no token-shaped literal sits in the source.
  const token = `${'123456789'}:${'Q'.repeat(35)}`;

  it('never writes a bot token that reaches the message text, nor a masked field whole', () => {
    const { lines, logger } = capture();
    logger.warn({ cedula: '1710034065', telefono: '0987654321' }, `Telegram dijo: 404 /bot${token}/getMe`);
    logger.info('texto %s', `https://api.telegram.org/bot${token}/sendMessage`);
    const out = lines.join('');
    expect(out).not.toContain(token);
    expect(out).not.toContain('Q'.repeat(35));
    expect(out).toContain('Telegram dijo: 404');
    expect(out).not.toContain('1710034065');
    expect(out).not.toContain('0987654321');
    expect(lines).toHaveLength(2);
  });
});
