import { expect, it } from 'vitest';
import type { Queryable } from '../../src/db/index.js';
import { Semaphore } from '../../src/lib/semaphore.js';
import { reserveChannelSlots } from '../../src/notifications/outbox.js';
import { ChannelGate } from '../../src/notifications/rate-limiter.js';
import { describeEachDb } from '../support/db.js';

/**
 * A channel's send slots come from its shared pacer row (channel_pacer). Senders that ask
 * together share one reservation — one UPDATE instead of one each — and each still gets a slot
 * of its own: the row advances by exactly one interval per sender.
 */
describeEachDb('slot reservations', (ctx) => {
  it('concurrent senders of a channel share reservations, each on a slot of its own', async () => {
    let updates = 0;
    const counted: Queryable = {
      query: (text, params) => {
        if (/UPDATE channel_pacer/.test(text)) updates++;
        return ctx.db.query(text, params);
      },
      exec: (sql) => ctx.db.exec(sql),
    };
    const row = async () =>
      (
        await ctx.db.query<{ n: number }>(
          `SELECT next_slot_ms::float8 AS n FROM channel_pacer WHERE canal = 'whatsapp'`,
        )
      ).rows[0]!.n;
    const before = await row();
    // A pace clock standing still after the row's last slot: nothing passes unused.
    const now = Math.max(before, 4_000_000_000_000);
    const gate = new ChannelGate(
      { ratePerSecond: 80, perRecipientIntervalMs: 6000, concurrency: 4 },
      (n, interval, at) => reserveChannelSlots(counted, 'whatsapp', n, interval, at),
      new Semaphore(4),
    );
    try {
      const slots = await Promise.all(Array.from({ length: 20 }, () => gate.slots.next(now, 1)));
      expect([...slots].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => now + i * 12.5));
      expect(await row()).toBe(now + 20 * 12.5);
      expect(updates).toBeGreaterThan(0);
      expect(updates).toBeLessThanOrEqual(5); // one each (20) before
    } finally {
      await ctx.db.query(`UPDATE channel_pacer SET next_slot_ms = $1 WHERE canal = 'whatsapp'`, [before]);
    }
  });
});
