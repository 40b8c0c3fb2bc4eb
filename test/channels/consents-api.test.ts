import { afterAll, beforeAll, expect, it } from 'vitest';
import type { createManualClock } from '../../src/clock.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 10 §7 / issue 11 §4: the consent ledger through the API; issue 10 §10: reach and the
// month's WhatsApp cost. The clock is fixed at 2026-03-10 10:00 in Guayaquil.
const NOW = '2026-03-10T15:00:00Z';
// These clients have no mobile and no e-mail; every channel counts (no 'canales.activos' row).
const NO_SMS_EMAIL = { canales_activos: ['telegram', 'whatsapp', 'sms', 'email'], sms: 0, email: 0 };

describeEachDb('consents API, reach and WhatsApp cost', (ctx) => {
  let app: App;
  let clock: ReturnType<typeof createManualClock>;
  const ids: number[] = [];

  const newClient = async (n: number, extra: Record<string, unknown> = {}) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(9100 + n), nombre: `Cliente Consentimiento ${n}`, ...extra },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as number;
  };
  const post = async (id: number, payload: object) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/clientes/${id}/consentimientos`,
      headers: auth,
      payload,
    });
    return res;
  };
  const reach = async () => (await app.inject({ url: '/api/notificaciones/alcance/', headers: auth })).json();

  beforeAll(async () => {
    ({ app, clock } = await buildTestApp(ctx.db, {
      now: NOW,
      env: { WHATSAPP_PRECIO_UTILITY: '0.0113', WHATSAPP_PRECIO_MARKETING: '0.074' },
    }));
    for (let n = 1; n <= 4; n++) ids.push(await newClient(n));
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses a grant without evidence, a source only the client can give and unknown values, in Spanish', async () => {
    const id = ids[0]!;
    const noEvidence = await post(id, {
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
    });
    expect(noEvidence.statusCode).toBe(422);
    expect(noEvidence.json().error.code).toBe('VALIDACION');
    expect(noEvidence.json().error.mensaje).toContain('"evidencia"');
    expect(noEvidence.json().error.mensaje).toContain('describa la evidencia');

    const clientSource = await post(id, {
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'whatsapp',
      evidencia: 'dijo que sí',
    });
    expect(clientSource.statusCode).toBe(422);
    expect(clientSource.json().error.mensaje).toContain('"fuente"');

    const badChannel = await post(id, {
      canal: 'fax',
      categoria: 'servicio',
      otorgado: false,
      fuente: 'llamada',
    });
    expect(badChannel.statusCode).toBe(422);
    expect(badChannel.json().error.mensaje).toContain('telegram, whatsapp, sms o email');

    const missing = await post(999_999, {
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: false,
      fuente: 'llamada',
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('NO_ENCONTRADO');
    // Nothing was written by any refusal.
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM consents');
    expect(rows[0]!.n).toBe(0);
  });

  it('records a grant and a withdrawal; GET shows the current state and the whole ledger with who and when', async () => {
    const id = ids[0]!;
    const grant = await post(id, {
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
      evidencia: 'Contrato 2026-0153, cláusula 9',
    });
    expect(grant.statusCode, grant.body).toBe(201);
    expect(grant.json().consentimiento).toMatchObject({
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
      evidencia: 'Contrato 2026-0153, cláusula 9',
      registrado_por: 'admin',
      registrado_en: NOW.replace('Z', '.000Z'),
    });
    clock.advance(60_000);
    const marketing = await post(id, {
      canal: 'whatsapp',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'formulario',
      evidencia: 'Formulario web 88',
    });
    expect(marketing.statusCode).toBe(201);
    clock.advance(60_000);
    // A withdrawal needs no evidence (the client asked by phone).
    const revoke = await post(id, {
      canal: 'whatsapp',
      categoria: 'marketing',
      otorgado: false,
      fuente: 'llamada',
    });
    expect(revoke.statusCode, revoke.body).toBe(201);

    const res = await app.inject({ url: `/api/clientes/${id}/consentimientos`, headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const current = Object.fromEntries(
      body.actuales.map((a: { canal: string; categoria: string; otorgado: boolean }) => [
        `${a.canal}/${a.categoria}`,
        a.otorgado,
      ]),
    );
    expect(current).toEqual({ 'whatsapp/servicio': true, 'whatsapp/marketing': false });
    expect(
      body.historial.map((x: { otorgado: boolean; fuente: string }) => `${x.fuente}:${x.otorgado}`),
    ).toEqual(['llamada:false', 'formulario:true', 'contrato:true']);
    // The ledger is only appended to; the audit log says who did it.
    const audit = await ctx.db.query<{ accion: string }>(
      `SELECT accion FROM audit_log WHERE objeto = $1 AND accion LIKE 'consentimiento.%' ORDER BY id`,
      [`cliente:${id}`],
    );
    expect(audit.rows.map((r) => r.accion)).toEqual([
      'consentimiento.otorgar',
      'consentimiento.otorgar',
      'consentimiento.retirar',
    ]);
  });

  it('reach: Telegram, WhatsApp (number + consent + not unreachable), either, both, none', async () => {
    const [a, b, c, d] = ids as [number, number, number, number];
    const before = await reach();
    // a: WhatsApp consent (previous test) but no number yet → not reachable on WhatsApp.
    expect(before.alcance.whatsapp).toBe(0);
    await ctx.db.query(`UPDATE clients SET whatsapp = '593987000001' WHERE id = $1`, [a]);
    // b: a number without consent → not reachable. c: linked on Telegram and on WhatsApp.
    await ctx.db.query(`UPDATE clients SET whatsapp = '593987000002' WHERE id = $1`, [b]);
    await ctx.db.query(
      `UPDATE clients SET whatsapp = '593987000003', chat_id = 900000000000003, linked_at = now() WHERE id = $1`,
      [c],
    );
    expect(
      (
        await post(c, {
          canal: 'whatsapp',
          categoria: 'servicio',
          otorgado: true,
          fuente: 'presencial',
          evidencia: 'Oficina, firmó hoja',
        })
      ).statusCode,
    ).toBe(201);
    // d: consent and number, but WhatsApp said the number is not on WhatsApp (until the 20th).
    await ctx.db.query(
      `UPDATE clients SET whatsapp = '593987000004', whatsapp_inalcanzable = '131026: no es un número de WhatsApp',
              whatsapp_inalcanzable_hasta = '2026-03-20T00:00:00Z' WHERE id = $1`,
      [d],
    );
    expect(
      (
        await post(d, {
          canal: 'whatsapp',
          categoria: 'servicio',
          otorgado: true,
          fuente: 'contrato',
          evidencia: 'Contrato 77',
        })
      ).statusCode,
    ).toBe(201);

    const r = await reach();
    expect(r.total_clientes).toBe(4);
    expect(r.alcance).toEqual({ ...NO_SMS_EMAIL, telegram: 1, whatsapp: 2, alguno: 2, ambos: 1, ninguno: 2 });

    // The unreachable mark expires: on the 21st d is reachable again.
    clock.set(new Date('2026-03-21T15:00:00Z'));
    expect((await reach()).alcance).toEqual({
      ...NO_SMS_EMAIL,
      telegram: 1,
      whatsapp: 3,
      alguno: 3,
      ambos: 1,
      ninguno: 1,
    });
    // A withdrawal takes c off WhatsApp; Telegram still reaches c.
    expect(
      (await post(c, { canal: 'whatsapp', categoria: 'servicio', otorgado: false, fuente: 'llamada' }))
        .statusCode,
    ).toBe(201);
    expect((await reach()).alcance).toEqual({
      ...NO_SMS_EMAIL,
      telegram: 1,
      whatsapp: 2,
      alguno: 3,
      ambos: 0,
      ninguno: 1,
    });
    clock.set(new Date(NOW));
  });

  it('the call list is the clients no channel reaches: a due client with WhatsApp consent is not on it', async () => {
    const due = async () => {
      const r = await app.inject({ url: '/api/notificaciones/sin-telegram/?por_pagina=500', headers: auth });
      expect(r.statusCode).toBe(200);
      return r.json().clientes.map((x: { id: number }) => x.id) as number[];
    };
    const [a, b] = ids as [number, number];
    // Both overdue (paid two months ago); neither is on Telegram.
    await ctx.db.query(`UPDATE clients SET fecha_ultimo_pago = '2026-01-05' WHERE id = ANY($1::int[])`, [
      [a, b],
    ]);
    const list = await due();
    expect(list).toContain(b); // a number, no consent: call
    expect(list).not.toContain(a); // WhatsApp consent and number: the notice goes there
  });

  it("the month's WhatsApp cost: templates delivered this month × the price of their category", async () => {
    const id = ids[0]!;
    const notice = async (tipo: string) =>
      (
        await ctx.db.query<{ id: number }>(
          `INSERT INTO notifications (client_id, tipo, estado, canal, created_at) VALUES ($1, $2, 'enviado', 'whatsapp', $3) RETURNING id`,
          [id, tipo, NOW],
        )
      ).rows[0]!.id;
    const envio = async (
      n: number,
      estado: string,
      at: string | null,
      plantilla: string | null = 'recordatorio_pago',
    ) =>
      ctx.db.query(
        `INSERT INTO notification_envios (notification_id, canal, estado, plantilla, created_at, enviado_at, entregado_at, leido_at)
         VALUES ($1, 'whatsapp', $2, $3, $4, $4, $5, $6)`,
        [n, estado, plantilla, at ?? NOW, estado === 'entregado' ? at : null, estado === 'leido' ? at : null],
      );
    const reminder = await notice('recordatorio_pago');
    await envio(reminder, 'entregado', '2026-03-02T15:00:00Z');
    await envio(reminder, 'leido', '2026-03-09T15:00:00Z'); // read without a delivered status: charged
    await envio(reminder, 'enviado', '2026-03-09T16:00:00Z'); // only accepted: not charged yet
    await envio(reminder, 'entregado', '2026-03-09T17:00:00Z', null); // free text in the window: free
    await envio(reminder, 'entregado', '2026-02-28T15:00:00Z'); // last month
    // 1 March 00:30 in Guayaquil is still February in UTC terms? No: 05:30Z on 1 March, this month.
    await envio(reminder, 'entregado', '2026-03-01T05:30:00Z');
    // 28 February 23:30 in Guayaquil = 1 March 04:30Z: last month in the provider's zone.
    await envio(reminder, 'entregado', '2026-03-01T04:30:00Z');
    const offer = await notice('oferta');
    await envio(offer, 'entregado', '2026-03-05T15:00:00Z', 'oferta');
    const email = await notice('manual');
    await ctx.db.query(
      `INSERT INTO notification_envios (notification_id, canal, estado, created_at, entregado_at) VALUES ($1, 'sms', 'entregado', $2, $2)`,
      [email, NOW],
    );

    const r = await reach();
    const cost = r.whatsapp_costo_mes;
    expect(cost.mes).toBe('2026-03');
    expect(cost.desde).toBe('2026-03-01T05:00:00.000Z');
    expect(cost.hasta).toBe('2026-04-01T05:00:00.000Z');
    expect(cost.por_categoria).toEqual([
      { categoria: 'utility', entregados: 3, precio: 0.0113, costo: 0.03 },
      { categoria: 'marketing', entregados: 1, precio: 0.074, costo: 0.07 },
    ]);
    expect(cost.total).toBe(Math.round((3 * 0.0113 + 0.074) * 100) / 100);
    expect(cost.moneda).toBe('USD');
    expect(cost.nota).toContain('Verifique');
  });
});
