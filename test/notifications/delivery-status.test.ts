import { beforeEach, expect, it } from 'vitest';
import { consentHistory, currentConsents, hasConsent, recordConsent } from '../../src/clients/consents.js';
import {
  applyDeliveryStatuses,
  applyParkedStatuses,
  type DeliveryStatus,
  enqueue,
  listEnvios,
  purgeParkedStatuses,
} from '../../src/notifications/outbox.js';
import { describeEachDb } from '../support/db.js';
import { seedClients } from './support.js';

const at = (s: number) => new Date(Date.UTC(2026, 2, 10, 15, 0, s));
let seq = 0;

describeEachDb('Delivery statuses: forward only, idempotent (issue 10 §1)', (ctx) => {
  let clientId: number;

  /** A notice sent on WhatsApp: its row `enviado` and one attempt with the provider id. */
  async function sentNotice(wamid: string): Promise<number> {
    const [id] = await enqueue(
      ctx.db,
      [{ client_id: clientId, tipo: 'manual', mensaje: 'x', dedupe_key: `d${++seq}` }],
      at(0),
    );
    await ctx.db.query(
      `UPDATE notifications SET estado = 'enviado', canal = 'whatsapp', sent_at = $2 WHERE id = $1`,
      [id, at(1)],
    );
    await ctx.db.query(
      `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
       VALUES ($1, 'whatsapp', 'enviado', '593987654321', $2, $3, $3)`,
      [id, wamid, at(1)],
    );
    return id!;
  }
  const state = async (id: number) =>
    (
      await ctx.db.query<{
        estado: string;
        motivo: string | null;
        entregado_at: Date | null;
        leido_at: Date | null;
      }>('SELECT estado, motivo, entregado_at, leido_at FROM notifications WHERE id = $1', [id])
    ).rows[0]!;
  const st = (
    proveedorId: string,
    estado: DeliveryStatus['estado'],
    s: number,
    code?: string,
  ): DeliveryStatus => ({
    canal: 'whatsapp',
    proveedorId,
    estado,
    at: at(s),
    ...(code && { errorCodigo: code, error: `error ${code}` }),
  });

  beforeEach(async () => {
    clientId = (await seedClients(ctx.db, [{ nombre: 'Ana' }]))[0]!;
  });

  it('delivered then read: the attempt and the notice move forward with both times', async () => {
    const id = await sentNotice('wamid.A');
    const r1 = await applyDeliveryStatuses(ctx.db, [st('wamid.A', 'entregado', 5)]);
    expect(r1).toEqual({ applied: 1, unknown: [], failed: [] });
    expect(await state(id)).toMatchObject({ estado: 'entregado', entregado_at: at(5), leido_at: null });
    await applyDeliveryStatuses(ctx.db, [st('wamid.A', 'leido', 9)]);
    expect(await state(id)).toMatchObject({ estado: 'leido', entregado_at: at(5), leido_at: at(9) });
    const envios = (await listEnvios(ctx.db, [id])).get(id)!;
    expect(envios).toHaveLength(1);
    expect(envios[0]).toMatchObject({
      canal: 'whatsapp',
      estado: 'leido',
      proveedor_id: 'wamid.A',
      leido_at: at(9),
    });
  });

  it('out of order (read, then sent, then delivered) ends read and never goes back', async () => {
    const id = await sentNotice('wamid.B');
    await applyDeliveryStatuses(ctx.db, [st('wamid.B', 'leido', 9)]);
    // read implies delivered: the skipped state gets the read time
    expect(await state(id)).toMatchObject({ estado: 'leido', entregado_at: at(9), leido_at: at(9) });
    const late = await applyDeliveryStatuses(ctx.db, [
      st('wamid.B', 'enviado', 2),
      st('wamid.B', 'entregado', 5),
    ]);
    expect(late.applied).toBe(0);
    expect(await state(id)).toMatchObject({ estado: 'leido', leido_at: at(9) });
    // A failure after delivery is ignored.
    const f = await applyDeliveryStatuses(ctx.db, [st('wamid.B', 'fallido', 12, '131026')]);
    expect(f).toEqual({ applied: 0, unknown: [], failed: [] });
    expect((await state(id)).estado).toBe('leido');
  });

  it('one batch with every state of one message keeps the furthest and the earliest times', async () => {
    const id = await sentNotice('wamid.C');
    await applyDeliveryStatuses(ctx.db, [
      st('wamid.C', 'leido', 20),
      st('wamid.C', 'entregado', 7),
      st('wamid.C', 'enviado', 3),
      st('wamid.C', 'entregado', 8),
    ]);
    expect(await state(id)).toMatchObject({ estado: 'leido', entregado_at: at(7), leido_at: at(20) });
  });

  it('replays change nothing', async () => {
    const id = await sentNotice('wamid.D');
    const batch = [st('wamid.D', 'entregado', 5), st('wamid.D', 'leido', 9)];
    expect((await applyDeliveryStatuses(ctx.db, batch)).applied).toBe(1);
    const before = await ctx.db.query('SELECT * FROM notification_envios WHERE proveedor_id = $1', [
      'wamid.D',
    ]);
    for (let i = 0; i < 3; i++)
      expect(await applyDeliveryStatuses(ctx.db, batch)).toEqual({ applied: 0, unknown: [], failed: [] });
    const after = await ctx.db.query('SELECT * FROM notification_envios WHERE proveedor_id = $1', [
      'wamid.D',
    ]);
    expect(after.rows).toEqual(before.rows);
    expect((await state(id)).estado).toBe('leido');
  });

  it('a failure is reported once, with its code, for the caller to classify', async () => {
    const id = await sentNotice('wamid.E');
    const r = await applyDeliveryStatuses(ctx.db, [st('wamid.E', 'fallido', 4, '131026')]);
    expect(r.failed).toEqual([
      {
        envioId: expect.any(Number),
        notificationId: id,
        clientId,
        canal: 'whatsapp',
        proveedorId: 'wamid.E',
        errorCodigo: '131026',
        error: 'error 131026',
      },
    ]);
    // The notice waits for the caller's verdict; the replay reports nothing.
    expect((await state(id)).estado).toBe('enviado');
    expect((await applyDeliveryStatuses(ctx.db, [st('wamid.E', 'fallido', 4, '131026')])).failed).toEqual([]);
    const envio = (await listEnvios(ctx.db, [id])).get(id)![0]!;
    expect(envio).toMatchObject({ estado: 'fallido', error_codigo: '131026', fallido_at: at(4) });
  });

  it('unknown messages are returned and parked until their attempt is recorded', async () => {
    const r = await applyDeliveryStatuses(
      ctx.db,
      [st('wamid.early', 'entregado', 5), st('nobody', 'leido', 6)],
      {
        now: at(6),
      },
    );
    expect(r.unknown.map((u) => u.proveedorId)).toEqual(['wamid.early', 'nobody']);
    expect(r.applied).toBe(0);
    const id = await sentNotice('wamid.early');
    const replay = await applyParkedStatuses(ctx.db);
    expect(replay.applied).toBe(1);
    expect(await state(id)).toMatchObject({ estado: 'entregado', entregado_at: at(5) });
    // Applied ones leave the parking; the never-known one goes with housekeeping.
    expect((await applyParkedStatuses(ctx.db)).applied).toBe(0);
    expect(await purgeParkedStatuses(ctx.db, at(7))).toBeGreaterThanOrEqual(1);
    const { rows } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM delivery_status_parked',
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('a failed notice that turns out delivered becomes entregado', async () => {
    const id = await sentNotice('wamid.F');
    await ctx.db.query(`UPDATE notifications SET estado = 'fallido', motivo = 'rechazado' WHERE id = $1`, [
      id,
    ]);
    await applyDeliveryStatuses(ctx.db, [st('wamid.F', 'entregado', 5)]);
    expect(await state(id)).toMatchObject({ estado: 'entregado', motivo: null });
  });
});

describeEachDb('Consent ledger (issue 10 §7)', (ctx) => {
  it('the current consent is the latest row; rows are never edited', async () => {
    const [c] = await seedClients(ctx.db, [{ nombre: 'Luis' }]);
    const id = c!;
    expect(await hasConsent(ctx.db, id, 'whatsapp', 'servicio')).toBe(false);
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
      evidencia: 'contrato 123',
      registradoPor: 'admin',
      at: at(0),
    });
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'whatsapp',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'whatsapp',
      at: at(1),
    });
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'whatsapp',
      categoria: 'marketing',
      otorgado: false,
      fuente: 'proveedor',
      evidencia: '131050',
      registradoPor: 'sistema',
      at: at(2),
    });
    expect(await hasConsent(ctx.db, id, 'whatsapp', 'servicio')).toBe(true);
    expect(await hasConsent(ctx.db, id, 'whatsapp', 'marketing')).toBe(false);
    const current = await currentConsents(ctx.db, id);
    expect(current.map((k) => [k.canal, k.categoria, k.otorgado, k.fuente])).toEqual([
      ['whatsapp', 'marketing', false, 'proveedor'],
      ['whatsapp', 'servicio', true, 'contrato'],
    ]);
    expect((await consentHistory(ctx.db, id)).map((k) => k.otorgado)).toEqual([false, true, true]);
  });

  it('an unknown source or category is refused by the table', async () => {
    const [c] = await seedClients(ctx.db, [{ nombre: 'Eva' }]);
    await expect(
      recordConsent(ctx.db, {
        clientId: c!,
        canal: 'whatsapp',
        categoria: 'servicio',
        otorgado: true,
        fuente: 'rumor' as 'contrato',
        at: at(0),
      }),
    ).rejects.toThrow();
  });
});
