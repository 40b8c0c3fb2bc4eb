import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import {
  applyPaymentToOutbox,
  cancelCampaign,
  createCampaign,
  createEngineMetrics,
  type Dispatcher,
  generatePaymentNotices,
} from '../../src/notifications/index.js';
import { beginAttempt, claimDue, enqueue } from '../../src/notifications/outbox.js';
import type { TelegramSender } from '../../src/telegram/send.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { describeEachDb } from '../support/db.js';
import {
  countByState,
  createPlan,
  nextChatId,
  seedClients,
  settingsFor,
  startTestStandin,
  T0,
  testDispatcher,
} from './support.js';

/** A seeded PRNG, so that retry jitter (and with it the order of calls) is reproducible. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function queueManual(db: Db, clientIds: number[], opts: { urgente?: boolean; tipo?: string } = {}) {
  await db.query(
    `INSERT INTO notifications (client_id, tipo, mensaje, urgente, proximo_intento)
     SELECT id, $2, 'Aviso para ' || nombre, $3, $4 FROM unnest($1::int[]) AS id JOIN clients c USING (id)`,
    [clientIds, opts.tipo ?? 'manual', opts.urgente ?? false, new Date(T0)],
  );
}

async function linkedClients(db: Db, n: number, extra: Record<string, unknown> = {}) {
  const chats = Array.from({ length: n }, () => nextChatId());
  // A payment notice needs a plan (its amount): compose refuses one with an empty {plan}/{monto}.
  const existing = await db.query<{ id: number }>(`SELECT id FROM plans WHERE nombre = 'Hogar prueba'`);
  const planId = existing.rows[0]?.id ?? (await createPlan(db, 'Hogar prueba'));
  const ids = await seedClients(
    db,
    chats.map((chatId) => ({ chatId, planId, ...extra })),
  );
  return { ids, chats };
}

describeEachDb('outbox dispatcher', (ctx) => {
  let standin: Standin;
  let sender: TelegramSender;
  let dispatchers: Dispatcher[] = [];
  const track = (d: Dispatcher) => {
    dispatchers.push(d);
    return d;
  };

  beforeAll(async () => {
    ({ standin, sender } = await startTestStandin());
  });
  afterAll(async () => {
    await standin.close();
  });
  beforeEach(async () => {
    standin.reset();
    standin.setLatency(0);
    standin.setLimits(false);
    await ctx.db.exec('TRUNCATE notifications, campaigns, clients, templates RESTART IDENTITY CASCADE');
    await ctx.db.query('UPDATE dispatch_pacer SET next_slot_ms = 0');
  });
  afterEach(async () => {
    await Promise.all(dispatchers.map((d) => d.stop({ drainMs: 2000 })));
    dispatchers = [];
  });

  it('sends every pending row once, rendering templates, and keeps message_id and sent time', async () => {
    const plan = await createPlan(ctx.db, 'Hogar 50', 25.5);
    const chat = nextChatId();
    const [id] = await seedClients(ctx.db, [
      { chatId: chat, pago: '2026-02-13', planId: plan, nombre: 'Ana <Pérez>' },
    ]);
    await generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-10', now: new Date(T0) });
    // The bot queues its welcome with a NULL message (template) or its own plain text.
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, urgente, dedupe_key, proximo_intento)
       VALUES ($1, 'bienvenida', NULL, false, 'bienvenida:x', $2), ($1, 'manual', 'Hola <tal>', false, NULL, $2)`,
      [id, new Date(T0)],
    );
    const clock = createManualClock(T0);
    const d = track(testDispatcher(ctx.db, sender, { clock }));
    const report = await d.runOnce();
    expect(report).toMatchObject({ reclamadas: 3, enviadas: 3, fallidas: 0, canceladas: 0 });
    const sent = standin.sentTo(chat);
    expect(sent).toHaveLength(3);
    const reminder = sent.find((m) => m.text.includes('Le recordamos'))!;
    expect(reminder.parse_mode).toBe('HTML');
    expect(reminder.text).toContain('Ana &lt;Pérez&gt;');
    expect(reminder.text).toContain('<b>$25,50</b>');
    expect(reminder.text).toContain('15/03/2026');
    const manual = sent.find((m) => m.text === 'Hola <tal>')!;
    expect(manual.parse_mode).toBeUndefined();
    const { rows } = await ctx.db.query<{
      estado: string;
      telegram_message_id: number;
      sent_at: Date;
      intentos: number;
      locked_by: string | null;
      mensaje: string;
    }>('SELECT * FROM notifications ORDER BY id');
    for (const r of rows) {
      expect(r).toMatchObject({ estado: 'enviado', intentos: 1, locked_by: null });
      expect(r.sent_at.toISOString()).toBe(new Date(T0).toISOString());
      expect(sent.map((m) => m.message_id)).toContain(r.telegram_message_id);
    }
    expect(rows[0]!.mensaje).toContain('Le recordamos');
    // Nothing left: a second pass does nothing.
    expect((await d.runOnce()).reclamadas).toBe(0);
  });

  it('skips clients without Telegram or blocked, and respects offer and maintenance preferences', async () => {
    const chats = [nextChatId(), nextChatId(), nextChatId()];
    const [noChat, blocked, noOffers] = await seedClients(ctx.db, [
      { chatId: null },
      { chatId: chats[0], blocked: true },
      { chatId: chats[1], prefOfertas: false, prefMantenimiento: false },
    ]);
    await queueManual(ctx.db, [noChat!, blocked!]);
    await queueManual(ctx.db, [noOffers!], { tipo: 'oferta' });
    await queueManual(ctx.db, [noOffers!], { tipo: 'mantenimiento' });
    await queueManual(ctx.db, [noOffers!], { tipo: 'manual' });
    const d = track(testDispatcher(ctx.db, sender));
    const report = await d.runOnce();
    expect(report).toMatchObject({ enviadas: 1, fallidas: 2, canceladas: 2 });
    const { rows } = await ctx.db.query<{ client_id: number; tipo: string; estado: string; motivo: string }>(
      'SELECT client_id, tipo, estado, motivo FROM notifications ORDER BY id',
    );
    expect(rows.map((r) => [r.client_id, r.tipo, r.estado, r.motivo])).toEqual([
      [noChat, 'manual', 'fallido', 'sin_telegram'],
      [blocked, 'manual', 'fallido', 'blocked'],
      [noOffers, 'oferta', 'cancelado', 'preferencia'],
      [noOffers, 'mantenimiento', 'cancelado', 'preferencia'],
      [noOffers, 'manual', 'enviado', null],
    ]);
    expect(standin.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(1);
  });

  it('automatic notices wait for the send window; urgent ones and welcomes go at once', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 4, { pago: '2026-02-13' });
    // 21:30 in Guayaquil.
    const clock = createManualClock('2026-03-11T02:30:00Z');
    await generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-10', now: clock.now() });
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, urgente, proximo_intento) VALUES
         ($1, 'mantenimiento', 'Corte de emergencia', true, $3),
         ($2, 'oferta', 'Oferta nocturna', false, $3)`,
      [ids[0], ids[2], clock.now()],
    );
    // A welcome through the outbox's door, not marked urgent by its caller: the outbox marks it.
    await enqueue(ctx.db, [{ client_id: ids[1]!, tipo: 'bienvenida', mensaje: null }], clock.now());
    const d = track(testDispatcher(ctx.db, sender, { clock }));
    const night = await d.runOnce();
    expect(night).toMatchObject({ enviadas: 2, en_ventana: false });
    expect(standin.sentTo(chats[0]!).map((m) => m.text)).toEqual(['Corte de emergencia']);
    expect(standin.sentTo(chats[1]!)).toHaveLength(1);
    expect(await countByState(ctx.db)).toEqual({ enviado: 2, pendiente: 5 });
    clock.set('2026-03-11T12:59:00Z'); // 07:59
    expect((await d.runOnce()).enviadas).toBe(0);
    clock.set('2026-03-11T13:00:00Z'); // 08:00
    const morning = await d.runOnce();
    expect(morning).toMatchObject({ enviadas: 5, en_ventana: true });
    expect(await countByState(ctx.db)).toEqual({ enviado: 7 });
  });

  it('20% of calls failing with 5xx or dropped connections: every notification ends sent, none twice', async () => {
    const { chats } = await linkedClients(ctx.db, 300);
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento) SELECT id, 'manual', 'Hola ' || id, $1 FROM clients`,
      [new Date(T0)],
    );
    standin.failRate(
      0.2,
      [{ kind: 'server_error', status: 502 }, { kind: 'server_error' }, { kind: 'drop' }],
      7,
    );
    const clock = createManualClock(T0);
    const d = track(
      testDispatcher(ctx.db, sender, { clock, options: { concurrency: 1, random: seeded(3) } }),
    );
    let retries = 0;
    for (let pass = 0; pass < 10; pass++) {
      const r = await d.runOnce();
      retries += r.reintentos;
      const next = await ctx.db.query<{ at: Date | null }>(
        `SELECT max(proximo_intento) AS at FROM notifications WHERE estado = 'pendiente'`,
      );
      if (!next.rows[0]!.at) break;
      clock.set(next.rows[0]!.at); // every retry due (still inside the send window)
    }
    expect(await countByState(ctx.db)).toEqual({ enviado: 300 });
    expect(retries).toBeGreaterThan(30);
    expect(standin.sent).toHaveLength(300);
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
    const { rows } = await ctx.db.query<{ max: number }>(
      'SELECT max(intentos)::int AS max FROM notifications',
    );
    expect(rows[0]!.max).toBeLessThanOrEqual(6);
  });

  it('a 429 pauses every send for retry_after, counts no attempt, and loses nothing', async () => {
    const { chats } = await linkedClients(ctx.db, 40);
    await queueManual(
      ctx.db,
      (await ctx.db.query<{ id: number }>('SELECT id FROM clients')).rows.map((r) => r.id),
    );
    standin.setLatency(20);
    standin.failNext(2, { kind: 'retry_after', seconds: 1 }, { method: 'sendMessage' });
    const metrics = createEngineMetrics();
    const d = track(
      testDispatcher(ctx.db, sender, { metrics, options: { concurrency: 8, ratePerSecond: 200 } }),
    );
    const started = Date.now();
    const report = await d.runOnce();
    expect(report).toMatchObject({ enviadas: 40, limitadas: 2, fallidas: 0 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(await countByState(ctx.db)).toEqual({ enviado: 40 });
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
    const { rows } = await ctx.db.query<{ max: number }>(
      'SELECT max(intentos)::int AS max FROM notifications',
    );
    expect(rows[0]!.max).toBe(1);
    // After each 429 no new call started until retry_after had passed. The sender learns of the
    // 429 when its answer arrives: on a busy machine (PGlite shares the event loop) that can be
    // 100 ms or more after the stand-in sent it, so sends already under way may start up to then.
    const calls = standin.calls.filter((c) => c.method === 'sendMessage');
    for (const limited of calls.filter((c) => c.status === 429)) {
      const answeredAt = limited.at + 20;
      const startedDuringPause = calls.filter((c) => c.at > answeredAt + 200 && c.at < answeredAt + 950);
      expect(startedDuringPause).toEqual([]);
    }
    expect(await metrics.registry.getSingleMetricAsString('teltec_telegram_429_total')).toContain(' 2');
  });

  it('a 429 storm (sender far above the limit Telegram enforces): it waits each time and loses nothing', async () => {
    const { chats } = await linkedClients(ctx.db, 60);
    await queueManual(
      ctx.db,
      (await ctx.db.query<{ id: number }>('SELECT id FROM clients')).rows.map((r) => r.id),
    );
    // Telegram allows 20 msg/s; the sender is set to 200 msg/s: every burst ends in 429s.
    standin.setLimits({ globalPerSecond: 20, burst: 20 });
    const d = track(testDispatcher(ctx.db, sender, { options: { concurrency: 8, ratePerSecond: 200 } }));
    const report = await d.runOnce();
    expect(report.enviadas).toBe(60);
    expect(report.fallidas).toBe(0);
    expect(report.limitadas).toBeGreaterThanOrEqual(2);
    expect(standin.stats.tooMany).toBe(report.limitadas);
    expect(await countByState(ctx.db)).toEqual({ enviado: 60 });
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
    // A 429 is Telegram's pacing, not the row's failure: no attempt counted for it.
    const { rows } = await ctx.db.query<{ max: number }>(
      'SELECT max(intentos)::int AS max FROM notifications',
    );
    expect(rows[0]!.max).toBe(1);
  });

  it('an absurd retry_after is capped and the row re-queued', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 2);
    await queueManual(ctx.db, ids);
    standin.failNext(1, { kind: 'retry_after', seconds: 86_400 }, { method: 'sendMessage' });
    const d = track(testDispatcher(ctx.db, sender, { options: { maxPauseMs: 300 } }));
    const started = Date.now();
    const r = await d.runOnce();
    expect(r).toMatchObject({ enviadas: 2, limitadas: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
  });

  it('blocked, deactivated and unknown chats fail at once, without retries, and mark the client', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 3);
    await standin.user({ chatId: chats[0]! }).block();
    standin.unknownChats.add(chats[1]!);
    standin.failNext(1, { kind: 'deactivated' }, { chatId: chats[2] });
    await queueManual(ctx.db, ids);
    await queueManual(ctx.db, ids); // a second notice for each: not even attempted
    // Real per-chat pacing: the second notice of a chat waits a second, after the first one's verdict.
    const d = track(testDispatcher(ctx.db, sender, { options: { perChatPerSecond: 1 } }));
    const r = await d.runOnce();
    expect(r).toMatchObject({ enviadas: 0, fallidas: 6, reintentos: 0 });
    const { rows } = await ctx.db.query<{ motivo: string; intentos: number }>(
      'SELECT motivo, intentos FROM notifications ORDER BY id',
    );
    expect(rows.map((x) => x.motivo)).toEqual([
      'blocked',
      'chat_not_found',
      'deactivated',
      'blocked',
      'chat_not_found',
      'deactivated',
    ]);
    expect(rows.slice(3).every((x) => x.intentos === 0)).toBe(true);
    expect(standin.calls.filter((c) => c.method === 'sendMessage')).toHaveLength(3);
    const clients = await ctx.db.query<{ telegram_blocked: boolean; telegram_unreachable: string }>(
      'SELECT telegram_blocked, telegram_unreachable FROM clients ORDER BY id',
    );
    expect(clients.rows).toEqual([
      { telegram_blocked: true, telegram_unreachable: 'blocked' },
      { telegram_blocked: false, telegram_unreachable: 'chat_not_found' },
      { telegram_blocked: false, telegram_unreachable: 'deactivated' },
    ]);
  });

  it('retries 5xx with backoff up to the attempt limit, then fails with the last error', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 1);
    await queueManual(ctx.db, ids);
    standin.failNext(100, { kind: 'server_error', status: 503 }, { chatId: chats[0] });
    const clock = createManualClock(T0);
    const d = track(
      testDispatcher(ctx.db, sender, { clock, options: { maxAttempts: 4, random: () => 0.5 } }),
    );
    const due: string[] = [];
    for (let pass = 0; pass < 8; pass++) {
      await d.runOnce();
      const { rows } = await ctx.db.query<{ estado: string; proximo_intento: Date }>(
        'SELECT estado, proximo_intento FROM notifications',
      );
      if (rows[0]!.estado !== 'pendiente') break;
      due.push(rows[0]!.proximo_intento.toISOString());
      clock.set(rows[0]!.proximo_intento);
    }
    // 1 min, 4 min, 16 min after each failed attempt (jitter at its midpoint).
    expect(due).toEqual(['2026-03-10T15:01:00.000Z', '2026-03-10T15:05:00.000Z', '2026-03-10T15:21:00.000Z']);
    const { rows } = await ctx.db.query<{
      estado: string;
      motivo: string;
      intentos: number;
      ultimo_error: string;
    }>('SELECT estado, motivo, intentos, ultimo_error FROM notifications');
    expect(rows[0]).toEqual({
      estado: 'fallido',
      motivo: 'reintentos_agotados',
      intentos: 4,
      ultimo_error: '503: Service Unavailable',
    });
  });

  it('retries stop 24 hours after the first attempt', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 1);
    await queueManual(ctx.db, ids, { urgente: true }); // urgent: not held by the send window
    standin.failNext(100, { kind: 'server_error' }, { chatId: chats[0] });
    const clock = createManualClock(T0);
    const d = track(
      testDispatcher(ctx.db, sender, {
        clock,
        options: { random: () => 0.5, backoff: { baseMs: 5 * 3600_000, factor: 2, maxMs: 48 * 3600_000 } },
      }),
    );
    for (let pass = 0; pass < 6; pass++) {
      await d.runOnce();
      const { rows } = await ctx.db.query<{ proximo_intento: Date }>(
        'SELECT proximo_intento FROM notifications',
      );
      clock.set(rows[0]!.proximo_intento);
    }
    const { rows } = await ctx.db.query<{ estado: string; intentos: number }>(
      'SELECT estado, intentos FROM notifications',
    );
    // Attempts at 0 h, 5 h, 15 h; the next (35 h) would pass 24 h: failed after 3.
    expect(rows[0]).toEqual({ estado: 'fallido', intentos: 3 });
  });

  it('401 stops all sending and alerts; the rows stay in the queue, uncounted', async () => {
    const { ids } = await linkedClients(ctx.db, 5);
    await queueManual(ctx.db, ids);
    standin.failNext(1, { kind: 'unauthorized' }, { method: 'sendMessage' });
    const events: string[] = [];
    const d = track(testDispatcher(ctx.db, sender, { options: { concurrency: 1, tokenRecheckMs: 100 } }));
    d.on((e) => events.push(e.type));
    const r = await d.runOnce();
    expect(r.enviadas).toBe(0);
    expect(d.state).toBe('token_invalido');
    expect(events).toContain('unauthorized');
    expect(await countByState(ctx.db)).toEqual({ pendiente: 5 });
    const { rows } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE intentos = 0 AND locked_by IS NULL',
    );
    expect(rows[0]!.n).toBe(5);
    // The continuous sender checks the token again and resumes once Telegram accepts it.
    const abort = new AbortController();
    const running = d.run(abort.signal);
    await standin.waitForSent(() => standin.sent.length === 5, 5000);
    expect(events).toContain('resumed');
    abort.abort();
    await running;
  });

  it('never sends what is no longer true: payments before and right before the send', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 3, { pago: '2026-02-13' });
    const s = settingsFor();
    await generatePaymentNotices(ctx.db, s, { today: '2026-03-10', now: new Date(T0) });
    // Paid through the API's path: pending notices cancelled in the payment's transaction.
    await ctx.db.transaction(async (tx) => {
      await tx.query(`UPDATE clients SET fecha_ultimo_pago = '2026-03-10' WHERE id = $1`, [ids[0]]);
      await applyPaymentToOutbox(
        tx,
        { clientId: ids[0]!, paymentId: 1, monto: 25, fecha: '2026-03-10' },
        s,
        new Date(T0),
      );
    });
    // Paid behind the engine's back (a CSV import): the row is claimed, then the date moves.
    const claimed = await claimDue(ctx.db, {
      worker: 'w1',
      now: new Date(T0),
      leaseMs: 60_000,
      limit: 10,
      inWindow: true,
      perClient: 2,
    });
    expect(claimed.map((r) => r.tipo).sort()).toEqual([
      'pago_recibido',
      'recordatorio_pago',
      'recordatorio_pago',
    ]);
    await ctx.db.query(`UPDATE clients SET fecha_ultimo_pago = '2026-03-10' WHERE id = $1`, [ids[1]]);
    const row = claimed.find((r) => r.client_id === ids[1])!;
    const attempt = await beginAttempt(ctx.db, {
      id: row.id,
      worker: 'w1',
      now: new Date(T0),
      leaseMs: 60_000,
      today: '2026-03-10',
      settings: s,
      countAttempt: true,
    });
    expect(attempt).toMatchObject({ estado: 'cancelado', motivo: 'pago_recibido' });
    await ctx.db.query('UPDATE notifications SET locked_by = NULL, locked_until = NULL WHERE estado = $1', [
      'pendiente',
    ]);
    const d = track(testDispatcher(ctx.db, sender));
    const r = await d.runOnce();
    expect(r.enviadas).toBe(2); // the third client's reminder and the first one's confirmation
    expect(standin.sentTo(chats[0]!).map((m) => m.text)).toEqual([
      expect.stringContaining('recibimos su pago'),
    ]);
    expect(standin.sentTo(chats[1]!)).toEqual([]);
    expect(standin.sentTo(chats[2]!)).toHaveLength(1);
  });

  it('a reminder that became overdue before it could go out is not sent', async () => {
    const { chats } = await linkedClients(ctx.db, 1, { pago: '2026-02-13' });
    await generatePaymentNotices(ctx.db, settingsFor(), { today: '2026-03-10', now: new Date(T0) });
    const clock = createManualClock('2026-03-15T15:00:00Z');
    const d = track(testDispatcher(ctx.db, sender, { clock }));
    expect(await d.runOnce()).toMatchObject({ canceladas: 1, enviadas: 0 });
    expect(standin.sentTo(chats[0]!)).toEqual([]);
    const { rows } = await ctx.db.query<{ motivo: string }>('SELECT motivo FROM notifications');
    expect(rows[0]!.motivo).toBe('vencido_antes_de_enviar');
  });

  it('rows claimed by a dead worker return after the lease; its late attempt is refused', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 3);
    await queueManual(ctx.db, ids);
    const clock = createManualClock(T0);
    const dead = await claimDue(ctx.db, {
      worker: 'dead',
      now: clock.now(),
      leaseMs: 30_000,
      limit: 10,
      inWindow: true,
      perClient: 2,
    });
    expect(dead).toHaveLength(3);
    const d = track(testDispatcher(ctx.db, sender, { clock }));
    expect((await d.runOnce()).reclamadas).toBe(0);
    clock.advance(30_001);
    expect((await d.runOnce()).enviadas).toBe(3);
    // The dead worker wakes up: its rows are not its own any more.
    const late = await beginAttempt(ctx.db, {
      id: dead[0]!.id,
      worker: 'dead',
      now: clock.now(),
      leaseMs: 30_000,
      today: '2026-03-10',
      settings: settingsFor(),
      countAttempt: true,
    });
    expect(late).toBeUndefined();
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
  });

  it('paces one chat to its per-chat rate and the whole sender to its global rate', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 10);
    await queueManual(ctx.db, ids);
    await queueManual(ctx.db, [ids[0]!, ids[0]!]);
    standin.setLimits({ globalPerSecond: 25, perChatPerSecond: 4, perChatBurst: 1 });
    const d = track(testDispatcher(ctx.db, sender, { options: { ratePerSecond: 20, perChatPerSecond: 3 } }));
    const started = Date.now();
    const r = await d.runOnce();
    expect(r).toMatchObject({ enviadas: 12, limitadas: 0 });
    expect(standin.stats.tooMany).toBe(0);
    const toFirst = standin.calls.filter(
      (c) => c.method === 'sendMessage' && c.params['chat_id'] === chats[0],
    );
    for (let i = 1; i < toFirst.length; i++) {
      // 333 ms apart by their slots; a send that waited a moment for its global slot lands later
      // than its slot, so arrivals jitter. What Telegram enforces here is 4/s (250 ms): never closer.
      expect(toFirst[i]!.at - toFirst[i - 1]!.at).toBeGreaterThanOrEqual(250);
    }
    // 12 messages at 20/s take at least 11 intervals of 50 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('stops gracefully: finishes what is in flight, releases the rest, nothing stays claimed', async () => {
    const { ids, chats } = await linkedClients(ctx.db, 30);
    await queueManual(ctx.db, ids);
    standin.setLatency(100);
    const d = track(testDispatcher(ctx.db, sender, { options: { ratePerSecond: 50, concurrency: 4 } }));
    const running = d.run();
    await standin.waitForSent(() => standin.sent.length >= 5, 5000);
    await d.stop({ drainMs: 5000 });
    await running;
    const states = await countByState(ctx.db);
    expect(states['enviado']! + states['pendiente']!).toBe(30);
    expect(states['enviado']).toBe(standin.sent.length);
    const { rows } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE locked_by IS NOT NULL',
    );
    expect(rows[0]!.n).toBe(0);
    // Another dispatcher finishes the job; nobody got a message twice.
    const next = track(testDispatcher(ctx.db, sender, { options: { concurrency: 4 } }));
    standin.setLatency(0);
    await next.runOnce();
    for (const chat of chats) expect(standin.sentTo(chat)).toHaveLength(1);
  });

  it('a send still running when the drain time is over is cut and its row released', async () => {
    const { ids } = await linkedClients(ctx.db, 2);
    await queueManual(ctx.db, ids);
    standin.setLatency(10_000);
    const d = track(testDispatcher(ctx.db, sender, { options: { concurrency: 2 } }));
    const running = d.run();
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await d.stop({ drainMs: 1500 });
    await running;
    expect(Date.now() - started).toBeLessThan(3000);
    const { rows } = await ctx.db.query<{ estado: string; locked_by: string | null }>(
      'SELECT estado, locked_by FROM notifications',
    );
    expect(rows).toEqual([
      { estado: 'pendiente', locked_by: null },
      { estado: 'pendiente', locked_by: null },
    ]);
  });

  it('a cancelled campaign stops sending while it runs', async () => {
    await linkedClients(ctx.db, 60);
    const s = settingsFor();
    const campaign = await ctx.db.transaction((tx) =>
      createCampaign(tx, { tipo: 'oferta', mensaje: 'Promo {nombre}', filtros: {}, urgente: false }, s, {
        today: '2026-03-10',
        now: new Date(T0),
      }),
    );
    expect(campaign.total).toBe(60);
    standin.setLatency(30);
    const d = track(testDispatcher(ctx.db, sender, { options: { ratePerSecond: 40, concurrency: 2 } }));
    const running = d.run();
    await standin.waitForSent(() => standin.sent.length >= 10, 5000);
    const cancelled = await ctx.db.transaction((tx) => cancelCampaign(tx, campaign.id, new Date(T0)));
    expect(cancelled.estado).toBe('cancelada');
    const sentAtCancel = standin.sent.length;
    await new Promise((r) => setTimeout(r, 400));
    await d.stop();
    await running;
    const states = await countByState(ctx.db);
    expect(states['enviado']! + states['cancelado']!).toBe(60);
    expect(states['cancelado']).toBeGreaterThan(30);
    // At most the sends already in flight (and claimed) at the cancel went out after it.
    expect(standin.sent.length - sentAtCancel).toBeLessThanOrEqual(2);
    expect(states['enviado']).toBe(standin.sent.length);
  });
});

describe('dispatcher metrics', () => {
  it('counts sends by type and failures by reason', async () => {
    const m = createEngineMetrics();
    m.sent.inc({ tipo: 'manual' });
    m.failed.inc({ tipo: 'manual', motivo: 'blocked' });
    const text = await m.registry.metrics();
    expect(text).toContain('teltec_notifications_sent_total{tipo="manual"} 1');
    expect(text).toContain('teltec_notifications_failed_total{tipo="manual",motivo="blocked"} 1');
  });
});
