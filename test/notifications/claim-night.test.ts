import { describe, expect, it } from 'vitest';
import { migrate, type Queryable, readMigrations } from '../../src/db/index.js';
import { type ClaimOptions, claimDue, claimStatement, enqueue } from '../../src/notifications/outbox.js';
import { createTestDb, describeEachDb } from '../support/db.js';
import { nextChatId, seedClients, T0 } from './support.js';

// Outside the send window only urgent rows go, and a welcome is urgent (migration 035): the claim
// reads them at the urgent end of the one claim index, not through an index of their own that
// every new notice paid for.

const night = (limit: number): ClaimOptions => ({
  worker: 'w',
  now: new Date(T0),
  leaseMs: 60_000,
  limit,
  inWindow: false,
  perClient: 2,
});

/** Rows of the outbox fetched through its indexes in this transaction so far. */
async function outboxTuplesFetched(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ n: string }>(
    `SELECT COALESCE(idx_tup_fetch, 0)::text AS n FROM pg_stat_xact_user_tables WHERE relname = 'notifications'`,
  );
  return Number(rows[0]?.n ?? 0);
}

describeEachDb('the claim outside the send window', (ctx) => {
  it('takes the urgent rows and the welcomes, reading those alone, not the queue waiting for the morning', async () => {
    const QUEUED = 2000;
    const ids = await seedClients(
      ctx.db,
      Array.from({ length: QUEUED + 2 }, () => ({ chatId: nextChatId() })),
    );
    const now = new Date(T0);
    // The morning's queue: one offer per client.
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento, created_at, updated_at)
       SELECT id, 'oferta', 'Oferta', $1, $1, $1 FROM clients WHERE id <= $2`,
      [now, ids[QUEUED - 1]],
    );
    await ctx.db.exec('ANALYZE notifications');
    // A welcome, its caller not saying it is urgent, and an urgent outage notice.
    const [welcome] = await enqueue(
      ctx.db,
      [{ client_id: ids[QUEUED]!, tipo: 'bienvenida', mensaje: null }],
      now,
    );
    const [outage] = await enqueue(
      ctx.db,
      [{ client_id: ids[QUEUED + 1]!, tipo: 'mantenimiento', mensaje: 'Corte', urgente: true }],
      now,
    );
    const { claimed, fetched, indexes } = await ctx.db.transaction(async (tx) => {
      const { text, values } = claimStatement(night(50));
      const plan = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
      const before = await outboxTuplesFetched(tx);
      // The statement claimDue runs (under its lock), here in a transaction that reads its own counts.
      const claimed = (await tx.query<{ id: number; urgente: boolean }>(text, values)).rows;
      return {
        claimed,
        fetched: (await outboxTuplesFetched(tx)) - before,
        indexes: plan.rows.map((r) => r['QUERY PLAN']).join('\n'),
      };
    });
    expect(claimed.map((r) => r.id).sort((a, b) => a - b)).toEqual([welcome, outage]);
    expect(claimed.every((r) => r.urgente)).toBe(true);
    // The two rows (and their re-reads), not the 2,000 offers.
    expect(fetched).toBeLessThan(50);
    expect(indexes).toContain('notifications_claim_idx');
    expect(indexes).not.toContain('notifications_claim_now_idx');
  });
});

describe('migration 035 on a database with a welcome queued not urgent', () => {
  it('makes the pending welcome urgent, so the night claim still takes it; other rows keep theirs', async () => {
    const db = await createTestDb('pglite', { migrate: false });
    try {
      await migrate(
        db,
        readMigrations().filter((m) => m.version < 35),
      );
      const [a, b] = await seedClients(db, [{ chatId: nextChatId() }, { chatId: nextChatId() }]);
      const now = new Date(T0);
      await db.query(
        `INSERT INTO notifications (client_id, tipo, mensaje, urgente, estado, proximo_intento, created_at, updated_at)
         VALUES ($1, 'bienvenida', NULL, false, 'pendiente', $3, $3, $3),
                ($1, 'bienvenida', NULL, false, 'enviado', $3, $3, $3),
                ($2, 'oferta', 'Oferta', false, 'pendiente', $3, $3, $3)`,
        [a, b, now],
      );
      await migrate(db);
      const { rows } = await db.query<{ tipo: string; estado: string; urgente: boolean }>(
        'SELECT tipo, estado, urgente FROM notifications ORDER BY id',
      );
      expect(rows).toEqual([
        { tipo: 'bienvenida', estado: 'pendiente', urgente: true },
        { tipo: 'bienvenida', estado: 'enviado', urgente: false },
        { tipo: 'oferta', estado: 'pendiente', urgente: false },
      ]);
      const claimed = await claimDue(db, night(10));
      expect(claimed.map((r) => r.tipo)).toEqual(['bienvenida']);
    } finally {
      await db.close();
    }
  });
});
