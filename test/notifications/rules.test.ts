import { beforeEach, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { type EngineSettings, generatePaymentNotices } from '../../src/notifications/index.js';
import { type AttemptRow, beginAttempts } from '../../src/notifications/outbox.js';
import { describeEachDb } from '../support/db.js';
import { type ClientSpec, createPlan, nextChatId, seedClients, settingsFor } from './support.js';

/**
 * The payment rules have one SQL home (migrations/005_rules.sql): generation creates a notice
 * exactly when the send-time re-check would send it, and the amount owed is unpaid cycles × price.
 */

const WORKER = 'rules-test';

function generateOn(db: Db, s: EngineSettings, today: string) {
  return generatePaymentNotices(db, s, { today, now: new Date(`${today}T13:00:00Z`) });
}

/** Claims every pending row for the test worker and begins its attempt as of `today`. */
async function recheckAll(db: Db, s: EngineSettings, today: string): Promise<AttemptRow[]> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE notifications SET locked_by = $1, locked_until = $2::timestamptz + interval '1 minute'
      WHERE estado = 'pendiente' RETURNING id`,
    [WORKER, new Date(`${today}T13:00:00Z`)],
  );
  return beginAttempts(
    db,
    rows.map((r) => ({ id: Number(r.id), countAttempt: true })),
    { worker: WORKER, now: new Date(`${today}T13:00:00Z`), leaseMs: 60_000, today, settings: s },
  );
}

/** The dedupe keys generation would create on `today` from nothing (rolled back). */
async function currentKeys(db: Db, s: EngineSettings, today: string): Promise<Set<string>> {
  let keys: string[] = [];
  await db
    .transaction(async (tx) => {
      await tx.query('DELETE FROM notifications');
      await generatePaymentNotices(tx, s, { today, now: new Date(`${today}T13:00:00Z`) });
      keys = (await tx.query<{ k: string }>('SELECT dedupe_key AS k FROM notifications')).rows.map(
        (r) => r.k,
      );
      throw new Error('rollback');
    })
    .catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  return new Set(keys);
}

function addDays(date: string, n: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

describeEachDb('payment rules: one SQL home', (ctx) => {
  const s = settingsFor();

  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, clients, plans RESTART IDENTITY CASCADE');
  });

  it('a client two cycles behind owes two cycles: the re-check row carries 2 × the plan price', async () => {
    const plan = await createPlan(ctx.db, 'Hogar 25', 25.5);
    const today = '2026-03-10';
    const [twoBehind, oneBehind, reminded, billingDay] = await seedClients(ctx.db, [
      // due 2026-02-08; 30 days later (2026-03-10) the next cycle is due too
      { pago: '2026-01-09', chatId: nextChatId(), planId: plan },
      // due 2026-03-08
      { pago: '2026-02-06', chatId: nextChatId(), planId: plan },
      // due 2026-03-13: the reminder asks for the cycle coming due
      { pago: '2026-02-11', chatId: nextChatId(), planId: plan },
      // billing day 5: due 2026-02-05, then 2026-03-05 — two cycles due
      { pago: '2026-01-05', diaPago: 5, chatId: nextChatId(), planId: plan },
    ]);
    await generateOn(ctx.db, s, today);
    const rows = await recheckAll(ctx.db, s, today);
    const owed = Object.fromEntries(rows.map((r) => [r.client_id, r.monto_adeudado]));
    expect(rows.every((r) => r.estado === 'pendiente')).toBe(true);
    expect(owed).toEqual({ [twoBehind!]: 51, [oneBehind!]: 25.5, [reminded!]: 25.5, [billingDay!]: 51 });

    // The same figure for /status and the admin page.
    const { rows: billing } = await ctx.db.query<{
      client_id: number;
      ciclos_adeudados: number;
      monto_adeudado: number;
      estado_pago: string;
    }>(
      `SELECT client_id, ciclos_adeudados, monto_adeudado, estado_pago
         FROM teltec_client_billing($1::date, $2::int, $3::int) ORDER BY client_id`,
      [today, s.cycleDays, s.reminderDaysBefore],
    );
    expect(billing).toEqual([
      { client_id: twoBehind, ciclos_adeudados: 2, monto_adeudado: 51, estado_pago: 'vencido' },
      { client_id: oneBehind, ciclos_adeudados: 1, monto_adeudado: 25.5, estado_pago: 'vencido' },
      { client_id: reminded, ciclos_adeudados: 0, monto_adeudado: 25.5, estado_pago: 'por_vencer' },
      { client_id: billingDay, ciclos_adeudados: 2, monto_adeudado: 51, estado_pago: 'vencido' },
    ]);
  });

  it('generation and the send-time re-check agree, case by case, day after day', async () => {
    const d0 = '2026-03-10';
    const plan = await createPlan(ctx.db, 'Hogar', 20);
    // Every combination that matters: due date before/around/after today, fixed billing day or
    // not, each client state, linked / not linked / blocked / unreachable.
    const specs: (ClientSpec & { unreachable?: string })[] = [];
    for (let ago = 10; ago <= 75; ago += 3) {
      for (const diaPago of [null, 3, 12, 25]) {
        for (const estado of ['activo', 'suspendido', 'retirado'] as const) {
          for (const link of ['chat', 'none', 'blocked', 'gone'] as const) {
            specs.push({
              pago: addDays(d0, -ago),
              diaPago,
              estado,
              planId: plan,
              chatId: link === 'none' ? null : nextChatId(),
              blocked: link === 'blocked',
              unreachable: link === 'gone' ? 'deactivated' : undefined,
            });
          }
        }
      }
    }
    const ids = await seedClients(ctx.db, specs);
    await ctx.db.query(`UPDATE clients SET telegram_unreachable = 'deactivated' WHERE id = ANY($1::int[])`, [
      ids.filter((_, i) => specs[i]!.unreachable),
    ]);

    for (const settings of [s, settingsFor({ NOTIFY_SUSPENDED: '1' })]) {
      await ctx.db.exec('TRUNCATE notifications RESTART IDENTITY CASCADE');
      // On the day of generation, every notice it creates is one the re-check sends.
      const created = await generateOn(ctx.db, settings, d0);
      expect(created.total_creadas).toBeGreaterThan(50);
      const sameDay = await recheckAll(ctx.db, settings, d0);
      expect(sameDay).toHaveLength(created.total_creadas);
      expect(sameDay.filter((r) => r.estado !== 'pendiente')).toEqual([]);

      // Days later (some clients paid meanwhile), a row is still sent exactly when generation
      // on that day would create that same notice.
      await ctx.db.query(
        `UPDATE clients SET fecha_ultimo_pago = $2::date WHERE id % 7 = 0 AND id = ANY($1::int[])`,
        [ids, addDays(d0, 1)],
      );
      // … and some blocked the bot, or were suspended.
      await ctx.db.exec(`UPDATE clients SET telegram_blocked = true WHERE id % 11 = 0`);
      await ctx.db.exec(`UPDATE clients SET estado = 'suspendido' WHERE id % 13 = 0 AND estado = 'activo'`);
      for (const k of [1, 3, 6, 11]) {
        const d1 = addDays(d0, k);
        await ctx.db.query(`UPDATE notifications SET estado = 'pendiente', motivo = NULL WHERE true`);
        const expected = await currentKeys(ctx.db, settings, d1);
        const { rows: keyed } = await ctx.db.query<{ id: number; dedupe_key: string }>(
          'SELECT id, dedupe_key FROM notifications',
        );
        const keyOf = new Map(keyed.map((r) => [Number(r.id), r.dedupe_key]));
        const later = await recheckAll(ctx.db, settings, d1);
        expect(later).toHaveLength(keyed.length);
        const disagreements = later
          .filter((r) => (r.estado === 'pendiente') !== expected.has(keyOf.get(Number(r.id))!))
          .map((r) => ({ dia: d1, clave: keyOf.get(Number(r.id)), estado: r.estado, motivo: r.motivo }));
        expect(disagreements).toEqual([]);
        // And the re-check gives the reason a person can act on.
        for (const r of later.filter((x) => x.estado !== 'pendiente')) {
          expect(r.motivo).toMatch(
            /^(pago_recibido|vencido_antes_de_enviar|reemplazada|ya_no_aplica|cliente_\w+|sin_telegram|blocked|deactivated)$/,
          );
        }
      }
    }
  });
});
