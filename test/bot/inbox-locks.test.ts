import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInbox } from '../../src/bot/inbox.js';
import type { Db, Queryable } from '../../src/db/index.js';
import { createTestDb, openSchema } from '../support/db.js';

const BOT = 424_242;
const NOW = new Date('2026-03-10T15:00:00Z');

/**
 * Issue 12 §12: the grouped "finished" UPDATE locks its rows in update_id order, whatever order the
 * handlers finished in, so two processes finishing overlapping sets queue instead of deadlocking
 * (PostgreSQL only: PGlite has one connection and nothing to interleave).
 */
describe('bot inbox: lock order of grouped statements [postgres]', () => {
  let db: Db & { schema?: string };
  let other: Db;
  const ctx = {
    get db() {
      return db;
    },
  };
  beforeAll(async () => {
    db = await createTestDb('postgres');
    other = await openSchema(db.schema!, 3);
    // Stored 3, 1, 2: a scan in storage order or in the batch's order locks 3 first.
    for (const id of [3, 1, 2]) {
      await ctx.db.query(
        `INSERT INTO bot_updates (bot_id, update_id, chat_id, tipo, payload, estado, received_at)
         VALUES ($1, $2, $2, 'message', '{}', 'pendiente', $3)`,
        [BOT, id, NOW],
      );
    }
  });
  afterAll(async () => {
    await other?.close();
    await db?.close();
  });

  it('recordMany([13, 11, 12]) inserts 11 first, then waits for 12 without holding 13', async () => {
    const inbox = createInbox(ctx.db, BOT);
    const update = (updateId: number) => ({
      updateId,
      tipo: 'message' as const,
      chatId: updateId,
      wellFormed: true,
      update: { update_id: updateId } as never,
      json: '{}',
    });
    const insertOne = (tx: Queryable, id: number) =>
      tx.query(
        `INSERT INTO bot_updates (bot_id, update_id, chat_id, tipo, payload, estado, received_at)
         VALUES ($1, $2, $2, 'message', '{}', 'pendiente', $3) ON CONFLICT DO NOTHING`,
        [BOT, id, NOW],
      );
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let inserted!: () => void;
    const isInserted = new Promise<void>((r) => {
      inserted = r;
    });
    // Another process is recording 12 (the same update, redelivered to it) and has not committed.
    const holder = other.transaction(async (tx) => {
      await insertOne(tx, 12);
      inserted();
      await held;
    });
    await isInserted;
    const recording = inbox.recordMany([13, 11, 12].map(update), NOW, 60_000);
    await waitForLockWait(
      'INSERT INTO bot_updates (bot_id, update_id, chat_id, tipo, payload, estado, received_at, claimed_until',
    );
    // 13 is free when the batch has not inserted it yet: a probe's insert of it does not wait.
    const free = await other
      .transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '300ms'`);
        await insertOne(tx, 13);
        throw new Error('rollback');
      })
      .catch((err: { code?: string; message: string }) => (err.message === 'rollback' ? 'free' : err.code));
    release();
    await holder;
    const results = await recording;
    expect(free).toBe('free');
    expect(results.map((r) => r.ok && r.value)).toEqual([true, true, false]);
  });

  /** Until a statement starting with `text` waits for a lock (the other process's row). */
  async function waitForLockWait(text: string) {
    for (let i = 0; ; i++) {
      const { rows } = await other.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND position($1 in query) > 0 AND pid <> pg_backend_pid()`,
        [text],
      );
      if (rows[0]!.n > 0) return;
      if (i > 300) throw new Error(`never waited: ${text}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('finishMany([3, 1, 2]) takes 1 first, then waits for 2 without holding 3', async () => {
    const inbox = createInbox(ctx.db, BOT);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    // Another process holds row 2.
    const holder = other.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM bot_updates WHERE bot_id = $1 AND update_id = 2 FOR UPDATE', [BOT]);
      locked();
      await held;
    });
    await isLocked;
    const finishing = inbox.finishMany(
      [3, 1, 2].map((updateId) => ({ updateId, estado: 'procesado' as const, error: null })),
      NOW,
    );
    await waitForLockWait('UPDATE bot_updates b SET estado');
    const free = await other.transaction(async (tx) => {
      const { rows } = await tx.query<{ update_id: number }>(
        `SELECT update_id FROM bot_updates WHERE bot_id = $1 AND update_id IN (1, 3)
          ORDER BY update_id FOR UPDATE SKIP LOCKED`,
        [BOT],
      );
      return rows.map((r) => Number(r.update_id));
    });
    release();
    await holder;
    await finishing;
    expect(free).toEqual([3]);
    const { rows } = await ctx.db.query<{ estado: string }>(
      'SELECT DISTINCT estado FROM bot_updates WHERE bot_id = $1 AND update_id <= 3',
      [BOT],
    );
    expect(rows).toEqual([{ estado: 'procesado' }]);
  });
});
