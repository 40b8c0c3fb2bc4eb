import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordEnabledChannels } from '../../src/channels/enabled.js';
import { recordConsent } from '../../src/clients/consents.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 11 §6: the client page's channels, each with its state (linked / consented, unreachable
// and why + until when, preferred), from existing data. Clock: 2026-03-10 10:00 in Guayaquil.
const NOW = '2026-03-10T15:00:00Z';

describeEachDb('a client’s channels and their state', (ctx) => {
  let app: App;
  const channels = async (id: number) => {
    const res = await app.inject({ url: `/api/clientes/${id}/canales`, headers: auth });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const byChannel = async (id: number) =>
    Object.fromEntries((await channels(id)).canales.map((c: { canal: string }) => [c.canal, c])) as Record<
      string,
      Record<string, unknown>
    >;

  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, { now: NOW }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('says per channel where it goes, whether a notice gets there now, why not and until when', async () => {
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, chat_id, link_verified, telegram_blocked, whatsapp,
                            whatsapp_inalcanzable, whatsapp_inalcanzable_hasta, telefono_norm,
                            sms_inalcanzable, sms_inalcanzable_hasta, email, canal_preferido)
       VALUES ($1, 'Rosa Paz', 900000000000301, true, true, '593991230001',
               '131026: no es un número de WhatsApp', '2026-03-01T00:00:00Z', '593991230001',
               'numero_invalido', '2026-03-20T00:00:00Z', 'rosa@correo.test', 'sms')
       RETURNING id`,
      [cedulaFor(301)],
    );
    const id = rows[0]!.id;
    const at = new Date('2026-03-02T12:00:00Z');
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
      evidencia: 'Contrato 12',
      at,
    });
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'email',
      categoria: 'marketing',
      otorgado: true,
      fuente: 'formulario',
      at,
    });
    await recordConsent(ctx.db, {
      clientId: id,
      canal: 'email',
      categoria: 'servicio',
      otorgado: false,
      fuente: 'email',
      at,
    });

    const all = await channels(id);
    expect(all.preferido).toBe('sms');
    expect(all.canales.map((c: { canal: string }) => c.canal)).toEqual([
      'telegram',
      'whatsapp',
      'sms',
      'email',
    ]);
    const c = await byChannel(id);
    // Telegram: linked but blocked.
    expect(c.telegram).toMatchObject({
      destino: '900000000000301',
      alcanzable: false,
      motivo: 'blocked',
      motivo_texto: 'Bloqueó el bot',
      inalcanzable: { motivo: 'blocked', hasta: null, vigente: true },
      preferido: false,
    });
    // WhatsApp: its 131026 mark expired on the 1st, consent given: reachable again, not for offers.
    expect(c.whatsapp).toMatchObject({
      destino: '593991230001',
      alcanzable: true,
      motivo: null,
      marketing: false,
      inalcanzable: {
        motivo: '131026: no es un número de WhatsApp',
        hasta: '2026-03-01T00:00:00.000Z',
        vigente: false,
      },
      consentimiento: { servicio: true, marketing: null },
    });
    // SMS: preferred, but marked unreachable until the 20th.
    expect(c.sms).toMatchObject({
      alcanzable: false,
      motivo: 'sms_inalcanzable',
      motivo_texto: 'El SMS no llega a este número',
      inalcanzable: { motivo: 'numero_invalido', hasta: '2026-03-20T00:00:00.000Z', vigente: true },
      preferido: true,
    });
    // E-mail: the client withdrew service notices: the channel is closed, to offers too (the
    // re-check's rule), though the marketing grant stays in the ledger.
    expect(c.email).toMatchObject({
      destino: 'rosa@correo.test',
      alcanzable: false,
      motivo: 'sin_consentimiento',
      marketing: false,
      inalcanzable: null,
      consentimiento: { servicio: false, marketing: true },
      configurado: true,
    });

    // A deployment without e-mail: the channel shows as not configured.
    await recordEnabledChannels(ctx.db, ['telegram', 'whatsapp', 'sms'], new Date(NOW));
    expect((await byChannel(id)).email).toMatchObject({
      configurado: false,
      alcanzable: false,
      motivo: 'canal_no_configurado',
      motivo_texto: 'Canal no configurado en este servicio',
    });
  });

  it('a client with nothing on file: every channel says what is missing; an unknown client is 404', async () => {
    const { rows } = await ctx.db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre) VALUES ($1, 'Sin datos') RETURNING id`,
      [cedulaFor(302)],
    );
    await recordEnabledChannels(ctx.db, ['telegram', 'whatsapp', 'sms', 'email'], new Date(NOW));
    const c = await byChannel(rows[0]!.id);
    expect([c.telegram!.motivo, c.whatsapp!.motivo, c.sms!.motivo, c.email!.motivo]).toEqual([
      'sin_telegram',
      'sin_whatsapp',
      'sin_celular',
      'sin_email',
    ]);
    expect(c.whatsapp!.motivo_texto).toBe('Sin número de WhatsApp');
    const missing = await app.inject({ url: '/api/clientes/999999/canales', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.mensaje).toContain('No existe el cliente 999999');
  });
});
