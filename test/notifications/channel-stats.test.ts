import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { applyDeliveryStatuses, enqueue } from '../../src/notifications/outbox.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { seedClients } from './support.js';

const T = new Date('2026-03-10T15:00:00Z');

describeEachDb('statistics by channel and the attempts of a notice (issue 10 §1, §11)', (ctx) => {
  let app: App;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
    const [c] = await seedClients(ctx.db, [{ nombre: 'Rosa' }]);
    const notices = await enqueue(
      ctx.db,
      ['tg', 'wa1', 'wa2', 'wa3', 'wa4'].map((k) => ({
        client_id: c!,
        tipo: 'manual' as const,
        mensaje: k,
        dedupe_key: k,
      })),
      T,
    );
    ['tg', 'wa1', 'wa2', 'wa3', 'wa4'].forEach((k, i) => {
      ids[k] = notices[i]!;
    });
    // As the dispatcher records them: the notice `enviado` on its channel, one attempt each.
    for (const [k, id] of Object.entries(ids)) {
      const canal = k === 'tg' ? 'telegram' : 'whatsapp';
      await ctx.db.query(
        `UPDATE notifications SET estado = 'enviado', canal = $2, sent_at = $3 WHERE id = $1`,
        [id, canal, T],
      );
      await ctx.db.query(
        `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
         VALUES ($1, $2, 'enviado', 'x', $3, $4, $4)`,
        [id, canal, `p-${k}`, T],
      );
    }
    await applyDeliveryStatuses(ctx.db, [
      { canal: 'whatsapp', proveedorId: 'p-wa1', estado: 'entregado', at: T },
      { canal: 'whatsapp', proveedorId: 'p-wa2', estado: 'leido', at: T },
      { canal: 'whatsapp', proveedorId: 'p-wa2', estado: 'entregado', at: T },
      { canal: 'whatsapp', proveedorId: 'p-wa3', estado: 'enviado', at: T },
    ]);
  });
  afterAll(async () => {
    await app.close();
  });

  it('estadisticas counts by channel; delivery and read rates only where the channel reports them', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/notificaciones/estadisticas/?desde=2026-03-01&hasta=2026-03-31',
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.por_canal.whatsapp).toEqual({
      enviadas: 4,
      entregadas: 2,
      leidas: 1,
      fallidas: 0,
      tasa_envio: 100,
      tasa_entrega: 50,
      tasa_lectura: 25,
    });
    // Telegram reports no delivery: "enviado" is never counted as delivered.
    expect(body.por_canal.telegram).toMatchObject({ enviadas: 1, entregadas: null, tasa_entrega: null });
    // Delivered and read notices still count as sent.
    expect(body.notificaciones.enviadas).toBe(5);
  });

  it('SMS with delivery reports has a delivery rate but no read rate; e-mail reports neither (issue 10 §11)', async () => {
    const [c] = await seedClients(ctx.db, [{ nombre: 'Luis' }]);
    const keys = ['sms1', 'sms2', 'mail1'];
    const notices = await enqueue(
      ctx.db,
      keys.map((k) => ({ client_id: c!, tipo: 'manual' as const, mensaje: k, dedupe_key: k })),
      T,
    );
    for (const [i, k] of keys.entries()) {
      const canal = k.startsWith('sms') ? 'sms' : 'email';
      await ctx.db.query(
        `UPDATE notifications SET estado = 'enviado', canal = $2, sent_at = $3 WHERE id = $1`,
        [notices[i], canal, T],
      );
      await ctx.db.query(
        `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
         VALUES ($1, $2, 'enviado', 'x', $3, $4, $4)`,
        [notices[i], canal, `p-${k}`, T],
      );
    }
    await applyDeliveryStatuses(ctx.db, [
      { canal: 'sms', proveedorId: 'p-sms1', estado: 'entregado', at: T },
    ]);
    const body = (
      await app.inject({
        url: '/api/notificaciones/estadisticas/?desde=2026-03-01&hasta=2026-03-31',
        headers: auth,
      })
    ).json();
    expect(body.por_canal.sms).toEqual({
      enviadas: 2,
      entregadas: 1,
      leidas: null,
      fallidas: 0,
      tasa_envio: 100,
      tasa_entrega: 50,
      tasa_lectura: null,
    });
    expect(body.por_canal.email).toMatchObject({
      enviadas: 1,
      entregadas: null,
      tasa_entrega: null,
      tasa_lectura: null,
    });
    expect(body.por_canal.whatsapp).toMatchObject({ tasa_entrega: 50, tasa_lectura: 25 });
  });

  it('GET /api/notificaciones/{id}/ lists the attempts (envios) with their times', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/notificaciones/${ids['wa2']}/`, headers: auth });
    expect(res.statusCode).toBe(200);
    const n = res.json();
    expect(n).toMatchObject({ estado: 'leido', canal: 'whatsapp', leido_en: T.toISOString() });
    expect(n.envios).toEqual([
      expect.objectContaining({
        canal: 'whatsapp',
        estado: 'leido',
        proveedor_id: 'p-wa2',
        enviado_en: T.toISOString(),
        entregado_en: T.toISOString(),
        leido_en: T.toISOString(),
        error: null,
      }),
    ]);
  });
});
