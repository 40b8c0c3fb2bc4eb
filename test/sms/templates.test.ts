import { beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

describeEachDb('SMS text and e-mail subject in the template editor', (ctx) => {
  let app: App;
  let clientId: number;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
    const plan = await ctx.db.query<{ id: number }>(
      `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25.5) RETURNING id`,
    );
    const c = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono_norm, email, plan_id, fecha_ultimo_pago)
       VALUES ($1, 'Ana Pérez', '593991234567', 'ana@cliente.test', $2, '2026-02-05') RETURNING id`,
      [cedulaFor(1), plan.rows[0]!.id],
    );
    clientId = c.rows[0]!.id;
  });

  it('lists the defaults with the SMS limit and the values the counter uses', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/plantillas', headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.limite_sms).toBe(160);
    expect(body.valores_maximos_sms.monto).toBe('$99.999,99');
    const vencido = body.canales.find((t: { tipo: string }) => t.tipo === 'pago_vencido');
    expect(vencido).toMatchObject({ sms_predeterminado: true, email_asunto: 'Pago vencido — {empresa}' });
  });

  it('refuses an SMS over 160 characters with long data, and saves one that fits', async () => {
    const long = `{empresa}: su pago de {monto} {plazo}. ${'Por favor regularice. '.repeat(5)}`;
    const refused = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/pago_vencido/canales',
      headers: auth,
      payload: { sms: long },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().error.code).toBe('PLANTILLA_INVALIDA');
    expect(refused.json().error.mensaje).toMatch(/máximo 160/);

    const preview = await app.inject({
      method: 'POST',
      url: '/api/plantillas/pago_vencido/vista-previa',
      headers: auth,
      payload: { cliente_id: clientId, sms: long },
    });
    expect(preview.statusCode).toBe(200);
    expect(preview.json().sms.dentro_del_limite).toBe(false);

    const ok = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/pago_vencido/canales',
      headers: auth,
      payload: {
        sms: '¡{empresa}: su pago de {monto} {plazo}!',
        email_asunto: 'Aviso de {empresa} para {nombre}',
      },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ sms_predeterminado: false, asunto_predeterminado: false });

    const shown = await app.inject({
      method: 'POST',
      url: '/api/plantillas/pago_vencido/vista-previa',
      headers: auth,
      payload: { cliente_id: clientId },
    });
    const body = shown.json();
    expect(body.sms.texto).toMatch(/^TelTec: su pago de \$\d/);
    expect(body.sms.texto).not.toContain('¡');
    expect(body.sms.longitud).toBeLessThanOrEqual(160);
    expect(body.correo.asunto).toBe('Aviso de TelTec para Ana Pérez');

    // null goes back to the default
    const reset = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/pago_vencido/canales',
      headers: auth,
      payload: { sms: null },
    });
    expect(reset.json()).toMatchObject({ sms_predeterminado: true, asunto_predeterminado: false });
  });

  it('saves an SMS text for the pre-suspension notice (migration 021 widened the type check)', async () => {
    const saved = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/aviso_suspension/canales',
      headers: auth,
      payload: {
        sms: '{empresa}: pague {monto} antes del {fecha_suspension} para evitar la suspension.',
        email_asunto: 'Su servicio se suspende pronto — {empresa}',
      },
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.json()).toMatchObject({ sms_predeterminado: false, asunto_predeterminado: false });
    const listed = (await app.inject({ method: 'GET', url: '/api/plantillas', headers: auth }))
      .json()
      .canales.find((t: { tipo: string }) => t.tipo === 'aviso_suspension');
    expect(listed).toMatchObject({ sms_predeterminado: false });
    const shown = await app.inject({
      method: 'POST',
      url: '/api/plantillas/aviso_suspension/vista-previa',
      headers: auth,
      payload: { cliente_id: clientId },
    });
    expect(shown.json().sms.texto).toMatch(/^TelTec: pague \$\d/);
    for (const tipo of ['servicio_suspendido', 'servicio_reactivado']) {
      const res = await app.inject({
        method: 'PUT',
        url: `/api/plantillas/${tipo}/canales`,
        headers: auth,
        payload: { email_asunto: 'Aviso de {empresa}' },
      });
      expect(res.statusCode).toBe(200);
    }
  });
});
