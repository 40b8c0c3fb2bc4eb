import { beforeEach, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { cancel, generatePaymentNotices, listNotifications } from '../../src/notifications/index.js';
import { claimDue, claimStatement, enqueue } from '../../src/notifications/outbox.js';
import { describeEachDb } from '../support/db.js';
import { nextChatId, seedClients, settingsFor } from './support.js';

// Migration 033: a generated payment notice that waits unclaimed in the queue is not in the client
// index; its key (`tipo:client:…`) finds it. Every look-up of a client's notices goes through
// `teltec_client_notice_ids`, which must give exactly the client's rows in every state.

const TODAY = '2026-03-10';
const NOW = new Date(`${TODAY}T13:00:00Z`);

async function truth(db: Db, clientId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    // A sequential scan: what the client owns, whatever the indexes say.
    'SELECT id FROM notifications WHERE client_id + 0 = $1 ORDER BY id',
    [clientId],
  );
  return rows.map((r) => Number(r.id));
}

async function viaDoor(db: Db, clientId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    'SELECT id FROM teltec_client_notice_ids($1) AS t(id) ORDER BY id',
    [clientId],
  );
  return rows.map((r) => Number(r.id));
}

/**
 * Names of the indexes a plan reads on `notifications`, or 'Seq Scan'. Sequential scans are priced
 * out (a test table is tiny): one shows only where no index can serve the query.
 */
async function outboxAccess(db: Db, sql: string, params: unknown[]): Promise<string[]> {
  const { rows } = await db.transaction(async (tx) => {
    await tx.query(`SELECT set_config('enable_seqscan', 'off', true)`);
    return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
  });
  const text = rows.map((r) => r['QUERY PLAN']).join('\n');
  const out: string[] = [];
  for (const m of text.matchAll(
    /(Seq Scan) on notifications|Index (?:Only )?Scan(?: Backward)? using (\w+) on notifications|Bitmap Index Scan on (\w+)/g,
  )) {
    out.push(m[1] ?? m[2] ?? m[3]!);
  }
  return out;
}

describeEachDb('a client’s notices, generated ones included (migration 033)', (ctx) => {
  const s = settingsFor();
  let a: number;
  let b: number;
  let c: number;

  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, clients, generation_runs RESTART IDENTITY CASCADE');
    // Due 2026-03-12 (reminder), 2026-03-05 (overdue), 2026-03-13 (reminder).
    const ids = await seedClients(ctx.db, [
      { chatId: nextChatId(), pago: '2026-02-10' },
      { chatId: nextChatId(), pago: '2026-02-03' },
      { chatId: nextChatId(), pago: '2026-02-11' },
    ]);
    [a, b, c] = ids as [number, number, number];
    const report = await generatePaymentNotices(ctx.db, s, { today: TODAY, now: NOW });
    expect(report.total_creadas).toBeGreaterThanOrEqual(3);
    // A notice staff wrote by hand: no key, always in the client index.
    await enqueue(ctx.db, [{ client_id: a, tipo: 'manual', mensaje: 'Hola' }], NOW);
  });

  it('generated notices, and only they, carry the marker, with the key that names their client', async () => {
    const { rows } = await ctx.db.query<{ ok: boolean; n: number }>(
      `SELECT bool_and(starts_with(dedupe_key, tipo || ':' || client_id::text || ':')) AS ok, count(*)::int AS n
         FROM notifications WHERE clave_generada`,
    );
    expect(rows[0]).toEqual({ ok: true, n: expect.any(Number) });
    expect(rows[0]!.n).toBeGreaterThanOrEqual(3);
    const manual = await ctx.db.query<{ clave_generada: boolean }>(
      `SELECT clave_generada FROM notifications WHERE tipo = 'manual'`,
    );
    expect(manual.rows).toEqual([{ clave_generada: false }]);
  });

  it('the door gives every notice of a client: queued, claimed, sent, cancelled, by hand', async () => {
    for (const id of [a, b, c]) expect(await viaDoor(ctx.db, id)).toEqual(await truth(ctx.db, id));
    expect((await viaDoor(ctx.db, a)).length).toBe(2);
    // Claimed (in the index from then on), then released back to the queue (out of it again).
    const claimed = await claimDue(ctx.db, {
      worker: 'w',
      now: NOW,
      leaseMs: 60_000,
      limit: 10,
      inWindow: true,
      perClient: 1,
    });
    expect(claimed.length).toBeGreaterThan(0);
    for (const id of [a, b, c]) expect(await viaDoor(ctx.db, id)).toEqual(await truth(ctx.db, id));
    await ctx.db.query(`UPDATE notifications SET estado = 'enviado', sent_at = $1 WHERE client_id = $2`, [
      NOW,
      b,
    ]);
    await ctx.db.query(
      `UPDATE notifications SET locked_by = NULL, locked_until = NULL WHERE client_id = $1`,
      [c],
    );
    for (const id of [a, b, c]) expect(await viaDoor(ctx.db, id)).toEqual(await truth(ctx.db, id));
    expect(await viaDoor(ctx.db, 999_999)).toEqual([]);
  });

  it('a payment cancels the queued generated reminder; a change of state cancels by type', async () => {
    await ctx.db.query(`UPDATE clients SET fecha_ultimo_pago = '2026-03-09' WHERE id = $1`, [a]);
    expect(await cancel(ctx.db, { paidClientId: a, cycleDays: s.cycleDays }, 'pagado', NOW)).toBe(1);
    expect(
      await cancel(ctx.db, { clientId: b, tipos: ['pago_vencido', 'aviso_suspension'] }, 'suspendido', NOW),
    ).toBeGreaterThanOrEqual(1);
    const { rows } = await ctx.db.query<{ client_id: number; tipo: string; estado: string }>(
      'SELECT client_id, tipo, estado FROM notifications ORDER BY id',
    );
    expect(rows.filter((r) => r.client_id === a)).toEqual([
      { client_id: a, tipo: 'recordatorio_pago', estado: 'cancelado' },
      { client_id: a, tipo: 'manual', estado: 'pendiente' },
    ]);
    expect(rows.filter((r) => r.client_id === b).every((r) => r.estado === 'cancelado')).toBe(true);
    expect(rows.filter((r) => r.client_id === c).every((r) => r.estado === 'pendiente')).toBe(true);
  });

  it('the list by client shows its queued generated notice; deleting a client deletes them', async () => {
    const list = await listNotifications(
      ctx.db,
      { cliente_id: a, pagina: 1, por_pagina: 50 },
      'America/Guayaquil',
    );
    expect(list.total).toBe(2);
    expect(list.notificaciones.map((n) => n.tipo).sort()).toEqual(['manual', 'recordatorio_pago']);
    await ctx.db.query('DELETE FROM clients WHERE id = $1', [c]);
    expect(await truth(ctx.db, c)).toEqual([]);
    expect((await truth(ctx.db, a)).length).toBe(2);
  });

  it('reads indexes, never the whole outbox: the door, and the claim’s “client busy” check', async () => {
    // A queue of some size (another client's 3,000 notices), so that reading all pending rows
    // costs what it costs in production.
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento, created_at, updated_at)
       SELECT $1, 'manual', 'Hola', $2, $2, $2 FROM generate_series(1, 3000)`,
      [b, NOW],
    );
    await ctx.db.exec('ANALYZE notifications');
    // The SQL function is inlined: its plan shows each branch reading its own index.
    const door = await outboxAccess(ctx.db, 'SELECT * FROM teltec_client_notice_ids($1)', [a]);
    expect(door).toEqual(['notifications_client_state_idx', 'notifications_dedupe_key_key']);
    // The claim's "client busy" check, as one probe per client (the planner may also hash every
    // claimed row at once): `locked_until >= now` implies the partial index's predicate.
    const busy = await outboxAccess(
      ctx.db,
      `SELECT 1 FROM notifications m WHERE m.client_id = $1 AND m.estado = 'pendiente' AND m.locked_until >= $2`,
      [a, NOW],
    );
    expect(busy).toEqual(['notifications_client_state_idx']);
    expect(
      claimStatement({ worker: 'w', now: NOW, leaseMs: 1, limit: 1, inWindow: true, perClient: 1 }).text,
    ).toContain("m.client_id = r.client_id AND m.estado = 'pendiente' AND m.locked_until >= $1");
  });
});
