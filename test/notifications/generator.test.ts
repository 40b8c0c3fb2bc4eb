import { beforeEach, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import {
  applyPaymentToOutbox,
  type EngineSettings,
  generatePaymentNotices,
  listUnreachableDue,
} from '../../src/notifications/index.js';
import { describeEachDb } from '../support/db.js';
import { type ClientSpec, nextChatId, seedClients, settingsFor } from './support.js';

/** Runs generation as of a local date (at 08:00 local, 13:00 UTC). */
function generateOn(db: Db, s: EngineSettings, today: string) {
  return generatePaymentNotices(db, s, { today, now: new Date(`${today}T13:00:00Z`) });
}

async function rowsOf(db: Db, clientId: number) {
  const { rows } = await db.query<{
    tipo: string;
    ciclo: string;
    paso: number;
    estado: string;
    motivo: string | null;
  }>('SELECT tipo, ciclo, paso, estado, motivo FROM notifications WHERE client_id = $1 ORDER BY id', [
    clientId,
  ]);
  return rows;
}

const linked = (spec: ClientSpec): ClientSpec => ({ chatId: nextChatId(), ...spec });

describeEachDb('payment notice generation', (ctx) => {
  const s = settingsFor();

  beforeEach(async () => {
    await ctx.db.exec('TRUNCATE notifications, clients RESTART IDENTITY CASCADE');
  });

  it('reminds 5 days before a due date 30 days after the last payment, once per cycle', async () => {
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-02-13' })]); // due 2026-03-15
    expect((await generateOn(ctx.db, s, '2026-03-09')).total_creadas).toBe(0);
    const first = await generateOn(ctx.db, s, '2026-03-10');
    expect(first.por_tipo.recordatorio_pago).toMatchObject({ creadas: 1, ya_notificadas: 0 });
    for (let i = 0; i < 10; i++) {
      const again = await generateOn(ctx.db, s, '2026-03-10');
      expect(again.total_creadas).toBe(0);
      expect(again.por_tipo.recordatorio_pago.ya_notificadas).toBe(1);
    }
    expect((await generateOn(ctx.db, s, '2026-03-14')).total_creadas).toBe(0);
    expect(await rowsOf(ctx.db, id!)).toEqual([
      { tipo: 'recordatorio_pago', ciclo: '2026-03-15', paso: 0, estado: 'pendiente', motivo: null },
    ]);
  });

  it('overdue notices on the due date, then every 5 days, at most 3 per cycle', async () => {
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-01-30' })]); // due 2026-03-01
    const created: string[] = [];
    for (let d = 1; d <= 31; d++) {
      const day = `2026-03-${String(d).padStart(2, '0')}`;
      const r = await generateOn(ctx.db, s, day);
      if (r.por_tipo.pago_vencido.creadas) created.push(day);
    }
    expect(created).toEqual(['2026-03-01', '2026-03-06', '2026-03-11']);
    const all = await rowsOf(ctx.db, id!);
    // The pre-suspension notice (issue 13 §6) went once, 3 days before the suspension on 03-11.
    expect(all.filter((r) => r.tipo === 'aviso_suspension')).toEqual([
      { tipo: 'aviso_suspension', ciclo: '2026-03-01', paso: null, estado: 'pendiente', motivo: null },
    ]);
    const rows = all.filter((r) => r.tipo === 'pago_vencido');
    expect(rows.map((r) => [r.tipo, r.paso])).toEqual([
      ['pago_vencido', 0],
      ['pago_vencido', 1],
      ['pago_vencido', 2],
    ]);
    // Each new step replaced the one still pending: never a burst of old notices.
    expect(rows.map((r) => r.estado)).toEqual(['cancelado', 'cancelado', 'pendiente']);
    expect(rows[0]!.motivo).toBe('reemplazada');
  });

  it('catches up after downtime with only the latest step that is still true', async () => {
    const [late, reminder, missedReminder] = await seedClients(ctx.db, [
      linked({ pago: '2026-01-30' }), // due 03-01: at 03-12 the current step is 2
      linked({ pago: '2026-02-11' }), // due 03-13: entered the reminder window on 03-08
      linked({ pago: '2026-02-10' }), // due 03-12: the reminder is no longer true on 03-12
    ]);
    const r = await generateOn(ctx.db, s, '2026-03-12');
    expect(await rowsOf(ctx.db, late!)).toMatchObject([{ tipo: 'pago_vencido', paso: 2 }]);
    expect(await rowsOf(ctx.db, reminder!)).toMatchObject([
      { tipo: 'recordatorio_pago', ciclo: '2026-03-13' },
    ]);
    expect(await rowsOf(ctx.db, missedReminder!)).toMatchObject([{ tipo: 'pago_vencido', paso: 0 }]);
    expect(r.total_creadas).toBe(3);
  });

  it('the reminder still pending on the due date gives way to the overdue notice', async () => {
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-02-13' })]);
    await generateOn(ctx.db, s, '2026-03-10');
    const r = await generateOn(ctx.db, s, '2026-03-15');
    expect(r.reemplazadas).toBe(1);
    expect((await rowsOf(ctx.db, id!)).map((x) => [x.tipo, x.estado, x.motivo])).toEqual([
      ['recordatorio_pago', 'cancelado', 'reemplazada'],
      ['pago_vencido', 'pendiente', null],
    ]);
  });

  it('a fixed billing day makes the client due on that day every month', async () => {
    // Paid on Feb 3 for the Feb 5 bill: next due date Mar 5; reminder from Feb 28.
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-02-03', diaPago: 5 })]);
    expect((await generateOn(ctx.db, s, '2026-02-27')).total_creadas).toBe(0);
    expect((await generateOn(ctx.db, s, '2026-02-28')).por_tipo.recordatorio_pago.creadas).toBe(1);
    expect((await generateOn(ctx.db, s, '2026-03-05')).por_tipo.pago_vencido.creadas).toBe(1);
    expect((await rowsOf(ctx.db, id!)).map((r) => r.ciclo)).toEqual(['2026-03-05', '2026-03-05']);
  });

  it('cycle length, reminder offset and overdue repeats are settings', async () => {
    const custom = settingsFor({
      CYCLE_DAYS: '15',
      REMINDER_DAYS_BEFORE: '2',
      OVERDUE_REPEAT_DAYS: '3',
      OVERDUE_MAX_NOTICES: '2',
      SUSPENSION_NOTICE_DAYS_BEFORE: '0', // no pre-suspension notice: this test is about the steps
    });
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-03-01' })]); // due 03-16
    const created: string[] = [];
    for (let d = 10; d <= 31; d++) {
      const day = `2026-03-${String(d).padStart(2, '0')}`;
      if ((await generateOn(ctx.db, custom, day)).total_creadas) created.push(day);
    }
    expect(created).toEqual(['2026-03-14', '2026-03-16', '2026-03-19']);
    expect((await rowsOf(ctx.db, id!)).map((r) => [r.tipo, r.paso])).toEqual([
      ['recordatorio_pago', 0],
      ['pago_vencido', 0],
      ['pago_vencido', 1],
    ]);
  });

  it('suspended and retired clients get no payment notices unless configured; skips are counted', async () => {
    const [suspended, retired] = await seedClients(ctx.db, [
      linked({ pago: '2026-01-30', estado: 'suspendido' }),
      linked({ pago: '2026-01-30', estado: 'retirado' }),
      { pago: '2026-01-30' }, // no Telegram
      linked({ pago: '2026-01-30', blocked: true }),
      linked({ pago: '2026-02-13' }),
    ]);
    const r = await generateOn(ctx.db, s, '2026-03-10');
    expect(r.por_tipo.pago_vencido).toEqual({
      creadas: 0,
      ya_notificadas: 0,
      sin_canal: 2,
      por_preferencia: 0,
      por_estado: 1,
    });
    expect(r.por_tipo.recordatorio_pago.creadas).toBe(1);
    const withSuspended = settingsFor({ NOTIFY_SUSPENDED: '1' });
    const r2 = await generateOn(ctx.db, withSuspended, '2026-03-10');
    expect(r2.por_tipo.pago_vencido.creadas).toBe(1);
    expect(await rowsOf(ctx.db, suspended!)).toHaveLength(1);
    expect(await rowsOf(ctx.db, retired!)).toHaveLength(0);
  });

  it('a payment cancels the pending notices of the paid cycle and queues a confirmation', async () => {
    const [id] = await seedClients(ctx.db, [linked({ pago: '2026-02-13' })]);
    await generateOn(ctx.db, s, '2026-03-10');
    await ctx.db.query(`INSERT INTO payments (client_id, monto, fecha) VALUES ($1, 25, '2026-03-11')`, [id]);
    await ctx.db.query(`UPDATE clients SET fecha_ultimo_pago = '2026-03-11' WHERE id = $1`, [id]);
    const effect = await applyPaymentToOutbox(
      ctx.db,
      { clientId: id!, paymentId: 1, monto: 25, fecha: '2026-03-11' },
      s,
      new Date('2026-03-11T15:00:00Z'),
    );
    expect(effect).toEqual({ canceladas: 1, confirmacion: true, reactivado: false });
    expect((await rowsOf(ctx.db, id!)).map((r) => [r.tipo, r.estado, r.motivo])).toEqual([
      ['recordatorio_pago', 'cancelado', 'pago_recibido'],
      ['pago_recibido', 'pendiente', null],
    ]);
    const off = settingsFor({ PAYMENT_CONFIRMATION: '0' });
    expect(
      await applyPaymentToOutbox(
        ctx.db,
        { clientId: id!, paymentId: 2, monto: 25, fecha: '2026-03-11' },
        off,
        new Date('2026-03-11T15:00:00Z'),
      ),
    ).toEqual({ canceladas: 0, confirmacion: false, reactivado: false });
  });

  it('lists due and overdue clients Telegram cannot reach, for a phone call', async () => {
    const [noChat, blocked] = await seedClients(ctx.db, [
      { pago: '2026-01-30', nombre: 'Sin Telegram' },
      linked({ pago: '2026-02-13', blocked: true, nombre: 'Bloqueado' }),
      linked({ pago: '2026-01-30' }),
      { pago: '2026-03-01' }, // not due yet
    ]);
    const r = await listUnreachableDue(ctx.db, s, { today: '2026-03-10', limit: 50, offset: 0 });
    expect(r.total).toBe(2);
    expect(r.clientes.map((c) => [c.id, c.estado_pago, c.motivo, c.dias])).toEqual([
      [noChat, 'vencido', 'sin_telegram', 9],
      [blocked, 'por_vencer', 'bloqueado', 5],
    ]);
  });
});
