import { beforeEach, describe, expect, it } from 'vitest';
import { type Db, migrate, readMigrations } from '../../src/db/index.js';
import { type EngineSettings, enqueue, generatePaymentNotices } from '../../src/notifications/index.js';
import { createTestDb, describeEachDb } from '../support/db.js';
import { nextChatId, seedClients, settingsFor } from './support.js';

// Generation looks a candidate's key up only when the notice may exist: when its window opened on
// or before the last day generated for (migration 032). The rest goes straight to the unique
// index, without ON CONFLICT; a key written by someone else makes the statement run again from a
// savepoint with ON CONFLICT DO NOTHING. Notice ids come from a sequence that a statement rolled
// back does not give back: a gap in the ids is the trace of such a second run.

function generateOn(db: Db, s: EngineSettings, today: string) {
  return generatePaymentNotices(db, s, { today, now: new Date(`${today}T13:00:00Z`) });
}

const day = (start: string, plus: number) =>
  new Date(Date.parse(`${start}T12:00:00Z`) + plus * 86_400_000).toISOString().slice(0, 10);

async function ids(db: Db) {
  const { rows } = await db.query<{ n: number; max: number | null }>(
    'SELECT count(*)::int AS n, max(id)::int AS max FROM notifications',
  );
  return rows[0]!;
}

/** The reminder of `clientId`'s cycle `due` under the generator's key, written by someone else. */
async function writeReminder(db: Db, clientId: number, due: string) {
  const notice = { client_id: clientId, tipo: 'recordatorio_pago', ciclo: due, paso: 0 } as const;
  await enqueue(
    db,
    [{ ...notice, dedupe_key: `recordatorio_pago:${clientId}:${due}` }],
    new Date(`${due}T00:00:00Z`),
  );
}

async function lastDay(db: Db) {
  const { rows } = await db.query<{ d: string }>('SELECT ultimo_dia::text AS d FROM generation_runs');
  return rows[0]?.d ?? null;
}

describeEachDb('generation probes what may exist', (ctx) => {
  const s = settingsFor();

  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, clients, generation_runs RESTART IDENTITY CASCADE');
  });

  it('runs every day (twice) for two months, payments on the way: never meets a key it did not look up', async () => {
    const specs = Array.from({ length: 40 }, (_, i) => ({
      chatId: nextChatId(),
      pago: day('2026-01-01', i),
      diaPago: i % 4 === 0 ? 1 + (i % 28) : null,
      estado: i % 13 === 0 ? ('suspendido' as const) : ('activo' as const),
    }));
    const clients = await seedClients(ctx.db, specs);
    let created = 0;
    for (let d = 0; d < 60; d++) {
      const today = day('2026-02-01', d);
      // Some clients pay: a new cycle, whose windows may have opened before today.
      if (d % 9 === 4) {
        await ctx.db.query(`UPDATE clients SET fecha_ultimo_pago = $2::date - 3 WHERE id = ANY($1::int[])`, [
          clients.filter((_, i) => i % 5 === d % 5),
          today,
        ]);
      }
      created += (await generateOn(ctx.db, s, today)).total_creadas;
      expect((await generateOn(ctx.db, s, today)).total_creadas).toBe(0);
    }
    expect(created).toBeGreaterThan(100);
    expect(await ids(ctx.db)).toEqual({ n: created, max: created });
    expect(await lastDay(ctx.db)).toBe(day('2026-02-01', 59));
  });

  it('a key written before the first generation: the statement meets it, runs again and skips it', async () => {
    const [a, b] = await seedClients(ctx.db, [
      { chatId: nextChatId(), pago: '2026-02-13' }, // due 2026-03-15: reminder from 03-10
      { chatId: nextChatId(), pago: '2026-02-14' }, // due 2026-03-16: reminder from 03-11
    ]);
    // Another writer (a broken promise's notice takes the generator's key) made A's reminder.
    await writeReminder(ctx.db, a!, '2026-03-15');
    expect(await lastDay(ctx.db)).toBeNull();
    const r = await generateOn(ctx.db, s, '2026-03-11');
    expect(r.por_tipo.recordatorio_pago).toMatchObject({ creadas: 1, ya_notificadas: 1 });
    const { rows } = await ctx.db.query<{ client_id: number; dedupe_key: string }>(
      'SELECT client_id, dedupe_key FROM notifications ORDER BY client_id',
    );
    expect(rows).toEqual([
      { client_id: a, dedupe_key: `recordatorio_pago:${a}:2026-03-15` },
      { client_id: b, dedupe_key: `recordatorio_pago:${b}:2026-03-16` },
    ]);
    // The first try inserted without looking A's key up, met it and was rolled back: its ids are gone.
    const after = await ids(ctx.db);
    expect(after.n).toBe(2);
    expect(after.max).toBeGreaterThan(2);
    expect(await lastDay(ctx.db)).toBe('2026-03-11');
    // The same key once a day was generated for its window's first day is looked up: no second try.
    const before = (await ids(ctx.db)).max!;
    await ctx.db.query('DELETE FROM notifications WHERE client_id = $1', [b]);
    await writeReminder(ctx.db, b!, '2026-03-16');
    expect((await generateOn(ctx.db, s, '2026-03-12')).total_creadas).toBe(0);
    expect((await ids(ctx.db)).max).toBe(before + 1);
  });

  it('remembers the latest day generated for, whatever order the days come in', async () => {
    await seedClients(ctx.db, [{ chatId: nextChatId(), pago: '2026-02-13' }]);
    await generateOn(ctx.db, s, '2026-03-12');
    await generateOn(ctx.db, s, '2026-03-10');
    expect(await lastDay(ctx.db)).toBe('2026-03-12');
  });

  // The lock is taken in the round trip that opens the statement's savepoint: a generation another
  // transaction holds makes this one wait, then find the notices made (PGlite runs one
  // transaction at a time: there is nothing to wait for). Without the lock it would wait too, on
  // the unique index, then run again: the id that run burns (max 2) tells the two apart.
  if (ctx.kind === 'postgres') {
    it('waits for a generation another transaction is running', async () => {
      await seedClients(ctx.db, [{ chatId: nextChatId(), pago: '2026-02-13' }]);
      let second: Promise<Awaited<ReturnType<typeof generateOn>>> | undefined;
      let settled = false;
      const first = await ctx.db.transaction(async (tx) => {
        const made = await generateOn(tx as Db, s, '2026-03-12');
        second = generateOn(ctx.db, s, '2026-03-12').finally(() => {
          settled = true;
        });
        await new Promise((r) => setTimeout(r, 300));
        expect(settled).toBe(false);
        return made;
      });
      expect(first.total_creadas).toBe(1);
      expect((await second!).total_creadas).toBe(0);
      expect((await ids(ctx.db)).max).toBe(1);
      const { rows } = await ctx.db.query<{ id: number }>(
        `SELECT nextval(pg_get_serial_sequence('notifications', 'id'))::int AS id`,
      );
      expect(rows[0]!.id).toBe(2);
    });
  }
});

describe('migration 032 on a database that has notices', () => {
  it('starts from two days after the newest payment notice was created; nothing generated: no day', async () => {
    for (const withNotices of [true, false]) {
      const db = await createTestDb('pglite', { migrate: false });
      try {
        await migrate(
          db,
          readMigrations().filter((m) => m.version < 32),
        );
        const [id] = await seedClients(db, [{ pago: '2026-02-13' }]);
        if (withNotices) {
          await db.query(
            `INSERT INTO notifications (client_id, tipo, dedupe_key, ciclo, paso, proximo_intento, created_at, updated_at)
             VALUES ($1::int, 'recordatorio_pago', 'recordatorio_pago:' || $1::int || ':2026-03-15', '2026-03-15', 0, $2, $2, $2),
                    ($1::int, 'manual', NULL, NULL, NULL, $3, $3, $3)`,
            [id, '2026-03-10T23:30:00Z', '2026-04-20T10:00:00Z'],
          );
        }
        await migrate(db);
        expect(await lastDay(db)).toBe(withNotices ? '2026-03-12' : null);
      } finally {
        await db.close();
      }
    }
  });
});
