import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordEnabledChannels } from '../../src/channels/enabled.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 11 §6: Resumen's reach card by channel (Telegram, WhatsApp, SMS, e-mail, none), counting
// only the configured channels, and the month's cost by channel. Clock: 2026-03-10 10:00 Guayaquil.
const NOW = '2026-03-10T15:00:00Z';

describeEachDb('reach and cost by channel', (ctx) => {
  let app: App;
  const reach = async () => {
    const res = await app.inject({ url: '/api/notificaciones/alcance/', headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, {
      now: NOW,
      env: {
        WHATSAPP_PRECIO_UTILITY: '0.01',
        WHATSAPP_PRECIO_MARKETING: '0.07',
        SMS_PRECIO: '0.05',
        EMAIL_PRECIO: '0.002',
      },
    }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('counts each channel, any and none; a channel not configured here reaches nobody', async () => {
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, chat_id, link_verified, telefono_norm, email) VALUES
         ($1, 'Solo Telegram', 900000000000101, true, NULL, NULL),
         ($2, 'Solo celular', NULL, false, '593991110001', NULL),
         ($3, 'Solo correo', NULL, false, NULL, 'solo@correo.test'),
         ($4, 'Celular y correo', NULL, false, '593991110002', 'ambos@correo.test'),
         ($5, 'Nada', NULL, false, '59322345678', NULL),
         ($6, 'Celular marcado', NULL, false, '593991110003', NULL)`,
      [cedulaFor(201), cedulaFor(202), cedulaFor(203), cedulaFor(204), cedulaFor(205), cedulaFor(206)],
    );
    // The gateway said this mobile cannot get SMS, until the 20th.
    await ctx.db.query(
      `UPDATE clients SET sms_inalcanzable = 'numero_invalido', sms_inalcanzable_hasta = '2026-03-20T00:00:00Z'
        WHERE nombre = 'Celular marcado'`,
    );
    expect((await reach()).alcance).toEqual({
      canales_activos: ['telegram', 'whatsapp', 'sms', 'email'],
      telegram: 1,
      whatsapp: 0,
      sms: 2,
      email: 2,
      alguno: 4,
      ambos: 0,
      ninguno: 2,
    });
    // This deployment sends on Telegram and e-mail only: mobiles on file are not SMS reach.
    await recordEnabledChannels(ctx.db, ['telegram', 'email'], new Date(NOW));
    const r = await reach();
    expect(r.total_clientes).toBe(6);
    expect(r.alcance).toEqual({
      canales_activos: ['telegram', 'email'],
      telegram: 1,
      whatsapp: 0,
      sms: 0,
      email: 2,
      alguno: 3,
      ambos: 0,
      ninguno: 3,
    });
  });

  it("the month's cost by channel: WhatsApp by category (marketing = offers, their campaigns, MARKETING templates), SMS and e-mail per message accepted", async () => {
    await recordEnabledChannels(ctx.db, ['telegram', 'whatsapp', 'sms'], new Date(NOW));
    const { rows } = await ctx.db.query<{ id: number }>(`SELECT id FROM clients ORDER BY id LIMIT 1`);
    const client = rows[0]!.id;
    const campaign = (
      await ctx.db.query<{ id: number }>(
        `INSERT INTO campaigns (nombre, tipo, mensaje) VALUES ('Navidad', 'oferta', 'x') RETURNING id`,
      )
    ).rows[0]!.id;
    await ctx.db.query(
      `INSERT INTO whatsapp_templates (nombre, idioma, estado, categoria, sincronizada_at)
       VALUES ('promo_mantenimiento', 'es', 'APPROVED', 'MARKETING', $1),
              ('aviso_corte', 'es', 'APPROVED', 'UTILITY', $1)`,
      [NOW],
    );
    const notice = async (tipo: string, campaignId: number | null = null) =>
      (
        await ctx.db.query<{ id: number }>(
          `INSERT INTO notifications (client_id, tipo, estado, canal, campaign_id, created_at)
           VALUES ($1, $2, 'enviado', 'whatsapp', $3, $4) RETURNING id`,
          [client, tipo, campaignId, NOW],
        )
      ).rows[0]!.id;
    const envio = (
      n: number,
      canal: string,
      estado: string,
      o: { plantilla?: string | null; enviado?: string | null; entregado?: string | null } = {},
    ) =>
      ctx.db.query(
        `INSERT INTO notification_envios (notification_id, canal, estado, plantilla, created_at, enviado_at, entregado_at)
         VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, $7::timestamptz), $5, $6)`,
        [n, canal, estado, o.plantilla ?? null, o.enviado ?? null, o.entregado ?? null, NOW],
      );
    const at = '2026-03-05T15:00:00Z';
    // WhatsApp: a utility template; a maintenance notice sent with a MARKETING template; a notice of
    // a campaign of offers (its notice type is not 'oferta'): both marketing.
    await envio(await notice('recordatorio_pago'), 'whatsapp', 'entregado', {
      plantilla: 'aviso_corte',
      enviado: at,
      entregado: at,
    });
    await envio(await notice('mantenimiento'), 'whatsapp', 'entregado', {
      plantilla: 'promo_mantenimiento',
      enviado: at,
      entregado: at,
    });
    await envio(await notice('manual', campaign), 'whatsapp', 'entregado', {
      plantilla: 'aviso_corte',
      enviado: at,
      entregado: at,
    });
    // SMS: accepted (sent, delivered, or failed later on the network) counts; never accepted or
    // accepted last month does not.
    const sms = await notice('pago_vencido');
    await envio(sms, 'sms', 'enviado', { enviado: at });
    await envio(sms, 'sms', 'entregado', { enviado: at, entregado: at });
    await envio(sms, 'sms', 'fallido', { enviado: at });
    await envio(sms, 'sms', 'fallido');
    await envio(sms, 'sms', 'entregado', {
      enviado: '2026-02-27T15:00:00Z',
      entregado: '2026-02-27T15:00:00Z',
    });
    // E-mail: two accepted (the channel is not configured any more: still billed, shown as such).
    const mail = await notice('pago_vencido');
    await envio(mail, 'email', 'enviado', { enviado: at });
    await envio(mail, 'email', 'enviado', { enviado: at });

    const c = (await reach()).costo_mes;
    expect(c).toMatchObject({ mes: '2026-03', moneda: 'USD' });
    expect(c.por_canal).toEqual([
      {
        canal: 'whatsapp',
        configurado: true,
        mensajes: 3,
        precio: null,
        costo: 0.15,
        por_categoria: [
          { categoria: 'utility', entregados: 1, precio: 0.01, costo: 0.01 },
          { categoria: 'marketing', entregados: 2, precio: 0.07, costo: 0.14 },
        ],
      },
      { canal: 'sms', configurado: true, mensajes: 3, precio: 0.05, costo: 0.15, por_categoria: null },
      { canal: 'email', configurado: false, mensajes: 2, precio: 0.002, costo: 0, por_categoria: null },
    ]);
    expect(c.total).toBe(0.3);
    expect(c.nota).toContain('SMS_PRECIO');
    // The WhatsApp-only view (issue 10) says the same.
    expect((await reach()).whatsapp_costo_mes.por_categoria).toEqual(c.por_canal[0].por_categoria);
  });
});
