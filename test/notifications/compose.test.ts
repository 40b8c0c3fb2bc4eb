import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import {
  type ComposeClient,
  compose,
  composeRow,
  gsm7Length,
  type Notice,
  toGsm7,
} from '../../src/notifications/compose.js';
import { createEngineMetrics, type Dispatcher } from '../../src/notifications/index.js';
import { defaultTemplates, loadTemplates, type TemplateSet } from '../../src/notifications/templates.js';
import type { NotificationType } from '../../src/notifications/types.js';
import { parseHtml } from '../../src/telegram/html.js';
import type { Standin } from '../../src/telegram/standin/index.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import {
  createPlan,
  nextChatId,
  seedClients,
  settingsFor,
  silent,
  startTestStandin,
  T0,
  testDispatcher,
} from './support.js';

const defaults: TemplateSet = { resolve: (tipo) => defaultTemplates[tipo] };
const withContact = settingsFor({ EMPRESA_NOMBRE: 'TelTec', EMPRESA_TELEFONO: '022345678' });
const noContact = settingsFor({ EMPRESA_NOMBRE: 'TelTec' });
const today = '2026-03-10';

const ana: ComposeClient = {
  nombre: 'Ana Pérez',
  plan_id: null,
  plan: 'Hogar 50',
  precio: 25.5,
  velocidad: 50,
  vencimiento: '2026-03-12',
  monto_adeudado: 25.5,
};

function telegram(notice: Notice, client: ComposeClient, settings = withContact, templates = defaults) {
  const r = compose(notice, client, { templates, today, settings });
  if (!r.ok || r.channel !== 'telegram') throw new Error(`expected a Telegram text: ${JSON.stringify(r)}`);
  return r.text;
}

describe('compose: never an empty placeholder', () => {
  it('a reminder reads whole for a complete client', () => {
    const text = telegram({ tipo: 'recordatorio_pago' }, ana);
    expect(text).toContain('Hola Ana Pérez 👋');
    expect(text).toContain('<b>Hogar 50</b> por <b>$25,50</b> vence el 12/03/2026 (en 2 días).');
    expect(text).toContain('Contacto: 📞 022345678');
  });

  it('a client without plan: the payment notice is refused with a stable motivo, never "su plan  por"', () => {
    for (const tipo of ['recordatorio_pago', 'pago_vencido'] as const) {
      const r = compose(
        { tipo },
        { ...ana, plan: null, precio: null, velocidad: null, monto_adeudado: null },
        { templates: defaults, today, settings: withContact },
      );
      expect(r).toMatchObject({ ok: false, motivo: 'datos_incompletos' });
      if (r.ok) continue;
      expect(r.detalle).toContain('falta el plan del cliente');
      expect(r.faltan).toEqual(expect.arrayContaining(['plan', 'monto']));
    }
  });

  it('a client without due date: refused, saying why', () => {
    const r = compose(
      { tipo: 'recordatorio_pago' },
      { ...ana, vencimiento: null, monto_adeudado: null },
      { templates: defaults, today, settings: withContact },
    );
    expect(r).toMatchObject({ ok: false, motivo: 'datos_incompletos' });
    if (!r.ok) expect(r.detalle).toContain('no tiene pagos registrados ni día de pago');
  });

  it('a client without name: the greeting adapts ("Hola 👋", "Hola.", "Hola:")', () => {
    const nameless = { ...ana, nombre: '' };
    expect(telegram({ tipo: 'recordatorio_pago' }, nameless)).toMatch(/^Hola 👋\n/);
    expect(telegram({ tipo: 'pago_vencido' }, nameless)).toMatch(/^Hola\.\n/);
    expect(telegram({ tipo: 'oferta', texto: '2 meses gratis', plantilla: 'oferta' }, nameless)).toBe(
      '🎉 Hola: 2 meses gratis\n\n— TelTec',
    );
    const welcome = telegram({ tipo: 'bienvenida' }, nameless);
    expect(welcome).toContain('notificaciones de TelTec.');
    expect(welcome).not.toMatch(/, \.|\s{3}/);
  });

  it('company contact unset: no empty contact line in any template', () => {
    for (const tipo of ['recordatorio_pago', 'pago_vencido', 'bienvenida'] as const) {
      const text = telegram({ tipo }, ana, noContact);
      expect(text).not.toContain('Contacto');
      expect(text).not.toMatch(/\n{3}|\n\s*\n\s*\n|<b><\/b>/);
    }
  });

  it('the amount is what is owed (two cycles behind: twice the price), never the single plan price', () => {
    const behind = { ...ana, vencimiento: '2026-02-08', monto_adeudado: 51 };
    const text = telegram({ tipo: 'pago_vencido', ciclo: '2026-02-08' }, behind);
    expect(text).toContain('<b>$51,00</b>');
    expect(text).not.toContain('$25,50');
  });

  it('a row for an unknown {mensaje} (template asks for it, none given) is refused', () => {
    const r = compose({ tipo: 'mantenimiento' }, ana, { templates: defaults, today, settings: withContact });
    expect(r).toMatchObject({ ok: false, motivo: 'datos_incompletos', faltan: ['mensaje'] });
  });

  it('the dispatcher path (composeRow) throws the refusal with its motivo', () => {
    const row = {
      id: 1,
      estado: 'pendiente',
      motivo: null,
      intentos: 1,
      primer_intento: null,
      tipo: 'recordatorio_pago',
      urgente: false,
      mensaje: null,
      datos: {},
      ciclo: '2026-03-12',
      client_id: 1,
      campaign_id: null,
      chat_id: 1,
      nombre: 'Sin Plan',
      plan_id: null,
      plan: null,
      precio: null,
      velocidad: null,
      vencimiento: '2026-03-12',
      campana_mensaje: null,
      campana_plantilla: null,
    } as const;
    expect(() => composeRow(row, defaults, today, withContact)).toThrow(/falta el plan del cliente/);
  });
});

describe('compose: staff text is Telegram HTML', () => {
  it('<b>negrita</b> stays markup; values are escaped; a saved template keeps the typed {mensaje}', () => {
    const client = { ...ana, nombre: 'Ana <script>' };
    expect(telegram({ tipo: 'oferta', texto: '<b>Promo</b> para {nombre}' }, client)).toBe(
      '<b>Promo</b> para Ana &lt;script&gt;',
    );
    const withTemplate = telegram(
      { tipo: 'oferta', texto: '<b>2 meses</b> gratis', plantilla: 'oferta' },
      ana,
    );
    expect(withTemplate).toBe('🎉 Hola Ana Pérez: <b>2 meses</b> gratis\n\n— TelTec');
  });

  it('an unclosed tag is refused with the reason', () => {
    const r = compose({ tipo: 'oferta', texto: '<b>Promo' }, ana, {
      templates: defaults,
      today,
      settings: withContact,
    });
    expect(r).toMatchObject({ ok: false, motivo: 'mensaje_invalido' });
    if (!r.ok) expect(r.detalle).toContain('etiqueta <b> sin cerrar');
  });
});

describe('compose: channels', () => {
  const notice: Notice = { tipo: 'recordatorio_pago' };
  const ctx = { templates: defaults, today, settings: withContact };

  it('plain text: no tags, entities decoded', () => {
    const r = compose(notice, { ...ana, nombre: 'Ana & Luis' }, ctx, 'texto');
    expect(r.ok && r.channel === 'texto').toBe(true);
    if (!r.ok || r.channel !== 'texto') return;
    expect(r.text).toContain('Hola Ana & Luis 👋');
    expect(r.text).toContain('plan Hogar 50 por $25,50 vence el 12/03/2026');
    expect(r.text).not.toMatch(/<\/?b>|&amp;/);
  });

  it('SMS: its own short text (never the Telegram one cut), plain GSM-7, at most 160 characters', () => {
    const r = compose(notice, ana, ctx, 'sms');
    if (!r.ok || r.channel !== 'sms') throw new Error('expected sms');
    expect(r.encoding).toBe('GSM-7');
    expect(r.text).toContain('$25,50 vence el 12/03/2026');
    expect(r.text).not.toContain('👋');
    expect(r.text).toContain('evite la suspension'); // ó reduced: o
    expect(r.length).toBeLessThanOrEqual(160);
    expect(r.segments).toBe(1);
    expect(toGsm7('¿Cumbayá ñ €? 😀')).toBe('Cumbaya n €?');
    expect(gsm7Length('€[')).toBe(4);
    const short = compose({ tipo: 'manual', texto: 'Corte el martes' }, ana, ctx, 'sms');
    expect(short).toMatchObject({ ok: true, segments: 1, length: 15 });
    const long = compose({ tipo: 'manual', texto: 'x'.repeat(161) }, ana, ctx, 'sms');
    expect(long).toMatchObject({ ok: false, motivo: 'mensaje_demasiado_largo' });
  });

  it('E-mail: subject per type, HTML part from the Telegram template, plain part from the same rendering', () => {
    const r = compose(notice, ana, ctx, 'email');
    if (!r.ok || r.channel !== 'email') throw new Error('expected email');
    expect(r.subject).toMatch(/^Recordatorio de pago — /);
    expect(r.html).toContain('<b>Hogar 50</b>');
    expect(r.html).toContain('Hola Ana Pérez 👋<br>');
    expect(r.text).toContain('Hola Ana Pérez 👋\nLe recordamos');
    expect(r.text).not.toContain('<b>');
  });

  it('WhatsApp: the template name and its parameters in order, plain text', () => {
    const r = compose(notice, ana, ctx, 'whatsapp');
    if (!r.ok || r.channel !== 'whatsapp') throw new Error('expected whatsapp');
    expect(r.template).toBe('recordatorio_pago');
    expect(r.parameters.map((p) => p.name)).toEqual([
      'nombre',
      'plan',
      'monto',
      'plazo',
      'contacto',
      'empresa',
    ]);
    expect(r.parameters[2]!.value).toBe('$25,50');
  });
});

// ------------------------------------------------------------------------------------ with the engine

describeEachDb('compose in the engine and the API', (ctx) => {
  let app: App;
  let standin: Standin;
  let dispatcher: Dispatcher;
  const clock = createManualClock(T0); // 2026-03-10 10:00 in Guayaquil

  beforeAll(async () => {
    const t = await startTestStandin();
    standin = t.standin;
    const metrics = createEngineMetrics();
    dispatcher = testDispatcher(ctx.db, t.sender, {
      clock,
      metrics,
      settings: settingsFor({ EMPRESA_NOMBRE: 'TelTec' }),
    });
    app = await buildApi({
      db: ctx.db,
      config: testConfig({ EMPRESA_NOMBRE: 'TelTec' }),
      logger: silent,
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      engine: { dispatcher, metrics },
      isClosing: () => false,
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
  const post = (url: string, payload?: object) => app.inject({ method: 'POST', url, headers: auth, payload });
  const put = (url: string, payload?: object) => app.inject({ method: 'PUT', url, headers: auth, payload });

  async function queue(clientId: number, tipo: NotificationType, extra: { ciclo?: string } = {}) {
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, urgente, dedupe_key, ciclo, proximo_intento)
       VALUES ($1, $2, NULL, true, $3, $4, $5)`,
      [clientId, tipo, `t:${tipo}:${clientId}:${Math.random()}`, extra.ciclo ?? null, new Date(T0)],
    );
  }

  it('a chat linked with the cédula alone gets payment notices without billing data; verified chats get them whole', async () => {
    const plan = await createPlan(ctx.db, 'Hogar 50', 25.5);
    const [unverifiedChat, verifiedChat] = [nextChatId(), nextChatId()];
    const [unverified, verified] = await seedClients(ctx.db, [
      { nombre: 'Sin Verificar', pago: '2026-02-08', chatId: unverifiedChat, planId: plan, verified: false },
      { nombre: 'Verificada', pago: '2026-02-08', chatId: verifiedChat, planId: plan },
    ]);
    await queue(unverified!, 'pago_vencido', { ciclo: '2026-03-10' });
    await queue(verified!, 'pago_vencido', { ciclo: '2026-03-10' });
    await dispatcher.runOnce();
    const [hidden] = standin.sentTo(unverifiedChat);
    const [whole] = standin.sentTo(verifiedChat);
    expect(whole?.text).toContain('Hogar 50');
    expect(whole?.text).toContain('$25,50');
    expect(hidden?.text).toContain('Tiene un pago pendiente');
    expect(hidden?.text).toContain('verifique su número');
    for (const secret of ['Hogar 50', '$25,50', '10/03/2026', 'Sin Verificar'])
      expect(hidden?.text).not.toContain(secret);
  });

  it('a notice for a client without plan fails with motivo datos_incompletos and the reason, nothing sent', async () => {
    const chat = nextChatId();
    const [id] = await seedClients(ctx.db, [{ nombre: 'Sin Plan', pago: '2026-02-10', chatId: chat }]);
    await queue(id!, 'pago_recibido');
    await ctx.db.query(`UPDATE notifications SET datos = '{"fecha": "2026-03-10"}' WHERE client_id = $1`, [
      id,
    ]);
    const report = await dispatcher.runOnce();
    expect(report).toMatchObject({ enviadas: 0, fallidas: 1 });
    expect(standin.sentTo(chat)).toHaveLength(0);
    const { rows } = await ctx.db.query<{ estado: string; motivo: string; ultimo_error: string }>(
      'SELECT estado, motivo, ultimo_error FROM notifications WHERE client_id = $1',
      [id],
    );
    expect(rows[0]).toMatchObject({ estado: 'fallido', motivo: 'datos_incompletos' });
    expect(rows[0]!.ultimo_error).toContain('falta el monto');
  });

  it('every editable template is the one used: edit it, the sent text changes (each type)', async () => {
    const plan = await createPlan(ctx.db, 'Fibra', 30, 100);
    const chat = nextChatId();
    const [id] = await seedClients(ctx.db, [
      { nombre: 'Rosa', pago: '2026-02-10', planId: plan, chatId: chat },
    ]);
    const types = ['recordatorio_pago', 'pago_vencido', 'bienvenida', 'pago_recibido'] as const;
    for (const tipo of types) {
      const saved = await put(`/api/plantillas/${tipo}`, { texto: `EDITADA ${tipo}: {nombre} · {monto}` });
      expect(saved.statusCode, saved.body).toBe(200);
    }
    for (const tipo of ['mantenimiento', 'oferta', 'manual'] as const) {
      const saved = await put(`/api/plantillas/${tipo}`, { texto: `EDITADA ${tipo}: {nombre} — {mensaje}` });
      expect(saved.statusCode, saved.body).toBe(200);
    }
    // The bot's welcome: queued without text, composed from the template when sent.
    await queue(id!, 'bienvenida');
    await queue(id!, 'recordatorio_pago', { ciclo: '2026-03-12' });
    await ctx.db.query(
      `INSERT INTO notifications (client_id, tipo, urgente, dedupe_key, datos, proximo_intento)
       VALUES ($1, 'pago_recibido', true, 'pr:1', '{"monto": 30, "fecha": "2026-03-10"}', $2)`,
      [id, new Date(T0)],
    );
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    for (const tipo of ['mantenimiento', 'oferta', 'manual'] as const) {
      const res = await post('/api/notificaciones/masiva/', {
        tipo,
        plantilla: tipo,
        mensaje: `<i>texto ${tipo}</i>`,
        filtros: {},
        urgente: true,
      });
      expect(res.statusCode, res.body).toBe(201);
      await dispatcher.runOnce();
    }
    const texts = standin.sentTo(chat).map((m) => m.text);
    expect(texts).toContain('EDITADA bienvenida: Rosa · $30,00');
    expect(texts).toContain('EDITADA recordatorio_pago: Rosa · $30,00');
    expect(texts).toContain('EDITADA pago_recibido: Rosa · $30,00');
    for (const tipo of ['mantenimiento', 'oferta', 'manual'] as const) {
      expect(texts).toContain(`EDITADA ${tipo}: Rosa — <i>texto ${tipo}</i>`);
    }
  });

  it('campaign text is Telegram HTML: bold arrives as bold; an unclosed tag is a 422 with the reason', async () => {
    const chat = nextChatId();
    await seedClients(ctx.db, [{ nombre: 'Ana', chatId: chat }]);
    const bad = await post('/api/notificaciones/masiva/', {
      tipo: 'oferta',
      mensaje: 'Promo <b>especial',
      filtros: {},
      urgente: true,
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.code).toBe('MENSAJE_INVALIDO');
    expect(bad.json().error.mensaje).toContain('etiqueta <b> sin cerrar');
    expect(await ctx.db.query('SELECT 1 FROM campaigns')).toMatchObject({ rows: [] });

    const ok = await post('/api/notificaciones/masiva/', {
      tipo: 'oferta',
      mensaje: 'Hola {nombre}: <b>negrita</b>',
      filtros: {},
      urgente: true,
    });
    expect(ok.statusCode, ok.body).toBe(201);
    await dispatcher.runOnce();
    const sent = standin.sentTo(chat).at(-1)!;
    expect(sent.parse_mode).toBe('HTML');
    expect(sent.text).toBe('Hola Ana: <b>negrita</b>');
    expect(parseHtml(sent.text).entities).toEqual([expect.objectContaining({ type: 'bold' })]);

    // The detail shows the text as sent, not its source.
    const detail = await app.inject({ url: `/api/campanas/${ok.json().campana.id}`, headers: auth });
    expect(detail.json().muestra[0]).toMatchObject({ nombre: 'Ana', texto: 'Hola Ana: <b>negrita</b>' });
  });

  it('"usar la plantilla guardada" keeps the typed {mensaje}; without a text it is refused', async () => {
    await seedClients(ctx.db, [{ nombre: 'Ana', chatId: nextChatId() }]);
    const preview = await post('/api/notificaciones/masiva/', {
      tipo: 'mantenimiento',
      plantilla: 'mantenimiento',
      mensaje: 'corte el <b>martes</b>',
      filtros: {},
      urgente: false,
      vista_previa: true,
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().muestra[0].texto).toContain('Hola Ana: corte el <b>martes</b>');
    const empty = await post('/api/notificaciones/masiva/', {
      tipo: 'mantenimiento',
      plantilla: 'mantenimiento',
      filtros: {},
      urgente: false,
      vista_previa: true,
    });
    expect(empty.statusCode).toBe(422);
    expect(empty.json().error.code).toBe('DATOS_INCOMPLETOS');
  });

  it('the preview shows as many examples as it says, all rendered', async () => {
    await seedClients(
      ctx.db,
      [1, 2, 3, 4].map((n) => ({ nombre: `Cliente ${n}`, chatId: nextChatId() })),
    );
    const res = await post('/api/notificaciones/masiva/', {
      tipo: 'oferta',
      mensaje: 'Hola {nombre}',
      filtros: {},
      urgente: false,
      vista_previa: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.audiencia).toBe(4);
    expect(body.muestra).toHaveLength(3);
    expect(body.muestra.map((m: { texto: string }) => m.texto)).toEqual([
      'Hola Cliente 1',
      'Hola Cliente 2',
      'Hola Cliente 3',
    ]);
  });

  it('template preview: the client is chosen by search, and a missing datum says why', async () => {
    const plan = await createPlan(ctx.db, 'Fibra', 30, 100);
    await seedClients(
      ctx.db,
      Array.from({ length: 35 }, (_, i) => ({ nombre: `Relleno ${i}`, planId: plan, pago: '2026-03-01' })),
    );
    await seedClients(ctx.db, [{ nombre: 'Zoila Última', planId: plan, pago: '2026-02-12' }]);
    await seedClients(ctx.db, [{ nombre: 'Zacarías Sinplan', pago: '2026-02-12' }]);
    const found = await post('/api/plantillas/recordatorio_pago/vista-previa', { buscar: 'zoila' });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json().cliente.nombre).toBe('Zoila Última');
    expect(found.json().texto).toContain('Hola Zoila Última');
    expect(found.json().texto).toContain('vence el 14/03/2026 (en 4 días)');
    const missing = await post('/api/plantillas/recordatorio_pago/vista-previa', { buscar: 'Sinplan' });
    expect(missing.json()).toMatchObject({ texto: '', motivo: expect.stringContaining('datos_incompletos') });
    const none = await post('/api/plantillas/recordatorio_pago/vista-previa', { buscar: 'nadie así' });
    expect(none.statusCode).toBe(404);
  });

  it('a manual send with a variable the client lacks is refused (422), nothing queued', async () => {
    const [id] = await seedClients(ctx.db, [{ nombre: 'Ana', chatId: nextChatId() }]);
    const res = await post('/api/notificaciones/create/', {
      cliente_id: id,
      tipo: 'manual',
      mensaje: 'Su plan {plan} cambia',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('DATOS_INCOMPLETOS');
    const ok = await post('/api/notificaciones/create/', {
      cliente_id: id,
      tipo: 'manual',
      mensaje: 'Hola {nombre} <3',
    });
    expect(ok.statusCode, ok.body).toBe(201);
    const { rows } = await ctx.db.query<{ mensaje: string }>('SELECT mensaje FROM notifications');
    expect(rows.map((r) => r.mensaje)).toEqual(['Hola Ana <3']);
  });

  it('the amount is what is owed: two cycles behind says twice the price, in the notice and the preview', async () => {
    const plan = await createPlan(ctx.db, 'Fibra', 30, 100);
    const chat = nextChatId();
    // Last payment 2026-01-09: due 2026-02-08 and again 2026-03-10 (today): two cycles unpaid.
    const [id] = await seedClients(ctx.db, [
      { nombre: 'Atrasado', pago: '2026-01-09', planId: plan, chatId: chat },
    ]);
    const generated = await post('/api/notificaciones/generar-automaticas/');
    expect(generated.statusCode, generated.body).toBe(200);
    await dispatcher.runOnce();
    const sent = standin.sentTo(chat);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]!.text).toContain('<b>$60,00</b>');
    expect(sent[0]!.text).not.toContain('$30,00');
    const preview = await post('/api/plantillas/pago_vencido/vista-previa', { cliente_id: id });
    expect(preview.json().texto).toContain('<b>$60,00</b>');
  });

  it('the templates the dispatcher loads are the stored ones', async () => {
    await put('/api/plantillas/bienvenida', { texto: 'Hola {nombre}' });
    const set = await loadTemplates(ctx.db);
    expect(set.resolve('bienvenida', null)).toBe('Hola {nombre}');
  });
});
