import { Bot } from 'grammy';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLinksStore } from '../../src/bot/links.js';
import { installReplyPacer } from '../../src/bot/reply-pacer.js';
import type { Db, Queryable } from '../../src/db/index.js';
import { startStandin } from '../../src/telegram/standin/index.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { nextId, seedClient, startBotHarness } from './support.js';

/**
 * Issue 12 §12: what handling one update costs in round trips. Concurrent handlers share the
 * pacer's reservation and the "which client is this chat" read instead of one statement each,
 * and each still gets exactly its own slot and its own client.
 */

/** The real database, counting the statements that match `pattern`. */
function counting(db: Db, pattern: RegExp): Db & { count: () => number } {
  let n = 0;
  const query: Queryable['query'] = (text, params) => {
    if (pattern.test(text)) n++;
    return db.query(text, params);
  };
  return { ...db, kind: db.kind, query, count: () => n };
}

function helpUpdate(updateId: number, chatId: number) {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: 1_773_000_000,
      chat: { id: chatId, type: 'private', first_name: 'W' },
      from: { id: chatId, is_bot: false, first_name: 'W' },
      text: '/help',
      entities: [{ type: 'bot_command', offset: 0, length: 5 }],
    },
  };
}

describeEachDb('bot handling cost', (ctx) => {
  let standin: Awaited<ReturnType<typeof startStandin>>;
  beforeAll(async () => {
    standin = await startStandin();
  });
  afterAll(async () => {
    await standin?.close();
  });

  it('concurrent replies share pacer reservations, each on a slot of its own', async () => {
    const db = counting(ctx.db, /UPDATE dispatch_pacer\s+SET next_slot_ms = GREATEST\(LEAST/);
    const bot = new Bot(standin.token, {
      client: { apiRoot: standin.url },
      botInfo: { id: 1, is_bot: true, first_name: 'B', username: 'b_bot' } as never,
    });
    // A pace clock standing still after the row's last slot: the reserved slots are exactly
    // t0, t0 + 1 ms, … and nothing passes unused, so the row tells how many were reserved.
    const t0 = (await ctx.db.query<{ n: number }>('SELECT next_slot_ms::float8 AS n FROM dispatch_pacer'))
      .rows[0]!.n;
    const start = Math.max(t0, 4_000_000_000_000);
    installReplyPacer(bot.api, {
      db,
      ratePerSecond: 1000,
      logger: pino({ level: 'silent' }),
      clock: { now: () => start },
    });
    const chats = Array.from({ length: 30 }, (_, i) => 870_000 + i);
    await Promise.all(chats.map((chatId) => bot.api.sendMessage(chatId, `hola ${chatId}`)));

    for (const chatId of chats) expect(standin.sentTo(chatId).map((m) => m.text)).toEqual([`hola ${chatId}`]);
    const after = (await ctx.db.query<{ n: number }>('SELECT next_slot_ms::float8 AS n FROM dispatch_pacer'))
      .rows[0]!.n;
    // The row back where it was: the far-future clock must not hold other tests' sends.
    await ctx.db.query('UPDATE dispatch_pacer SET next_slot_ms = $1 WHERE id = 1', [t0]);
    expect(after - start).toBe(30); // 30 slots of 1 ms: one per reply, none shared, none lost
    // One UPDATE per reply before; now replies asking together share one.
    expect(db.count()).toBeGreaterThan(0);
    expect(db.count()).toBeLessThanOrEqual(5);
  });

  it('concurrent "linked client" reads share one statement; each chat gets its own client', async () => {
    const db = counting(ctx.db, /FROM clients WHERE chat_id/);
    const links = createLinksStore(db);
    const seeded: Array<{ id: number; chatId: number; nombre: string }> = [];
    for (let i = 0; i < 5; i++) {
      const n = nextId();
      const c = await seedClient(ctx.db, cedulaFor(70_000 + n), { nombre: `Cliente ${n}` });
      const chatId = 880_000 + n;
      await ctx.db.query('UPDATE clients SET chat_id = $2, linked_at = now() WHERE id = $1', [c.id, chatId]);
      seeded.push({ id: c.id, chatId, nombre: `Cliente ${n}` });
    }
    const unlinked = 889_999;
    const asks = [...seeded.map((s) => s.chatId), unlinked, seeded[0]!.chatId];
    const got = await Promise.all(asks.map((chatId) => links.linkedClient(db, chatId)));

    expect(got.map((c) => c && { id: c.id, nombre: c.nombre })).toEqual([
      ...seeded.map((s) => ({ id: s.id, nombre: s.nombre })),
      null,
      { id: seeded[0]!.id, nombre: seeded[0]!.nombre },
    ]);
    expect(got[0]).toEqual({
      id: seeded[0]!.id,
      nombre: seeded[0]!.nombre,
      pref_ofertas: expect.any(Boolean),
      pref_mantenimiento: expect.any(Boolean),
      link_verified: false,
    });
    expect(db.count()).toBe(1);

    // Inside a transaction the read sees the transaction's own (uncommitted) change.
    const moved = 889_998;
    const inTx = await ctx.db.transaction(async (tx) => {
      await tx.query('UPDATE clients SET chat_id = $2 WHERE id = $1', [seeded[1]!.id, moved]);
      return links.linkedClient(tx, moved);
    });
    expect(inTx?.id).toBe(seeded[1]!.id);
  });

  it('handled and failed updates finished in shared statements each keep their own outcome', async () => {
    const db = counting(ctx.db, /UPDATE bot_updates\b[\s\S]*processed_at/);
    const h = await startBotHarness(db, { mode: 'polling', env: { SEND_RATE: '1000' } });
    try {
      const chats = Array.from({ length: 20 }, (_, i) => 875_000 + i);
      // Half the chats do not exist for Telegram: their reply fails for good ('fallido').
      for (const chatId of chats.slice(0, 10)) h.standin.unknownChats.add(chatId);
      // As the webhook does: 20 deliveries at once.
      const outcomes = await Promise.all(
        chats.map((chatId, i) => h.bot.receive(helpUpdate(9_000 + i, chatId))),
      );
      expect(outcomes).toEqual(chats.map(() => 'aceptado'));
      await h.bot.drain();
      const rows = await ctx.db.query<{ chat_id: number; estado: string; ultimo_error: string | null }>(
        `SELECT chat_id, estado, ultimo_error FROM bot_updates
          WHERE chat_id >= 875000 AND chat_id < 875020 ORDER BY chat_id`,
      );
      expect(rows.rows.map((r) => [r.chat_id, r.estado, r.ultimo_error?.slice(0, 13) ?? null])).toEqual(
        chats.map((chatId, i) => [chatId, ...(i < 10 ? ['fallido', 'Telegram 400:'] : ['procesado', null])]),
      );
      // Failed and handled ones go through the same grouped UPDATE now.
      expect(db.count()).toBeGreaterThan(0);
      expect(db.count()).toBeLessThanOrEqual(20);
    } finally {
      await h.close();
    }
  });
});
