import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRegistry } from '../../src/errors/index.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp, TEST_ADMIN_TOKEN } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

describeEachDb('API foundation', (ctx) => {
  let app: App;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, { now: '2026-03-10T15:00:00Z', bodyLimit: 64 * 1024 }));
  });
  afterAll(async () => {
    await app.close();
  });

  it('health and readiness answer without a token', async () => {
    expect((await app.inject({ url: '/health' })).json()).toEqual({ estado: 'ok' });
    const ready = await app.inject({ url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().base_de_datos).toBe(ctx.kind);
  });

  it('every registered route except the allow-list refuses a request without the token', async () => {
    const publicRoutes = app.routeTable.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    expect(publicRoutes.sort()).toEqual(
      [
        'GET /health',
        'GET /ready',
        'POST /api/notificaciones/telegram/webhook/',
        // The admin page's static files (issue 5): they hold no data.
        'GET /',
        'GET /sandbox',
        'GET /assets/*',
        // The API reference page holds no client data (issue 9); /api/openapi.json stays guarded.
        'GET /api/docs',
        // Staff sign-in (issue 14): the forms that open a session.
        'GET /api/sesion/estado',
        'POST /api/sesion',
        'POST /api/sesion/primer-admin',
        // SMS delivery reports (shared secret) and the e-mail one-click unsubscribe (signed link): issue 11.
        'POST /api/sms/estado',
        'POST /api/sms/entrante',
        'GET /baja/correo',
        'POST /baja/correo',
        // WhatsApp Cloud API webhook (verify token / signature): issue 10.
        'GET /api/whatsapp/webhook',
        'POST /api/whatsapp/webhook',
      ].sort(),
    );
    const guarded = app.routeTable.filter((r) => !r.public);
    expect(guarded.length).toBeGreaterThan(20);
    for (const r of guarded) {
      const url = r.url.replace(/:[a-z_]+/g, '1');
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-token-wrong-token' },
        { authorization: TEST_ADMIN_TOKEN },
      ]) {
        const res = await app.inject({ method: r.method as 'GET', url, headers });
        expect(res.statusCode, `${r.method} ${url}`).toBe(401);
        expect(res.json().error.code).toBe('NO_AUTORIZADO');
      }
    }
  });

  it('the webhook checks its secret header', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/webhook/',
      payload: {},
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('WEBHOOK_SECRETO_INVALIDO');
  });

  it('serves the OpenAPI document behind the token and the readable reference without it', async () => {
    expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(401);
    const open = await app.inject({ url: '/api/docs', headers: { accept: 'text/html' } });
    expect(open.statusCode).toBe(200);
    expect(open.headers['content-type']).toContain('text/html');
    expect(open.body).toContain('/api/clientes/importar');
    const doc = await app.inject({ url: '/api/openapi.json', headers: auth });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths);
    expect(paths).toContain('/api/clientes');
    expect(paths).toContain('/api/notificaciones/actualizar-chat-id/');
    const page = await app.inject({ url: '/api/docs', headers: auth });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('/api/clientes/importar');
  });

  it('every error code in answers comes from the registry', async () => {
    const doc = (await app.inject({ url: '/api/openapi.json', headers: auth })).json();
    expect(doc.paths['/api/clientes'].post.responses['422']).toBeDefined();
    // The OpenAPI document lists exactly the registry's codes, with their statuses.
    const documented = doc.components.schemas.CodigoDeError;
    expect(documented.enum).toEqual(Object.keys(errorRegistry));
    expect(documented['x-codigos'].CEDULA_DUPLICADA.status).toBe(409);
    for (const [code, def] of Object.entries(errorRegistry)) {
      expect(def.message.length, code).toBeGreaterThan(10);
      expect(code).toMatch(/^[A-Z_]+$/);
    }
  });

  describe('plans and clients', () => {
    let planId: number;

    it('creates a plan and refuses a duplicate name with 409', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/planes',
        headers: auth,
        payload: { nombre: 'Hogar 50', velocidad_mbps: 50, precio: 25 },
      });
      expect(res.statusCode).toBe(201);
      planId = res.json().id;
      const dup = await app.inject({
        method: 'POST',
        url: '/api/planes',
        headers: auth,
        payload: { nombre: 'hogar 50', velocidad_mbps: 10, precio: 5 },
      });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error.code).toBe('PLAN_DUPLICADO');
    });

    it('creates a client with the plan by name and computes the payment state', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: auth,
        payload: {
          cedula: '1714307103',
          nombre: 'María Pérez',
          telefono: '0987654321',
          sector: 'Centro',
          plan: 'Hogar 50',
          fecha_ultimo_pago: '2026-02-12',
        },
      });
      expect(res.statusCode).toBe(201);
      const c = res.json();
      expect(c.plan_id).toBe(planId);
      expect(c.fecha_vencimiento).toBe('2026-03-14');
      expect(c.estado_pago).toBe('por_vencer');
      expect(c.telegram.vinculado).toBe(false);
    });

    it('refuses a duplicate cédula with 409 and changes nothing', async () => {
      const before = (await app.inject({ url: '/api/clientes', headers: auth })).json().total;
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: auth,
        payload: { cedula: '171430710-3', nombre: 'Otra Persona' },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('CEDULA_DUPLICADA');
      expect((await app.inject({ url: '/api/clientes', headers: auth })).json().total).toBe(before);
    });

    it('answers 422 naming the field, in Spanish, for a bad cédula', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: auth,
        payload: { cedula: '1714307104', nombre: 'Juan' },
      });
      expect(res.statusCode).toBe(422);
      const body = res.json();
      expect(body.error.code).toBe('VALIDACION');
      expect(body.error.mensaje).toContain('cedula');
      expect(body.error.mensaje).toContain('verificador');
    });

    it('answers 400 for malformed JSON and 413 for a body too large, never 500', async () => {
      const bad = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"cedula": ',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('JSON_INVALIDO');
      const big = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ nombre: 'x'.repeat(70 * 1024) }),
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe('CUERPO_DEMASIADO_GRANDE');
    });

    it('404 for an unknown client, 422 for an unknown plan', async () => {
      const res = await app.inject({ url: '/api/clientes/99999', headers: auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('NO_ENCONTRADO');
      const plan = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: auth,
        payload: { cedula: cedulaFor(5), nombre: 'Con Plan Raro', plan: 'Inexistente' },
      });
      expect(plan.statusCode).toBe(422);
      expect(plan.json().error.code).toBe('PLAN_NO_EXISTE');
    });

    it('records a payment, which moves the last-payment date forward only', async () => {
      const id = (await app.inject({ url: '/api/clientes?buscar=maría', headers: auth })).json().clientes[0]
        .id;
      const res = await app.inject({
        method: 'POST',
        url: `/api/clientes/${id}/pagos`,
        headers: auth,
        payload: { monto: 25, referencia: 'REC-1' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().cliente.fecha_ultimo_pago).toBe('2026-03-10');
      expect(res.json().cliente.estado_pago).toBe('al_dia');
      const old = await app.inject({
        method: 'POST',
        url: `/api/clientes/${id}/pagos`,
        headers: auth,
        payload: { monto: 25, fecha: '2026-01-01' },
      });
      expect(old.json().cliente.fecha_ultimo_pago).toBe('2026-03-10');
      const pagos = (await app.inject({ url: `/api/clientes/${id}/pagos`, headers: auth })).json().pagos;
      expect(pagos.map((p: { fecha: string }) => p.fecha)).toEqual(['2026-03-10', '2026-01-01']);
    });

    it('links a chat by hand (seed actualizar-chat-id) and refuses the same chat for another client', async () => {
      const a = (await app.inject({ url: '/api/clientes?buscar=1714307', headers: auth })).json().clientes[0];
      const res = await app.inject({
        method: 'POST',
        url: '/api/notificaciones/actualizar-chat-id/',
        headers: auth,
        payload: { cliente_id: a.id, chat_id: '123456789' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().cliente.telegram).toMatchObject({ vinculado: true, chat_id: '123456789' });
      const b = await app.inject({
        method: 'POST',
        url: '/api/clientes',
        headers: auth,
        payload: { cedula: cedulaFor(7), nombre: 'Pedro Gómez' },
      });
      const dup = await app.inject({
        method: 'POST',
        url: '/api/notificaciones/actualizar-chat-id',
        headers: auth,
        payload: { cliente_id: b.json().id, chat_id: 123456789 },
      });
      expect(dup.statusCode).toBe(409);
      expect(dup.json().error.code).toBe('CHAT_ID_DUPLICADO');
      const stats = (await app.inject({ url: '/api/notificaciones/estadisticas/', headers: auth })).json();
      expect(stats).toMatchObject({ con_telegram: 1, sin_telegram: stats.total_clientes - 1 });
    });

    it('records every admin action in the audit log with the token name', async () => {
      const { rows } = await ctx.db.query<{ actor: string; accion: string }>(
        'SELECT actor, accion FROM audit_log',
      );
      expect(rows.map((r) => r.accion)).toEqual(
        expect.arrayContaining([
          'plan.crear',
          'cliente.crear',
          'pago.registrar',
          'telegram.actualizar_chat_id',
        ]),
      );
      expect(new Set(rows.map((r) => r.actor))).toEqual(new Set(['admin']));
    });
  });

  describe('CSV import and export', () => {
    it('imports 80 clients, then a re-import updates by cédula instead of duplicating', async () => {
      const lines = ['cedula,nombre,telefono,sector,plan,fecha_ultimo_pago'];
      for (let i = 100; i < 180; i++) {
        lines.push(
          `${cedulaFor(i)},Cliente ${i},09${String(87000000 + i)},Sector ${i % 4},Hogar 50,2026-02-${String((i % 28) + 1).padStart(2, '0')}`,
        );
      }
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes/importar',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: lines.join('\n'),
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ creados: 80, actualizados: 0, errores: [] });
      const again = await app.inject({
        method: 'POST',
        url: '/api/clientes/importar',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: lines.join('\n').replace('Cliente 100,', 'Cliente Cien,'),
      });
      expect(again.json()).toMatchObject({ creados: 0, actualizados: 80, errores: [] });
      const found = (await app.inject({ url: '/api/clientes?buscar=cien', headers: auth })).json();
      expect(found.total).toBe(1);
    });

    it('imports the good lines and reports each bad line by number and reason', async () => {
      const csv = [
        'cedula;nombre;plan;dia_pago',
        `${cedulaFor(200)};Buena Uno;Hogar 50;5`,
        '1714307104;Mal Verificador;;',
        `${cedulaFor(201)};Plan Falso;Plan X;`,
        `${cedulaFor(202)};Día Malo;;31`,
        `${cedulaFor(203)};Buena Dos;;`,
      ].join('\r\n');
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes/importar',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: csv,
      });
      const body = res.json();
      expect(body.creados).toBe(2);
      expect(body.errores.map((e: { linea: number }) => e.linea)).toEqual([3, 4, 5]);
      expect(body.errores[0].motivo).toMatch(/verificador/);
      expect(body.errores[1].motivo).toMatch(/Plan X/);
      expect(body.errores[2].motivo).toMatch(/dia_pago/);
      const bad = await app.inject({ url: `/api/clientes?buscar=${cedulaFor(201)}`, headers: auth });
      expect(bad.json().total).toBe(0);
    });

    it('refuses a CSV without the cédula column, changing nothing', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/clientes/importar',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: 'nombre\nAlguien',
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().error.mensaje).toContain('cedula');
    });

    it('filters and paginates, and exports CSV that re-imports cleanly', async () => {
      const page = (
        await app.inject({ url: '/api/clientes?sector=sector 1&por_pagina=7&pagina=2', headers: auth })
      ).json();
      expect(page.total).toBe(20);
      expect(page.clientes).toHaveLength(7);
      const noTelegram = (
        await app.inject({ url: '/api/clientes?telegram=no&por_pagina=1', headers: auth })
      ).json();
      const all = (await app.inject({ url: '/api/clientes?por_pagina=1', headers: auth })).json();
      expect(noTelegram.total).toBe(all.total - 1);
      const badQuery = await app.inject({ url: '/api/clientes?estado_pago=moroso', headers: auth });
      expect(badQuery.statusCode).toBe(422);
      const csv = await app.inject({ url: '/api/clientes/exportar', headers: auth });
      expect(csv.headers['content-type']).toContain('text/csv');
      const rows = csv.body.trim().split('\r\n');
      expect(rows).toHaveLength(all.total + 1);
      const re = await app.inject({
        method: 'POST',
        url: '/api/clientes/importar',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: csv.body,
      });
      expect(re.json()).toMatchObject({ creados: 0, actualizados: all.total, errores: [] });
    });
  });

  it('processing without a dispatcher (no Telegram) answers 503 with a clear message, never a pretend success', async () => {
    // The engine's own tests (test/notifications) cover the endpoint with a dispatcher.
    const res = await app.inject({ method: 'POST', url: '/api/notificaciones/procesar/', headers: auth });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('DESPACHADOR_NO_DISPONIBLE');
  });
});
