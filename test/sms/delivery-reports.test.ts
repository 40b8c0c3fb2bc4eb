import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { enqueue } from '../../src/notifications/outbox.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../../src/sms/standin.js';
import { buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

describeEachDb('SMS delivery reports (POST /api/sms/estado)', (ctx) => {
  const secret = ['dlr', 'secreto', 'de', 'prueba', String(process.pid)].join('-');
  let app: App;
  let base: string;
  let standin: SmsGatewayStandin;
  let notificationId: number;
  const settled: unknown[] = [];

  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, {
      env: {
        SMS_GATEWAY_URL: 'http://127.0.0.1:9/send?to={to}&message={message}&id={id}',
        SMS_DLR_SECRET: secret,
      },
      deps: { settleAsyncFailures: async (_tx, failures) => void settled.push(...failures) },
    }));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    standin = await startSmsGatewayStandin();
    const c = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono_norm) VALUES ($1, 'Ana', '593991234567') RETURNING id`,
      [cedulaFor(21)],
    );
    const now = new Date('2026-03-10T15:00:00Z');
    [notificationId] = (await enqueue(
      ctx.db,
      [{ client_id: c.rows[0]!.id, tipo: 'manual', mensaje: 'Hola' }],
      now,
    )) as [number];
    await ctx.db.query(
      `UPDATE notifications SET estado = 'enviado', canal = 'sms', sent_at = $2 WHERE id = $1`,
      [notificationId, now],
    );
    await ctx.db.query(
      `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
       VALUES ($1, 'sms', 'enviado', '593991234567', '501', $2, $2),
              ($1, 'sms', 'enviado', '593991234567', '502', $2, $2)`,
      [notificationId, now],
    );
  });
  afterAll(async () => {
    await standin.close();
    await app.close();
  });

  const envio = async (id: string) =>
    (
      await ctx.db.query<{ estado: string }>(
        `SELECT estado FROM notification_envios WHERE canal = 'sms' AND proveedor_id = $1`,
        [id],
      )
    ).rows[0]?.estado;

  it('refuses a wrong or missing secret (401), without touching anything', async () => {
    const bad = await standin.reportDelivery(`${base}/api/sms/estado`, {
      id: '501',
      estado: 'entregado',
      secret: 'otro',
    });
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error.code).toBe('SMS_SECRETO_INVALIDO');
    const none = await standin.reportDelivery(`${base}/api/sms/estado`, { id: '501', estado: 'entregado' });
    expect(none.status).toBe(401);
    expect(await envio('501')).toBe('enviado');
  });

  it('the stand-in reports delivery: the attempt and the notice move to entregado, once', async () => {
    const r = await standin.reportDelivery(`${base}/api/sms/estado`, {
      id: '501',
      estado: 'DELIVRD',
      secret,
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, resultado: 'aplicado' });
    expect(await envio('501')).toBe('entregado');
    const n = await ctx.db.query<{ estado: string }>('SELECT estado FROM notifications WHERE id = $1', [
      notificationId,
    ]);
    expect(n.rows[0]!.estado).toBe('entregado');
    const again = await standin.reportDelivery(`${base}/api/sms/estado`, {
      id: '501',
      estado: 'entregado',
      secret,
    });
    expect(JSON.parse(again.body).resultado).toBe('repetido');
  });

  it('a failed report (secret in the query, JSON body) is classified and handed to the outbox', async () => {
    const res = await fetch(`${base}/api/sms/estado?secreto=${encodeURIComponent(secret)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: '502', status: 'undelivered', error: 'numero apagado' }),
    });
    expect(res.status).toBe(200);
    expect(await envio('502')).toBe('fallido');
    expect(settled).toHaveLength(1);
    expect(settled[0]).toMatchObject({
      proveedorId: '502',
      canal: 'sms',
      verdict: { action: 'fail', reason: 'sms_inalcanzable' },
    });
  });

  it('a report about an unknown id is parked; missing fields are a 422 in Spanish', async () => {
    const r = await standin.reportDelivery(`${base}/api/sms/estado`, {
      id: '999',
      estado: 'entregado',
      secret,
    });
    expect(JSON.parse(r.body).resultado).toBe('pendiente');
    const res = await fetch(`${base}/api/sms/estado`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-sms-secret': secret },
      body: 'estado=entregado',
    });
    expect(res.status).toBe(422);
    expect((await res.json()).error.mensaje).toMatch(/Faltan "id"/);
  });
});
