import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, seedClient, startBotHarness } from './support.js';

describeEachDb('bot logs', (ctx) => {
  let h: BotHarness;
  let out = '';
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    h = await startBotHarness(ctx.db, {
      mode: 'webhook',
      logger: createLogger({ level: 'debug', destination }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('scope lines by update and chat, mask cédulas and phones, and never carry the token or secret', async () => {
    const known = cedulaFor(77_001);
    const unknown = cedulaFor(77_002);
    await seedClient(ctx.db, known, { telefono: '0987001122' });
    const u = h.user({ chatId: 990_001 });
    await h.say(u, unknown);
    await h.say(u, known);
    await h.act(u, (x) => x.shareContact('0987009999'));
    await h.act(u, (x) => x.shareContact('0987001122'));
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const notFound = lines.find((l) => l.msg === 'cédula no encontrada');
    expect(notFound).toMatchObject({
      updateId: expect.any(Number),
      chatId: 990_001,
      cedula: `17******${unknown.slice(-2)}`,
    });
    expect(lines.find((l) => l.msg === 'el teléfono no coincide')?.telefono).toBe('*******999');
    expect(lines.some((l) => l.msg === 'chat vinculado')).toBe(true);
    expect(out).not.toContain(unknown);
    expect(out).not.toContain(known);
    expect(out).not.toContain('0987009999');
    expect(out).not.toContain(h.standin.token.split(':')[1]!);
    expect(out).not.toContain('test-webhook-secret');
  });
});
