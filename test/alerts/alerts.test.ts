import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  buildDigest,
  clearAlert,
  createAlertMonitor,
  createStaffLinkCode,
  linkStaffChat,
  listAlerts,
  raiseAlert,
} from '../../src/alerts/index.js';
import { createManualClock } from '../../src/clock.js';
import type { Db } from '../../src/db/index.js';
import type { TelegramSender } from '../../src/telegram/send.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { startBotHarness } from '../bot/support.js';
import { nextChatId, seedClients, silent, startTestStandin, T0 } from '../notifications/support.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

const settings = {
  failureRate: 0.2,
  minAttempts: 20,
  stuckMinutes: 30,
  pendingUpdates: 100,
  diskFreeRatio: 0.1,
  digestAt: '07:30',
  sendWindow: { start: '08:00', end: '20:00' },
  timeZone: 'America/Guayaquil',
  dataDir: '/tmp',
};

async function staffMessages(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ texto: string }>('SELECT texto FROM staff_messages ORDER BY id');
  return rows.map((r) => r.texto);
}

describeEachDb('staff alerts (issue 15 §5)', (ctx) => {
  let standin: Standin;
  let sender: TelegramSender;
  beforeAll(async () => {
    ({ standin, sender } = await startTestStandin());
  });
  afterAll(async () => {
    await standin?.close();
  });
  beforeEach(async () => {
    await ctx.db.exec(
      'TRUNCATE staff_alerts, staff_messages, staff_chats, staff_link_codes, notifications, clients RESTART IDENTITY CASCADE',
    );
  });

  it('says an incident once, again only when it worsens, and once when it clears', async () => {
    const clock = createManualClock(T0);
    const a = { clave: 'respaldo_fallido', titulo: 'El respaldo diario falló', detalle: 'disco lleno' };
    expect(await raiseAlert(ctx.db, a, clock.now())).toBe('nueva');
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      expect(await raiseAlert(ctx.db, a, clock.now())).toBe('sin_cambio');
    }
    expect(await staffMessages(ctx.db)).toEqual(['⚠️ ALERTA: El respaldo diario falló\ndisco lleno']);
    expect(await raiseAlert(ctx.db, { ...a, nivel: 2 }, clock.now())).toBe('empeoro');
    expect(await raiseAlert(ctx.db, { ...a, nivel: 2 }, clock.now())).toBe('sin_cambio');
    expect(await raiseAlert(ctx.db, { ...a, nivel: 1 }, clock.now())).toBe('sin_cambio'); // better is not news
    expect(await clearAlert(ctx.db, 'respaldo_fallido', clock.now())).toBe(true);
    expect(await clearAlert(ctx.db, 'respaldo_fallido', clock.now())).toBe(false);
    expect(await staffMessages(ctx.db)).toHaveLength(3);
    expect((await staffMessages(ctx.db))[2]).toBe('✅ Resuelto: El respaldo diario falló');
    // A new incident of the same kind later.
    clock.advance(3600_000);
    expect(await raiseAlert(ctx.db, a, clock.now())).toBe('nueva');
    const list = await listAlerts(ctx.db);
    expect(list.map((r) => [r.clave, r.estado, r.avisos])).toEqual([
      ['respaldo_fallido', 'activa', 1],
      ['respaldo_fallido', 'resuelta', 2],
    ]);
  });

  it('a stuck queue, the failure rate and the disk: raised and delivered once per incident, cleared once', async () => {
    const clock = createManualClock(T0); // 10:00 in Guayaquil, inside the 08:00-20:00 window
    const staffChat = nextChatId();
    const { codigo } = await createStaffLinkCode(ctx.db, clock.now());
    expect(await linkStaffChat(ctx.db, { codigo, chatId: staffChat, nombre: 'Técnico' }, clock.now())).toBe(
      true,
    );
    expect(await linkStaffChat(ctx.db, { codigo, chatId: nextChatId(), nombre: 'Otro' }, clock.now())).toBe(
      false,
    );

    let free = 0.5;
    const monitor = createAlertMonitor({
      db: ctx.db,
      clock,
      logger: silent,
      settings,
      sender,
      probes: { disk: async () => ({ free: free * 1000, total: 1000 }) },
    });
    const [client] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    // Due since 09:00 local: 60 min waiting inside the window (> 30, not yet > 4 × 30).
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento) VALUES ($1, 'manual', 'x', $2) RETURNING id`,
      [client, new Date('2026-03-10T14:00:00Z')],
    );
    for (let i = 0; i < 20; i++) monitor.observe(i % 2 ? 'failed' : 'sent');
    free = 0.05;

    const first = await monitor.runOnce();
    expect(first.activas).toEqual(['cola_atascada', 'disco_casi_lleno', 'tasa_de_fallos']);
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      await monitor.runOnce();
    }
    const texts = () => standin.sentTo(staffChat).map((m) => m.text);
    expect(texts()).toHaveLength(3);
    expect(texts().join('\n')).toContain('La cola de notificaciones no avanza');
    expect(texts().join('\n')).toContain('50 % de los envíos fallan');

    free = 0.01; // worse: said again
    await monitor.runOnce();
    expect(texts()).toHaveLength(4);
    expect(texts()[3]).toContain('EMPEORÓ');

    // Everything clears: the notice goes, 15 minutes pass without failures, space is freed.
    await ctx.db.query(`UPDATE notifications SET estado = 'enviado', sent_at = $2 WHERE id = $1`, [
      rows[0]!.id,
      clock.now(),
    ]);
    clock.advance(16 * 60_000);
    free = 0.5;
    const cleared = await monitor.runOnce();
    expect(cleared.activas).toEqual([]);
    await monitor.runOnce();
    expect(texts()).toHaveLength(7);
    expect(
      texts()
        .slice(4)
        .every((t) => t.startsWith('✅ Resuelto')),
    ).toBe(true);
  });

  it('outside the send window a waiting queue is not stuck', async () => {
    const clock = createManualClock('2026-03-10T03:00:00Z'); // 22:00 local
    const monitor = createAlertMonitor({
      db: ctx.db,
      clock,
      logger: silent,
      settings,
      probes: { disk: async () => ({ free: 1, total: 1 }) },
    });
    const [client] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento) VALUES ($1, 'manual', 'x', $2)`,
      [client, new Date('2026-03-09T14:00:00Z')],
    );
    expect((await monitor.runOnce()).activas).toEqual([]);
  });

  it('a refused token is an alert while the dispatcher says so', async () => {
    const clock = createManualClock(T0);
    let invalid = true;
    const monitor = createAlertMonitor({
      db: ctx.db,
      clock,
      logger: silent,
      settings,
      probes: { tokenInvalid: () => invalid, disk: async () => ({ free: 1, total: 1 }) },
    });
    expect((await monitor.runOnce()).activas).toEqual(['token_invalido']);
    await monitor.runOnce();
    invalid = false;
    expect((await monitor.runOnce()).activas).toEqual([]);
    expect((await staffMessages(ctx.db)).map((t) => t.slice(0, 12))).toEqual([
      '⚠️ ALERTA: T',
      '✅ Resuelto: ',
    ]);
  });

  it('the cédula lookup budget: an alert while lookups are refused, worse when many, cleared after', async () => {
    const clock = createManualClock(T0);
    let rechazadas = 3;
    const monitor = createAlertMonitor({
      db: ctx.db,
      clock,
      logger: silent,
      settings,
      probes: {
        cedulaLookups: async () => ({ rechazadas, presupuesto: 60 }),
        disk: async () => ({ free: 1, total: 1 }),
      },
    });
    expect((await monitor.runOnce()).activas).toEqual(['presupuesto_cedulas']);
    rechazadas = 10;
    await monitor.runOnce();
    rechazadas = 200;
    await monitor.runOnce();
    rechazadas = 0;
    expect((await monitor.runOnce()).activas).toEqual([]);
    expect((await staffMessages(ctx.db)).map((t) => t.split(':')[0])).toEqual([
      '⚠️ ALERTA',
      '⚠️ EMPEORÓ',
      '✅ Resuelto',
    ]);
  });

  it('the daily digest counts yesterday (local day) and who nobody reaches', async () => {
    await seedClients(ctx.db, [
      { chatId: nextChatId() },
      { chatId: null },
      { chatId: nextChatId(), blocked: true },
    ]);
    const [c] = await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    // Yesterday 10:00 local (sent) and today (not counted).
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, estado, sent_at, updated_at)
       VALUES ($1, 'manual', 'a', 'enviado', '2026-03-09T15:00:00Z', '2026-03-09T15:00:00Z'),
              ($1, 'manual', 'b', 'enviado', '2026-03-10T13:00:00Z', '2026-03-10T13:00:00Z'),
              ($1, 'manual', 'c', 'fallido', NULL, '2026-03-09T20:00:00Z')`,
      [c],
    );
    const text = await buildDigest(ctx.db, new Date('2026-03-10T12:30:00Z'), 'America/Guayaquil');
    expect(text).toContain('Resumen del 09/03/2026');
    expect(text).toContain('Telegram: 1 enviados, 1 fallidos.');
    expect(text).toContain('no llega ningún aviso (sin Telegram o bloqueado): 2.');
  });

  it('Ajustes: a one-time code, /staff CODE in the bot, GET /api/alertas lists alerts and staff chats', async () => {
    const { app } = await buildTestApp(ctx.db);
    const code = await app.inject({ method: 'POST', url: '/api/alertas/codigo', headers: auth });
    expect(code.statusCode).toBe(201);
    const { codigo } = code.json();
    expect(codigo).toMatch(/^[A-Z2-9]{8}$/);

    const h = await startBotHarness(ctx.db, { mode: 'polling' });
    try {
      const staff = h.user({ chatId: nextChatId(), firstName: 'Luis' });
      expect(await h.say(staff, '/staff NOVALE23')).toContain('no es válido');
      expect(await h.say(staff, `/staff ${codigo}`)).toContain('recibirá las alertas');
      expect(await h.say(h.user({ chatId: nextChatId() }), `/staff ${codigo}`)).toContain('no es válido');
    } finally {
      await h.close();
    }
    await raiseAlert(
      ctx.db,
      { clave: 'presupuesto_cedulas', titulo: 'Demasiadas consultas de cédula' },
      new Date(T0),
    );
    const list = await app.inject({ method: 'GET', url: '/api/alertas', headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({
      activas: 1,
      alertas: [{ clave: 'presupuesto_cedulas', estado: 'activa' }],
      chats_personal: [{ nombre: 'Luis' }],
      correo: 'no_disponible',
    });
    await app.close();
  });
});
