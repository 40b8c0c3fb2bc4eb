import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

describeEachDb('Payments: no future dates, unusual amounts confirmed, voiding (issue 9)', (ctx) => {
  let app: App;
  let clientId: number;
  beforeAll(async () => {
    // 2026-03-10 10:00 in Guayaquil; payment confirmations on (a linked client gets one).
    ({ app } = await buildTestApp(ctx.db, { now: '2026-03-10T15:00:00Z' }));
    const plan = await ctx.db.query<{ id: number }>(
      `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 20', 20, 20) RETURNING id`,
    );
    // Paid 2026-01-05 with a 30-day cycle: due 2026-02-04, two cycles behind on 2026-03-10.
    const c = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, plan_id, fecha_ultimo_pago, chat_id, link_verified)
       VALUES ($1, 'Pago Prueba', $2, '2026-01-05', 424242, true) RETURNING id`,
      [cedulaFor(77), plan.rows[0]!.id],
    );
    clientId = c.rows[0]!.id;
  });
  afterAll(async () => {
    await app.close();
  });

  const pay = (payload: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/clientes/${clientId}/pagos`, headers: auth, payload });
  const lastPayment = async () =>
    (
      await ctx.db.query<{ f: string | null }>('SELECT fecha_ultimo_pago AS f FROM clients WHERE id = $1', [
        clientId,
      ])
    ).rows[0]!.f;

  it('refuses a payment dated in the future, changing nothing', async () => {
    const res = await pay({ monto: 20, fecha: '2030-01-01' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('VALIDACION');
    expect(res.json().error.mensaje).toContain('2030-01-01');
    const tomorrow = await pay({ monto: 20, fecha: '2026-03-11' });
    expect(tomorrow.statusCode).toBe(422);
    expect(await lastPayment()).toBe('2026-01-05');
  });

  it('refuses more than 3 × the amount owed unless confirmed', async () => {
    const owed = (
      await ctx.db.query<{ m: number }>(
        `SELECT monto_adeudado AS m FROM teltec_client_billing('2026-03-10', 30, 3) WHERE client_id = $1`,
        [clientId],
      )
    ).rows[0]!.m;
    expect(owed).toBeGreaterThanOrEqual(40);
    const res = await pay({ monto: 99_999, fecha: '2026-03-10' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('MONTO_INUSUAL');
    expect(res.json().error.detalles).toEqual({ monto: 99_999, monto_adeudado: owed });
    expect(await lastPayment()).toBe('2026-01-05');
    // Three times what is owed is still usual.
    const ok = await pay({ monto: owed * 3, fecha: '2026-03-09', referencia: 'adelanto' });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(await lastPayment()).toBe('2026-03-09');
  });

  it('a confirmed unusual amount is recorded', async () => {
    const res = await pay({ monto: 99_999, fecha: '2026-03-10', confirmar_monto: true });
    expect(res.statusCode, res.body).toBe(201);
    expect(await lastPayment()).toBe('2026-03-10');
  });

  it('voiding a payment is audited, recomputes the due date and never sends its confirmation', async () => {
    const pagos = (await app.inject({ url: `/api/clientes/${clientId}/pagos`, headers: auth })).json().pagos;
    const big = pagos.find((p: { monto: number }) => p.monto === 99_999);
    const confirmations = () =>
      ctx.db.query<{ estado: string; dedupe_key: string; motivo: string | null }>(
        `SELECT estado, dedupe_key, motivo FROM notifications WHERE client_id = $1 AND tipo = 'pago_recibido' ORDER BY id`,
        [clientId],
      );
    const before = (await confirmations()).rows.find((n) => n.dedupe_key === `pago_recibido:${big.id}`);
    const url = `/api/clientes/${clientId}/pagos/${big.id}/anular`;
    const noReason = await app.inject({ method: 'POST', url, headers: auth, payload: {} });
    expect(noReason.statusCode).toBe(422);
    const res = await app.inject({
      method: 'POST',
      url,
      headers: auth,
      payload: { motivo: 'Monto mal digitado' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().pago.anulado).toMatchObject({ por: 'admin', motivo: 'Monto mal digitado' });
    // Back to the payment before it.
    expect(res.json().cliente.fecha_ultimo_pago).toBe('2026-03-09');
    expect(await lastPayment()).toBe('2026-03-09');
    const after = (await confirmations()).rows.filter((n) => n.dedupe_key === `pago_recibido:${big.id}`);
    // The confirmation was queued (the client is linked and verified) and is now closed unsent.
    expect(before?.estado).toBe('pendiente');
    expect(after).toEqual([{ estado: 'cancelado', dedupe_key: before!.dedupe_key, motivo: 'pago_anulado' }]);
    const audit = await ctx.db.query<{ detalles: { pago_id: number; motivo: string } }>(
      `SELECT detalles FROM audit_log WHERE accion = 'pago.anular'`,
    );
    expect(audit.rows[0]!.detalles).toMatchObject({ pago_id: big.id, motivo: 'Monto mal digitado' });
    // Twice: refused, nothing queued again.
    const again = await app.inject({ method: 'POST', url, headers: auth, payload: { motivo: 'otra vez' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('PAGO_YA_ANULADO');
    expect(
      (await confirmations()).rows.filter((n) => n.dedupe_key === `pago_recibido:${big.id}`),
    ).toHaveLength(after.length);
  });

  it('voiding the only payment restores the date the client had before it', async () => {
    const pagos = (await app.inject({ url: `/api/clientes/${clientId}/pagos`, headers: auth })).json().pagos;
    const open = pagos.find((p: { anulado: unknown }) => p.anulado === null);
    const res = await app.inject({
      method: 'POST',
      url: `/api/clientes/${clientId}/pagos/${open.id}/anular`,
      headers: auth,
      payload: { motivo: 'Cheque sin fondos' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await lastPayment()).toBe('2026-01-05');
    const other = await app.inject({
      method: 'POST',
      url: `/api/clientes/${clientId}/pagos/2147483647/anular`,
      headers: auth,
      payload: { motivo: 'no existe' },
    });
    expect(other.json().error.code).toBe('NO_ENCONTRADO');
  });
});
