import { beforeEach, expect, it } from 'vitest';
import { ANALYZE_AFTER_ROWS, type Db } from '../../src/db/index.js';
import { createCampaign } from '../../src/notifications/index.js';
import { describeEachDb } from '../support/db.js';
import { nextChatId, seedClients, settingsFor } from './support.js';

// Issue 16 §3: a large batch queued at once (a generation, a campaign, an invitation send) refreshes
// the outbox's statistics in its own transaction. A fresh outbox planned on none lost 40 % of its
// claim rate within 90,000 rows in the claim bench, until the first VACUUM (ANALYZE).

async function plannerRows(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'notifications'::regclass`,
  );
  return Number(rows[0]!.n);
}

describeEachDb('statistics after a large batch', (ctx) => {
  const s = settingsFor();
  const at = { today: '2026-03-10', now: new Date('2026-03-10T15:00:00Z') };
  const offer = { tipo: 'oferta' as const, mensaje: 'Promo {nombre}', filtros: {}, urgente: false };

  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, campaigns, clients RESTART IDENTITY CASCADE');
    // A table never analysed since (PostgreSQL ≥ 14 and PGlite: -1).
    await ctx.db.exec('VACUUM notifications');
  });

  it('a campaign to as many clients as the threshold: the planner knows the rows before the next claim', async () => {
    await seedClients(
      ctx.db,
      Array.from({ length: ANALYZE_AFTER_ROWS }, () => ({ chatId: nextChatId() })),
    );
    const before = await plannerRows(ctx.db);
    const c = await ctx.db.transaction((tx) => createCampaign(tx, offer, s, at));
    expect(c.total).toBe(ANALYZE_AFTER_ROWS);
    expect(before).toBeLessThanOrEqual(0);
    expect(await plannerRows(ctx.db)).toBeGreaterThanOrEqual(ANALYZE_AFTER_ROWS * 0.9);
  });

  it('a small one leaves the statistics alone', async () => {
    await seedClients(
      ctx.db,
      Array.from({ length: 50 }, () => ({ chatId: nextChatId() })),
    );
    const before = await plannerRows(ctx.db);
    await ctx.db.transaction((tx) => createCampaign(tx, offer, s, at));
    expect(await plannerRows(ctx.db)).toBe(before);
  });
});
