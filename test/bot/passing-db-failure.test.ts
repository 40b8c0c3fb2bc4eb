import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Db, Queryable } from '../../src/db/index.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, nextId, seedClient, startBotHarness } from './support.js';

/** PostgreSQL's answer when two transactions wait on each other (one of them is rolled back). */
const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });

/**
 * The database as the bot sees it, failing the next statements that match `armed` (each once)
 * the way PostgreSQL does under load: a deadlock, too many connections.
 */
function withPassingFailures(db: Db) {
  const armed: Array<{ sql: RegExp; left: number }> = [];
  const check = (text: string) => {
    const hit = armed.find((a) => a.left > 0 && a.sql.test(text));
    if (hit) {
      hit.left--;
      throw deadlock();
    }
  };
  const wrap = (q: Queryable): Queryable => ({
    async query(text, params) {
      check(text);
      return q.query(text, params);
    },
    exec: (sql) => q.exec(sql),
  });
  const faulty: Db = {
    ...db,
    ...wrap(db),
    transaction: (fn, opts) => db.transaction((tx) => fn(wrap(tx)), opts),
  };
  return {
    db: faulty,
    fail: (sql: RegExp, times = 1) => armed.push({ sql, left: times }),
    disarm: () => armed.splice(0),
  };
}

async function inboxRow(db: Db, botId: number, chatId: number) {
  const { rows } = await db.query<{ estado: string; intentos: number }>(
    'SELECT estado, intentos FROM bot_updates WHERE bot_id = $1 AND chat_id = $2 ORDER BY update_id DESC LIMIT 1',
    [botId, chatId],
  );
  return rows[0];
}

/**
 * Issue 12 §12: a deadlock or "too many connections" while an update is handled is retried at
 * once (a few times, with short waits), not left for the sweeper a minute later — the cédula
 * drill lost replies that way with more handlers on a loaded server. A retry never repeats a reply.
 */
describeEachDb('a passing database failure while handling', (ctx) => {
  let h: BotHarness;
  let faults: ReturnType<typeof withPassingFailures>;
  beforeAll(async () => {
    faults = withPassingFailures(ctx.db);
    h = await startBotHarness(faults.db, { mode: 'polling' });
  });
  afterEach(() => {
    faults.disarm();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a deadlock before anything was said: handled again at once, one answer', async () => {
    const cedula = cedulaFor(76_000 + nextId());
    await seedClient(ctx.db, cedula, { telefono: '0987003001' });
    const u = h.user({ chatId: 886_100 + nextId() });
    // The cédula lookup's transaction is the victim twice in a row.
    faults.fail(/pg_advisory_xact_lock/, 2);
    const replies = await h.act(u, (x) => x.send(cedula));
    expect(replies.map((m) => m.text)).toEqual([expect.stringContaining('Compartir mi número')]);
    expect(await inboxRow(ctx.db, h.bot.botId, u.chatId)).toEqual({ estado: 'procesado', intentos: 1 });
  });

  it('a deadlock after the reply went out: not handled again here (the reply is not repeated)', async () => {
    const cedula = cedulaFor(77_000 + nextId());
    await seedClient(ctx.db, cedula, { nombre: 'Rosa Vera', telefono: '0987003002' });
    const u = h.user({ chatId: 886_200 + nextId() });
    await h.say(u, cedula);
    // Linking answers "¡Listo!" and then gives the lookup back: that last statement fails.
    faults.fail(/SET resultado = 'completada'/);
    const replies = await h.act(u, (x) => x.shareContact('0987003002'));
    expect(replies.map((m) => m.text)).toEqual([expect.stringContaining('¡Listo, Rosa Vera!')]);
    expect(await inboxRow(ctx.db, h.bot.botId, u.chatId)).toEqual({ estado: 'pendiente', intentos: 1 });
  });
});
