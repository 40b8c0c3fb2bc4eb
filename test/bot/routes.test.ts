import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/http/app.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, nextId, seedClient, startBotHarness } from './support.js';

describeEachDb('bot admin routes', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });
  const fresh = () => {
    const n = nextId();
    return { cedula: cedulaFor(40_000 + n), chatId: 810_000 + n };
  };

  describe('configurar-webhook', () => {
    it('refuses a URL that is not https with a clear message', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: 'http://teltec.ec/api/notificaciones/telegram/webhook/' },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.code).toBe('WEBHOOK_URL_NO_HTTPS');
      expect(res.json().error.mensaje).toContain('https://');
      const missing = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: {},
      });
      expect(missing.statusCode).toBe(422);
      expect(missing.json().error.mensaje).toContain('webhook_url');
    });

    it('sets the webhook with our secret and allowed updates; GET shows getWebhookInfo', async () => {
      const url = 'https://teltec.example.ec/api/notificaciones/telegram/webhook/';
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: url, drop_pending_updates: true },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ ok: true, webhook_url: url, info: { modo: 'webhook', url } });
      expect(h.standin.webhook).toMatchObject({
        url,
        secret: h.bot.webhookSecret,
        allowedUpdates: ['message', 'callback_query', 'my_chat_member'],
      });
      const call = h.standin.calls.findLast((c) => c.method === 'setWebhook');
      expect(call?.params.drop_pending_updates).toBe(true);
      const info = await h.app.inject({
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
      });
      expect(info.json()).toMatchObject({
        modo: 'webhook',
        url,
        pendientes: 0,
        ultimo_error: null,
        max_connections: 40,
      });
      await h.bot.api.deleteWebhook();
      const after = await h.app.inject({
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
      });
      expect(after.json()).toMatchObject({ modo: 'long_polling', url: '' });
    });

    it('reports Telegram refusing and Telegram being unreachable', async () => {
      h.standin.failNext(1, { kind: 'unauthorized' }, { method: 'setWebhook' });
      const refused = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: 'https://teltec.example.ec/hook' },
      });
      expect(refused.statusCode).toBe(502);
      expect(refused.json().error).toMatchObject({ code: 'TELEGRAM_RECHAZO', detalles: { error_code: 401 } });
      h.standin.failNext(1, { kind: 'drop' }, { method: 'getWebhookInfo' });
      const dropped = await h.app.inject({
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
      });
      expect(dropped.statusCode).toBe(502);
      expect(dropped.json().error.code).toBe('TELEGRAM_NO_DISPONIBLE');
      expect(dropped.body).not.toContain(h.standin.token);
    });
  });

  describe('test message', () => {
    it('sends through Telegram and reports its answer', async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/test/',
        headers: auth,
        payload: { chat_id: '123456789', mensaje: 'Prueba' },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ ok: true, respuesta: { chat_id: 123456789 } });
      expect(h.standin.sentTo(123456789).at(-1)?.text).toBe('Prueba');
      h.standin.unknownChats.add(555);
      const unknown = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/test/',
        headers: auth,
        payload: { chat_id: 555, mensaje: 'Prueba' },
      });
      expect(unknown.statusCode).toBe(502);
      expect(unknown.json().error).toMatchObject({
        code: 'TELEGRAM_RECHAZO',
        detalles: { error_code: 400, descripcion: 'Bad Request: chat not found' },
      });
      const invalid = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/test/',
        headers: auth,
        payload: { chat_id: 'abc', mensaje: '' },
      });
      expect(invalid.statusCode).toBe(422);
    });
  });

  describe('invitations', () => {
    it('gives a client one active invitation with its QR, replaces and revokes it', async () => {
      const { cedula } = fresh();
      const c = await seedClient(ctx.db, cedula);
      const first = await h.app.inject({ url: `/api/clientes/${c.id}/invitacion`, headers: auth });
      expect(first.statusCode, first.body).toBe(200);
      const inv = first.json();
      expect(inv).toMatchObject({
        cliente_id: c.id,
        estado: 'activa',
        expira_en: '2026-04-09T15:00:00.000Z',
        qr_png: `/api/clientes/${c.id}/invitacion/qr.png`,
      });
      expect(inv.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(inv.enlace).toBe(`https://t.me/TelTecTestBot?start=${inv.token}`);
      const again = await h.app.inject({ url: `/api/clientes/${c.id}/invitacion`, headers: auth });
      expect(again.json().token).toBe(inv.token);

      const png = await h.app.inject({ url: inv.qr_png, headers: auth });
      expect(png.headers['content-type']).toBe('image/png');
      expect(png.rawPayload.subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      const svg = await h.app.inject({ url: inv.qr_svg, headers: auth });
      expect(svg.headers['content-type']).toContain('image/svg+xml');
      expect(svg.body).toContain('<svg');

      const renewed = await h.app.inject({
        method: 'POST',
        url: `/api/clientes/${c.id}/invitacion`,
        headers: auth,
      });
      expect(renewed.statusCode).toBe(201);
      expect(renewed.json().token).not.toBe(inv.token);
      const old = await ctx.db.query<{ revoked_at: Date | null }>(
        'SELECT revoked_at FROM bot_invitations WHERE id = $1',
        [inv.id],
      );
      expect(old.rows[0]!.revoked_at).not.toBeNull();
      const revoked = await h.app.inject({
        method: 'DELETE',
        url: `/api/clientes/${c.id}/invitacion`,
        headers: auth,
      });
      expect(revoked.json()).toEqual({ ok: true, revocadas: 1 });

      for (const method of ['GET', 'POST', 'DELETE'] as const) {
        const missing = await h.app.inject({ method, url: '/api/clientes/999999/invitacion', headers: auth });
        expect(missing.statusCode).toBe(404);
      }
    });

    it('lists links for every unlinked client in CSV and prints their QR codes, creating only the missing', async () => {
      const sector = `Sector-${nextId()}`;
      const a = await seedClient(ctx.db, fresh().cedula, { nombre: 'Zoila <Ruiz> & Cía', telefono: null });
      const b = await seedClient(ctx.db, fresh().cedula, { nombre: 'Abel Andrade', telefono: null });
      const linked = await seedClient(ctx.db, fresh().cedula, { nombre: 'Ya Vinculado', telefono: null });
      for (const c of [a, b, linked]) {
        await ctx.db.query('UPDATE clients SET sector = $2 WHERE id = $1', [c.id, sector]);
      }
      await ctx.db.query('UPDATE clients SET chat_id = $2 WHERE id = $1', [linked.id, fresh().chatId]);
      const existing = (
        await h.app.inject({ url: `/api/clientes/${a.id}/invitacion`, headers: auth })
      ).json();

      const csv = await h.app.inject({
        url: `/api/invitaciones/enlaces.csv?sector=${encodeURIComponent(sector)}`,
        headers: auth,
      });
      expect(csv.statusCode, csv.body).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      const lines = csv.body
        .replace(/^\uFEFF/, '')
        .trim()
        .split('\r\n');
      expect(lines[0]).toBe('cliente_id,cedula,nombre,telefono,sector,enlace,expira_en');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toContain('Abel Andrade');
      expect(lines[2]).toContain(existing.enlace);
      expect(csv.body).not.toContain('Ya Vinculado');
      // Idempotent: a second download gives the same links.
      const again = await h.app.inject({
        url: `/api/invitaciones/enlaces.csv?sector=${encodeURIComponent(sector)}`,
        headers: auth,
      });
      expect(again.body).toBe(csv.body);

      const page = await h.app.inject({
        url: `/api/invitaciones/imprimir?sector=${encodeURIComponent(sector)}`,
        headers: auth,
      });
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('Zoila &lt;Ruiz&gt; &amp; Cía');
      expect(page.body).not.toContain('<Ruiz>');
      expect(page.body.match(/<svg/g)).toHaveLength(2);
      expect(page.body).toContain('2 clientes sin Telegram');
    });

    it('without a bot, invitations answer 503 BOT_NO_CONFIGURADO', async () => {
      const app = await buildApi({
        db: ctx.db,
        config: testConfig(),
        logger: pino({ level: 'silent' }),
        clock: h.clock,
        adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      });
      const res = await app.inject({ url: '/api/invitaciones/enlaces.csv', headers: auth });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('BOT_NO_CONFIGURADO');
      const test = await app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/test/',
        headers: auth,
        payload: { chat_id: 1, mensaje: 'x' },
      });
      expect(test.json().error.code).toBe('BOT_NO_CONFIGURADO');
      await app.close();
    });
  });

  describe('statistics', () => {
    it('reports linked, verified, blocked, adoption and the invitation funnel over time', async () => {
      const base = (
        await h.app.inject({ url: '/api/notificaciones/telegram/estadisticas/', headers: auth })
      ).json();
      // One client linked by invitation (verified), one on the cédula alone (unverified), then blocked.
      const invited = await seedClient(ctx.db, fresh().cedula, { nombre: 'Por Invitación' });
      const inv = (
        await h.app.inject({ url: `/api/clientes/${invited.id}/invitacion`, headers: auth })
      ).json();
      const u1 = h.user({ chatId: fresh().chatId });
      await h.act(u1, (x) => x.command('start', inv.token));
      const plain = fresh();
      await seedClient(ctx.db, plain.cedula, { telefono: null });
      const u2 = h.user({ chatId: plain.chatId });
      await h.say(u2, plain.cedula);
      await h.act(u2, (x) => x.block());
      const opened = await seedClient(ctx.db, fresh().cedula, { nombre: 'Tercera Invitación' });
      const inv3 = (
        await h.app.inject({ url: `/api/clientes/${opened.id}/invitacion`, headers: auth })
      ).json();
      await h.act(h.user({ chatId: fresh().chatId }), (x) => x.command('start', inv3.token));
      h.clock.advance(3 * 86_400_000);

      const res = await h.app.inject({
        url: '/api/notificaciones/telegram/estadisticas/?agrupar=dia&periodos=7',
        headers: auth,
      });
      expect(res.statusCode, res.body).toBe(200);
      const s = res.json();
      expect(s.vinculados - base.vinculados).toBe(3);
      expect(s.verificados - base.verificados).toBe(3 - 1);
      expect(s.bloqueados - base.bloqueados).toBe(1);
      expect(s.porcentaje_adopcion).toBeCloseTo((s.vinculados / s.total_clientes) * 100, 1);
      expect(s.invitaciones.creadas - base.invitaciones.creadas).toBe(2);
      expect(s.embudo).toEqual({
        invitados: s.invitaciones.creadas,
        abrieron_el_bot: s.invitaciones.abiertas,
        vinculados: s.invitaciones.usadas,
      });
      expect(s.serie).toHaveLength(7);
      expect(s.serie.at(-1).desde).toBe('2026-03-13');
      const day = s.serie.find((p: { desde: string }) => p.desde === '2026-03-10');
      expect(day.vinculaciones).toBeGreaterThanOrEqual(3);
      expect(day.vinculaciones_por_invitacion).toBeGreaterThanOrEqual(2);
      expect(day.bloqueos).toBeGreaterThanOrEqual(1);
      expect(day.invitaciones_creadas).toBeGreaterThanOrEqual(2);
      expect(day.invitaciones_usadas).toBeGreaterThanOrEqual(2);
      expect(s.serie.at(-1).vinculados_al_cierre).toBe(s.vinculados);
      h.clock.set('2026-03-10T15:00:00Z');

      const weeks = await h.app.inject({ url: '/api/notificaciones/telegram/estadisticas/', headers: auth });
      expect(weeks.json().agrupar).toBe('semana');
      expect(weeks.json().serie).toHaveLength(12);
      const bad = await h.app.inject({
        url: '/api/notificaciones/telegram/estadisticas/?agrupar=año',
        headers: auth,
      });
      expect(bad.statusCode).toBe(422);
    });
  });
});
