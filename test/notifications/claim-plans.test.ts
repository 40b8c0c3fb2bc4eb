import { beforeAll, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/index.js';
import {
  type AttemptOptions,
  beginAttempts,
  type ClaimOptions,
  claimDue,
  claimStatement,
  completeMany,
} from '../../src/notifications/outbox.js';
import { describeEachDb } from '../support/db.js';
import { nextChatId, seedClients, settingsFor, T0 } from './support.js';

/**
 * Issue 16 §3: the claim path costs what its batch costs, however the planner's statistics were
 * left. A VACUUM (ANALYZE) of an empty queue (PGlite's nightly job, or an autovacuum between two
 * bursts) records no pending row: until the next ANALYZE the indexes on pending rows look empty,
 * however many rows are queued since. The claim bench fell to a third of its starting rate after
 * such a VACUUM: its lock step and the re-check's UPDATE read the whole queue per row.
 */
describeEachDb('claim path plans after a VACUUM of an empty queue', (ctx) => {
  const now = new Date(T0);
  const QUEUED = 1000;
  const claim = (worker: string, limit: number): ClaimOptions => ({
    worker,
    now,
    leaseMs: 60_000,
    limit,
    inWindow: true,
    perClient: 2,
  });
  const attempt = (worker: string): AttemptOptions => ({
    worker,
    now,
    leaseMs: 60_000,
    today: '2026-03-10',
    settings: settingsFor(),
  });

  async function queueOneEach(db: Db): Promise<void> {
    await db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento, created_at, updated_at)
       SELECT id, 'manual', 'hola', $1, $1, $1 FROM clients ORDER BY id`,
      [now],
    );
  }

  /** Claims, begins and records as sent every queued row, as the dispatcher does. */
  async function sendAll(db: Db): Promise<void> {
    for (;;) {
      const rows = await claimDue(db, claim('w0', 100));
      if (rows.length === 0) return;
      const begun = await beginAttempts(
        db,
        rows.map((r) => ({ id: r.id, countAttempt: true })),
        attempt('w0'),
      );
      await completeMany(
        db,
        'w0',
        begun.map((a) => ({
          kind: 'sent' as const,
          id: a.id,
          at: now,
          messageId: a.id,
          chatId: a.chat_id,
          text: 'hola',
        })),
      );
    }
  }

  beforeAll(async () => {
    // Only the statistics this test leaves: no autovacuum of its own on PostgreSQL.
    await ctx.db.exec('ALTER TABLE notifications SET (autovacuum_enabled = off)');
    await seedClients(
      ctx.db,
      Array.from({ length: QUEUED }, () => ({ chatId: nextChatId() })),
    );
    await queueOneEach(ctx.db);
    await sendAll(ctx.db);
    await ctx.db.exec('VACUUM (ANALYZE) notifications');
    await queueOneEach(ctx.db);
  });

  it('the claim locks the rows it picked through the primary key', async () => {
    const { text, values } = claimStatement(claim('w1', 50));
    const plan = await ctx.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
      return rows[0]!['QUERY PLAN'];
    });
    const root = (Array.isArray(plan) ? plan : JSON.parse(String(plan)))[0].Plan as PlanNode;
    const lockStep = findNode(root, (n) => n['Subplan Name'] === 'CTE locked');
    expect(lockStep).toBeDefined();
    // The rows it locks (not the pick under it: a sub-plan, or a sub-query scan when inlined).
    const scans = collect(lockStep!, (n) => n['Relation Name'] === 'notifications');
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.map((s) => s['Index Name'] ?? s['Node Type'])).toEqual(
      scans.map(() => 'notifications_pkey'),
    );
    const claimed = await claimDue(ctx.db, claim('w1', 50));
    expect(claimed).toHaveLength(50);
  });

  it('the re-check reads the rows it begins, not the whole queue', async () => {
    const rows = await claimDue(ctx.db, claim('w2', 16));
    expect(rows).toHaveLength(16);
    const { begun, fetched } = await ctx.db.transaction(async (tx) => {
      const before = await outboxTuplesFetched(tx);
      const begun = await beginAttempts(
        tx,
        rows.map((r) => ({ id: r.id, countAttempt: true })),
        attempt('w2'),
      );
      return { begun, fetched: (await outboxTuplesFetched(tx)) - before };
    });
    expect(begun).toHaveLength(16);
    // Each row once or twice (found, then updated); the whole queue is 1,000 rows.
    expect(fetched).toBeLessThan(100);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

function findNode(n: PlanNode, f: (n: PlanNode) => boolean): PlanNode | undefined {
  if (f(n)) return n;
  for (const c of n.Plans ?? []) {
    const hit = findNode(c, f);
    if (hit) return hit;
  }
  return undefined;
}

/** The nodes of one step where `f` holds, not looking into its sub-plans and sub-queries. */
function collect(n: PlanNode, f: (n: PlanNode) => boolean): PlanNode[] {
  const inner = (n.Plans ?? []).filter((c) => !c['Subplan Name'] && c['Node Type'] !== 'Subquery Scan');
  return [...(f(n) ? [n] : []), ...inner.flatMap((c) => collect(c, f))];
}

/** Rows of the outbox fetched through its indexes in this transaction so far. */
async function outboxTuplesFetched(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ n: string }>(
    `SELECT COALESCE(idx_tup_fetch, 0)::text AS n FROM pg_stat_xact_user_tables WHERE relname = 'notifications'`,
  );
  return Number(rows[0]?.n ?? 0);
}
