import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import { createEngineMetrics, type Dispatcher } from '../../src/notifications/index.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { notificationTypes } from '../../src/vocabulary.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import {
  createPlan,
  nextChatId,
  seedClients,
  silent,
  startTestStandin,
  T0,
  testDispatcher,
} from './support.js';

describeEachDb('engine API', (ctx) => {
  let app: App;
  let standin: Standin;
  let dispatcher: Dispatcher;
  let closing = false;
  const clock = createManualClock(T0);

  beforeAll(async () => {
    const t = await startTestStandin();
    standin = t.standin;
    const metrics = createEngineMetrics();
    dispatcher = testDispatcher(ctx.db, t.sender, { clock, metrics });
    app = await buildApi({
      db: ctx.db,
      config: testConfig({ EMPRESA_NOMBRE: 'TelTec', EMPRESA_TELEFONO: '022000000' }),
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      engine: { dispatcher, metrics },
      isClosing: () => closing,
    });
    await app.ready();
  });
  afterAll(async () => {
    await dispatcher.stop({ drainMs: 2000 });
    await app.close();
    await standin.close();
  });
  beforeEach(async () => {
    standin.reset();
    clock.set(T0);
    await ctx.db.exec(
      'TRUNCATE notifications, campaigns, clients, plans, templates, idempotency_keys, payments RESTART IDENTITY CASCADE',
    );
  });

  const post = (url: string, payload?: object, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload });
  const get = (url: string) => app.inject({ method: 'GET', url, headers: auth });

  it('generates payment notices on demand, idempotently, and lists who needs a phone call', async () => {
    await seedClients(ctx.db, [
      { chatId: nextChatId(), pago: '2026-02-13' },
      { chatId: nextChatId(), pago: '2026-01-30' },
      { chatId: null, pago: '2026-01-30', nombre: 'Llamar a Zoila', telefono: '0991234567' },
    ]);
    const first = await post('/api/notificaciones/generar-automaticas/');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({
      fecha: '2026-03-10',
      // The overdue client (due 03-01) is suspended on 03-11 (SUSPENSION_DAYS 10): its
      // pre-suspension notice is due from 03-08 (issue 13 §6).
      total_creadas: 3,
      por_tipo: {
        recordatorio_pago: { creadas: 1, ya_notificadas: 0, sin_canal: 0 },
        pago_vencido: { creadas: 1, ya_notificadas: 0, sin_canal: 1 },
        aviso_suspension: { creadas: 1 },
      },
    });
    const again = await post('/api/notificaciones/generar-automaticas');
    expect(again.json()).toMatchObject({
      total_creadas: 0,
      por_tipo: { pago_vencido: { ya_notificadas: 1 } },
    });
    const calls = await get('/api/notificaciones/sin-telegram/');
    expect(calls.json()).toMatchObject({
      total: 1,
      clientes: [
        { nombre: 'Llamar a Zoila', telefono: '0991234567', estado_pago: 'vencido', motivo: 'sin_telegram' },
      ],
    });
  });

  it('processes one pass on demand and answers what happened', async () => {
    const chat = nextChatId();
    const plan = await createPlan(ctx.db, 'Hogar');
    await seedClients(ctx.db, [{ chatId: chat, pago: '2026-02-13', planId: plan }]);
    await post('/api/notificaciones/generar-automaticas/');
    const res = await post('/api/notificaciones/procesar/');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ reclamadas: 1, enviadas: 1, fallidas: 0, en_ventana: true });
    expect(standin.sentTo(chat)).toHaveLength(1);
  });

  it('creates one manual notification; refuses unknown, unreachable clients and texts too long', async () => {
    const chat = nextChatId();
    const [id, unlinked] = await seedClients(ctx.db, [{ chatId: chat, nombre: 'Ana' }, { chatId: null }]);
    const res = await post('/api/notificaciones/create/', {
      cliente_id: id,
      tipo: 'manual',
      mensaje: 'Hola {nombre}, <su equipo> está listo.',
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      cliente_id: id,
      tipo: 'manual',
      estado: 'pendiente',
      mensaje: 'Hola Ana, <su equipo> está listo.',
    });
    await post('/api/notificaciones/procesar/');
    expect(standin.sentTo(chat).map((m) => m.text)).toEqual(['Hola Ana, <su equipo> está listo.']);

    expect(
      (await post('/api/notificaciones/create/', { cliente_id: 999, mensaje: 'x' })).json().error.code,
    ).toBe('NO_ENCONTRADO');
    const noTelegram = await post('/api/notificaciones/create/', { cliente_id: unlinked, mensaje: 'x' });
    expect(noTelegram.statusCode).toBe(422);
    expect(noTelegram.json().error.code).toBe('CLIENTE_SIN_TELEGRAM');
    const long = await post('/api/notificaciones/create/', { cliente_id: id, mensaje: 'x'.repeat(5000) });
    expect(long.statusCode).toBe(422);
    expect(long.json().error).toMatchObject({
      code: 'MENSAJE_DEMASIADO_LARGO',
      detalles: { longitud: 5000, maximo: 4096 },
    });
    const empty = await post('/api/notificaciones/create/', { cliente_id: id, mensaje: '   ' });
    expect(empty.statusCode).toBe(422);
  });

  it('a mass send: preview without sending, then one campaign per Idempotency-Key, progress and cancel', async () => {
    const hogar = await createPlan(ctx.db, 'Hogar', 20);
    const pyme = await createPlan(ctx.db, 'Pyme', 60);
    await seedClients(ctx.db, [
      { chatId: nextChatId(), planId: hogar, sector: 'Norte', nombre: 'A1' },
      { chatId: nextChatId(), planId: hogar, sector: 'norte', nombre: 'A2' },
      { chatId: nextChatId(), planId: hogar, sector: 'Norte', prefOfertas: false },
      { chatId: null, planId: hogar, sector: 'Norte' },
      { chatId: nextChatId(), planId: hogar, sector: 'Norte', blocked: true },
      { chatId: nextChatId(), planId: pyme, sector: 'Norte' },
      { chatId: nextChatId(), planId: hogar, sector: 'Sur' },
    ]);
    const body = {
      tipo: 'oferta',
      mensaje: 'Hola {nombre}: 50% en {plan} este mes.',
      filtros: { plan: 'hogar', sector: 'NORTE' },
    };
    const preview = await post('/api/notificaciones/masiva/', { ...body, vista_previa: true });
    expect(preview.statusCode).toBe(200);
    expect(preview.json()).toMatchObject({
      vista_previa: true,
      audiencia: 2,
      excluidos: { sin_telegram: 1, bloqueados: 1, por_preferencia: 1 },
      muestra: [{ nombre: 'A1', texto: 'Hola A1: 50% en Hogar este mes.' }, { nombre: 'A2' }],
    });
    expect((await get('/api/campanas')).json().total).toBe(0);

    const key = { 'idempotency-key': 'doble-clic-1' };
    const [a, b] = await Promise.all([
      post('/api/notificaciones/masiva/', body, key),
      post('/api/notificaciones/masiva/', body, key),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().campana.id).toBe(b.json().campana.id);
    const replay = await post('/api/notificaciones/masiva/', body, key);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(a.json());
    const campaigns = (await get('/api/campanas')).json();
    expect(campaigns.total).toBe(1);
    const id = a.json().campana.id;
    expect(a.json().campana).toMatchObject({
      tipo: 'oferta',
      total: 2,
      estado: 'en_curso',
      progreso: { pendientes: 2, enviadas: 0 },
      excluidos: { sin_telegram: 1, bloqueados: 1, por_preferencia: 1 },
    });
    const other = await post('/api/notificaciones/masiva/', { ...body, mensaje: 'otro' }, key);
    expect(other.statusCode).toBe(422);
    expect(other.json().error.code).toBe('IDEMPOTENCIA_CONFLICTO');

    await post('/api/notificaciones/procesar/');
    expect(standin.sent.map((m) => m.text).sort()).toEqual([
      'Hola A1: 50% en Hogar este mes.',
      'Hola A2: 50% en Hogar este mes.',
    ]);
    const done = (await get(`/api/campanas/${id}`)).json();
    expect(done).toMatchObject({ estado: 'completada', progreso: { pendientes: 0, enviadas: 2 } });
    expect((await post(`/api/campanas/${id}/cancelar`)).json().error.code).toBe('CAMPANA_FINALIZADA');
    const listed = (await get(`/api/notificaciones/?campana_id=${id}`)).json();
    expect(listed.total).toBe(2);
  });

  it('cancels a running campaign; maintenance targets a sector through its template', async () => {
    await seedClients(ctx.db, [
      { chatId: nextChatId(), sector: 'Centro', nombre: 'C1' },
      { chatId: nextChatId(), sector: 'Centro', nombre: 'C2', prefMantenimiento: false },
      { chatId: nextChatId(), sector: 'Valle', nombre: 'V1' },
    ]);
    const res = await post('/api/notificaciones/masiva/', {
      tipo: 'mantenimiento',
      plantilla: 'mantenimiento',
      mensaje: 'el jueves de 02:00 a 04:00 no habrá servicio.',
      filtros: { sector: 'centro' },
      urgente: true,
    });
    expect(res.statusCode).toBe(201);
    const { id, total } = res.json().campana;
    expect(total).toBe(1);
    const cancelled = await post(`/api/campanas/${id}/cancelar`);
    expect(cancelled.json()).toMatchObject({
      estado: 'cancelada',
      progreso: { canceladas: 1, pendientes: 0 },
    });
    await post('/api/notificaciones/procesar/');
    expect(standin.sent).toHaveLength(0);

    const again = await post('/api/notificaciones/masiva/', {
      tipo: 'mantenimiento',
      plantilla: 'mantenimiento',
      mensaje: 'corte &lt;programado&gt;', // staff text is Telegram HTML
      filtros: { sector: 'centro' },
      urgente: true,
    });
    expect(again.statusCode).toBe(201);
    await post('/api/notificaciones/procesar/');
    expect(standin.sent.map((m) => m.text)).toEqual([
      '🔧 <b>Aviso de mantenimiento</b>\nHola C1: corte &lt;programado&gt;\n\n— TelTec',
    ]);
    const nobody = await post('/api/notificaciones/masiva/', { mensaje: 'x', filtros: { sector: 'Marte' } });
    expect(nobody.statusCode).toBe(422);
    expect(nobody.json().error.code).toBe('AUDIENCIA_VACIA');
    const neither = await post('/api/notificaciones/masiva/', { filtros: {} });
    expect(neither.statusCode).toBe(422);
  });

  it('lists and filters notifications; retries a failed one and cancels a pending one', async () => {
    const chats = [nextChatId(), nextChatId()];
    const [a, b] = await seedClients(ctx.db, [{ chatId: chats[0] }, { chatId: chats[1] }]);
    await post('/api/notificaciones/create/', { cliente_id: a, mensaje: 'uno' });
    await post('/api/notificaciones/create/', { cliente_id: b, mensaje: 'dos' });
    await post('/api/notificaciones/create/', { cliente_id: b, mensaje: 'tres', tipo: 'oferta' });
    standin.unknownChats.add(chats[0]!);
    const cancelled = await post('/api/notificaciones/3/cancelar');
    expect(cancelled.json()).toMatchObject({ estado: 'cancelado', motivo: 'cancelada_por_usuario' });
    await post('/api/notificaciones/procesar/');
    const failed = (await get('/api/notificaciones/?estado=fallido')).json();
    expect(failed).toMatchObject({ total: 1, notificaciones: [{ id: 1, motivo: 'chat_not_found' }] });
    expect((await get(`/api/notificaciones/?cliente_id=${b}&tipo=manual`)).json().total).toBe(1);
    expect((await get('/api/notificaciones/?desde=2026-03-10&hasta=2026-03-10')).json().total).toBe(3);
    expect((await get('/api/notificaciones/?desde=2026-03-11')).json().total).toBe(0);
    expect((await get('/api/notificaciones/?motivo=chat_not_found')).json().total).toBe(1);
    // A page past the end still says how many there are (the count is not read off the page's rows).
    expect((await get('/api/notificaciones/?pagina=9&por_pagina=1')).json()).toEqual({
      notificaciones: [],
      total: 3,
    });
    const second = (await get('/api/notificaciones/?pagina=2&por_pagina=2')).json();
    expect(second).toMatchObject({ total: 3, notificaciones: [{ id: 1 }] });
    const sent = (await get('/api/notificaciones/2')).json();
    expect(sent).toMatchObject({ estado: 'enviado', telegram_message_id: expect.any(Number) });
    expect(sent.enviado_en).toBe(new Date(T0).toISOString());

    expect((await post('/api/notificaciones/2/reintentar')).json().error.code).toBe('NOTIFICACION_ESTADO');
    expect((await post('/api/notificaciones/2/cancelar')).statusCode).toBe(409);
    // The chat exists again (relinked): the failed notice is retried and goes out.
    standin.unknownChats.delete(chats[0]!);
    await ctx.db.query('UPDATE clients SET telegram_unreachable = NULL WHERE id = $1', [a]);
    const retried = await post('/api/notificaciones/1/reintentar');
    expect(retried.json()).toMatchObject({ estado: 'pendiente', intentos: 0, motivo: null });
    await post('/api/notificaciones/procesar/');
    expect(standin.sentTo(chats[0]!).map((m) => m.text)).toEqual(['uno']);
    expect((await get('/api/notificaciones/99')).statusCode).toBe(404);
  });

  it('statistics: by state, type and day, delivery rate and failures by reason', async () => {
    const chats = [nextChatId(), nextChatId(), nextChatId()];
    const ids = await seedClients(
      ctx.db,
      chats.map((chatId) => ({ chatId })),
    );
    for (const id of ids) await post('/api/notificaciones/create/', { cliente_id: id, mensaje: 'hola' });
    await standin.user({ chatId: chats[2]! }).block();
    await post('/api/notificaciones/procesar/');
    const res = await get('/api/notificaciones/estadisticas/?dias=7');
    expect(res.statusCode).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({
      total_clientes: 3,
      con_telegram: 3,
      notificaciones: { enviadas: 2, fallidas: 1, pendientes: 0, canceladas: 0 },
      por_tipo: { manual: { enviadas: 2, fallidas: 1 } },
      tasa_entrega: 66.67,
      fallos_por_motivo: [{ motivo: 'blocked', total: 1 }],
      desde: '2026-03-04',
      hasta: '2026-03-10',
    });
    expect(s.por_dia).toHaveLength(7);
    expect(s.por_dia.at(-1)).toEqual({ fecha: '2026-03-10', creadas: 3, enviadas: 2, fallidas: 1 });
    // The totals by state cover every type: an offer waiting and one cancelled count there too.
    await post('/api/notificaciones/create/', { cliente_id: ids[0], mensaje: 'oferta', tipo: 'oferta' });
    const offer = (
      await post('/api/notificaciones/create/', { cliente_id: ids[1], mensaje: 'otra', tipo: 'oferta' })
    ).json();
    await post(`/api/notificaciones/${offer.id}/cancelar`);
    const again = (await get('/api/notificaciones/estadisticas/?dias=7')).json();
    expect(again.por_tipo.oferta).toEqual({ pendientes: 1, enviadas: 0, fallidas: 0, canceladas: 1 });
    expect(again.notificaciones).toEqual({ enviadas: 2, fallidas: 1, pendientes: 1, canceladas: 1 });
  });

  it('templates: read, edit per type and per plan, refuse bad ones, preview with a real client', async () => {
    const plan = await createPlan(ctx.db, 'Fibra 100', 30);
    const chats = [nextChatId(), nextChatId()];
    const [withPlan] = await seedClients(ctx.db, [
      { chatId: chats[0], planId: plan, nombre: 'Rosa <R>', pago: '2026-02-13' },
      { chatId: chats[1], pago: '2026-02-13' },
    ]);
    const list = (await get('/api/plantillas')).json();
    expect(list.plantillas).toHaveLength(notificationTypes.values.length);
    expect(list.variables).toHaveProperty('fecha_vencimiento');
    expect(list.plantillas.every((t: { predeterminada: boolean }) => t.predeterminada)).toBe(true);

    const bad = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/recordatorio_pago',
      headers: auth,
      payload: { texto: 'Hola {apellido} <b>' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('PLANTILLA_INVALIDA');
    expect(bad.json().error.detalles).toEqual([
      'variable desconocida {apellido}',
      'etiqueta <b> sin cerrar: falta </b>',
    ]);

    const general = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/recordatorio_pago',
      headers: auth,
      payload: { texto: 'General: {nombre} paga {monto} hasta {fecha_vencimiento}' },
    });
    expect(general.statusCode).toBe(200);
    const perPlan = await app.inject({
      method: 'PUT',
      url: '/api/plantillas/recordatorio_pago',
      headers: auth,
      payload: { texto: '<b>Fibra</b>: {nombre}, {dias} días', plan_id: plan },
    });
    expect(perPlan.json()).toMatchObject({ plan_id: plan, predeterminada: false });

    const preview = await post('/api/plantillas/recordatorio_pago/vista-previa', { cliente_id: withPlan });
    expect(preview.json()).toMatchObject({
      texto: '<b>Fibra</b>: Rosa &lt;R&gt;, 5 días',
      longitud: 23,
      limite: 4096,
      dentro_del_limite: true,
    });
    const draft = await post('/api/plantillas/recordatorio_pago/vista-previa', {
      cliente_id: withPlan,
      texto: '{nombre} · {plan} · {monto} · {empresa}',
    });
    expect(draft.json().texto).toBe('Rosa &lt;R&gt; · Fibra 100 · $30,00 · TelTec');

    await post('/api/notificaciones/generar-automaticas/');
    await post('/api/notificaciones/procesar/');
    expect(standin.sentTo(chats[0]!)[0]!.text).toBe('<b>Fibra</b>: Rosa &lt;R&gt;, 5 días');
    // No plan, so no amount: never "paga  hasta" — the notice fails with the reason for staff.
    expect(standin.sentTo(chats[1]!)).toHaveLength(0);
    const held = await ctx.db.query<{ estado: string; motivo: string }>(
      `SELECT estado, motivo FROM notifications WHERE tipo = 'recordatorio_pago' AND client_id <> $1`,
      [withPlan],
    );
    expect(held.rows).toEqual([{ estado: 'fallido', motivo: 'datos_incompletos' }]);

    const reset = await app.inject({
      method: 'DELETE',
      url: `/api/plantillas/recordatorio_pago?plan_id=${plan}`,
      headers: auth,
    });
    expect(reset.statusCode).toBe(204);
    const one = (await get('/api/plantillas/recordatorio_pago')).json();
    expect(one.plantillas).toHaveLength(1);
    expect(one.plantillas[0].texto).toContain('General');
  });

  it('recording a payment cancels that cycle’s pending notices and queues the confirmation', async () => {
    const plan = await createPlan(ctx.db, 'Hogar', 25);
    const chat = nextChatId();
    const [id] = await seedClients(ctx.db, [
      { chatId: chat, pago: '2026-02-13', planId: plan, nombre: 'Ana' },
    ]);
    await post('/api/notificaciones/generar-automaticas/');
    const pay = await post(`/api/clientes/${id}/pagos`, { monto: 25, fecha: '2026-03-10' });
    expect(pay.statusCode).toBe(201);
    const rows = (await get(`/api/notificaciones/?cliente_id=${id}`)).json().notificaciones;
    expect(
      rows.map((r: { tipo: string; estado: string; motivo: string }) => [r.tipo, r.estado, r.motivo]),
    ).toEqual([
      ['pago_recibido', 'pendiente', null],
      ['recordatorio_pago', 'cancelado', 'pago_recibido'],
    ]);
    await post('/api/notificaciones/procesar/');
    expect(standin.sentTo(chat).map((m) => m.text)).toEqual([
      '✅ Hola Ana, recibimos su pago de <b>$25,00</b> del 10/03/2026. ¡Gracias!\n' +
        'Su próximo vencimiento es el <b>09/04/2026</b>.\n— TelTec',
    ]);
  });

  it('serves Prometheus metrics behind the admin token', async () => {
    await seedClients(ctx.db, [{ chatId: nextChatId() }]);
    await post('/api/notificaciones/create/', { cliente_id: 1, mensaje: 'hola' });
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
    const before = await get('/metrics');
    expect(before.headers['content-type']).toContain('text/plain');
    expect(before.body).toContain('teltec_outbox_pending{cuando="vencidas"} 1');
    await post('/api/notificaciones/procesar/');
    const after = (await get('/metrics')).body;
    expect(after).toContain('teltec_notifications_sent_total{tipo="manual"}');
    expect(after).toContain('teltec_outbox_pending{cuando="vencidas"} 0');
    expect(after).toContain('teltec_telegram_call_seconds_bucket');
    expect(after).toContain('teltec_outbox_oldest_due_age_seconds 0');
  });

  it('answers 503 while the service is closing', async () => {
    closing = true;
    try {
      const res = await get('/api/notificaciones/');
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('SERVICIO_DETENIENDOSE');
    } finally {
      closing = false;
    }
  });
});
