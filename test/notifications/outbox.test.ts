import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLinksStore } from '../../src/bot/links.js';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import { type Dispatcher, enqueue } from '../../src/notifications/index.js';
import type { TelegramSender } from '../../src/telegram/send.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { describeEachDb, openSchema } from '../support/db.js';
import { countByState, nextChatId, seedClients, startTestStandin, T0, testDispatcher } from './support.js';

const srcDir = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the outbox is the only door', () => {
  it('no code but notifications/outbox.ts inserts, updates or deletes notifications rows', () => {
    const offenders = sourceFiles(srcDir)
      .filter((f) => !f.endsWith(path.join('notifications', 'outbox.ts')))
      .filter((f) =>
        /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+notifications\b/i.test(readFileSync(f, 'utf8')),
      )
      .map((f) => path.relative(srcDir, f));
    expect(offenders).toEqual([]);
    // The check itself finds what it looks for.
    expect(readFileSync(path.join(srcDir, 'notifications', 'outbox.ts'), 'utf8')).toMatch(
      /INSERT\s+INTO\s+notifications/,
    );
  });

  it('no hand-written wake-up of the dispatcher is left outside the engine', () => {
    const offenders = sourceFiles(srcDir)
      .filter((f) => !f.includes(`${path.sep}notifications${path.sep}`))
      .filter((f) => /dispatcher\??\.wake\(/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(srcDir, f));
    expect(offenders).toEqual([]);
  });
});

describeEachDb('outbox wake-up', (ctx) => {
  let standin: Standin;
  let sender: TelegramSender;
  const running: { d: Dispatcher; ac: AbortController; done: Promise<void> }[] = [];
  const start = (d: Dispatcher) => {
    const ac = new AbortController();
    running.push({ d, ac, done: d.run(ac.signal) });
    return d;
  };

  beforeAll(async () => {
    ({ standin, sender } = await startTestStandin());
  });
  afterAll(async () => {
    await standin.close();
  });
  beforeEach(async () => {
    for (const r of running.splice(0)) {
      r.ac.abort();
      await r.d.stop({ drainMs: 2000 });
      await r.done;
    }
    standin.reset();
    await ctx.db.query('DELETE FROM notifications');
  });
  afterAll(async () => {
    for (const r of running.splice(0)) {
      r.ac.abort();
      await r.d.stop({ drainMs: 2000 });
    }
  });

  /** Resolves once the dispatcher is idle, waiting for its (long) poll. */
  async function idle(d: Dispatcher) {
    const t0 = Date.now();
    while (d.state !== 'activo' && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
  }

  it('the welcome goes at once when a chat links: no waiting for the poll', async () => {
    const chat = nextChatId();
    const [clientId] = await seedClients(ctx.db, [{ nombre: 'Rosa Tipán' }]);
    // A poll of a minute: only the outbox's NOTIFY can make this dispatcher look in time.
    const d = start(testDispatcher(ctx.db, sender, { options: { idleMs: 60_000 } }));
    await idle(d);
    const links = createLinksStore(ctx.db);
    const linkedAt = Date.now();
    const r = await links.link({
      clientId: clientId!,
      chatId: chat,
      userId: chat,
      username: null,
      verified: true,
      method: 'cedula_contacto',
      now: new Date(T0),
    });
    expect(r.ok).toBe(true);
    const t0 = Date.now();
    while (standin.sentTo(chat).length === 0 && Date.now() - t0 < 20_000) {
      await new Promise((res) => setTimeout(res, 20));
    }
    const sent = standin.sentTo(chat);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.text).toContain('Rosa Tipán');
    expect(Date.now() - linkedAt).toBeLessThan(20_000);
    // The row took its times from the caller's clock, not the database's.
    const { rows } = await ctx.db.query<{ created_at: Date; proximo_intento: Date }>(
      `SELECT created_at, proximo_intento FROM notifications WHERE tipo = 'bienvenida' AND client_id = $1`,
      [clientId],
    );
    expect(rows[0]!.created_at.toISOString()).toBe(new Date(T0).toISOString());
    expect(rows[0]!.proximo_intento.toISOString()).toBe(new Date(T0).toISOString());
  });

  it('a second instance on the same database wakes on the NOTIFY of the first', async () => {
    if (ctx.kind !== 'postgres') return; // one process owns a PGlite database
    const schema = (ctx.db as Db & { schema?: string }).schema!;
    const other = await openSchema(schema);
    try {
      const chat = nextChatId();
      const [clientId] = await seedClients(ctx.db, [{ chatId: chat }]);
      const d = start(
        testDispatcher(other, sender, { clock: createManualClock(T0), options: { idleMs: 60_000 } }),
      );
      await idle(d);
      await ctx.db.transaction((tx) =>
        enqueue(
          tx,
          [{ client_id: clientId!, tipo: 'manual', mensaje: 'Hola desde otra instancia' }],
          new Date(T0),
        ),
      );
      const t0 = Date.now();
      while (standin.sentTo(chat).length === 0 && Date.now() - t0 < 20_000) {
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(standin.sentTo(chat).map((m) => m.text)).toEqual(['Hola desde otra instancia']);
      await vi.waitFor(
        async () => expect(await countByState(ctx.db, 'client_id = $1', [clientId])).toEqual({ enviado: 1 }),
        { timeout: 5000 },
      );
    } finally {
      for (const r of running.splice(0)) {
        r.ac.abort();
        await r.d.stop({ drainMs: 2000 });
        await r.done;
      }
      await other.close();
    }
  });

  it('a rolled-back enqueue wakes nobody and leaves nothing', async () => {
    const [clientId] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    await expect(
      ctx.db.transaction(async (tx) => {
        await enqueue(tx, [{ client_id: clientId!, tipo: 'manual', mensaje: 'x' }], new Date(T0));
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await countByState(ctx.db, 'client_id = $1', [clientId])).toEqual({});
  });
});
