import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidCedula } from '../../src/clients/cedula.js';
import { createClientsRepository } from '../../src/clients/index.js';
import { createManualClock } from '../../src/clock.js';
import { buildApi } from '../../src/http/app.js';
import type { App } from '../../src/http/types.js';
import {
  buildDemoClients,
  DEMO_CHAT_ID_BASE,
  type Sandbox,
  seedDemoData,
  seedDemoOnStart,
  startSandbox,
  toConversation,
} from '../../src/sandbox/index.js';
import type { SentMessage } from '../../src/telegram/standin/index.js';
import { auth, TEST_ADMIN_TOKEN, testConfig } from '../support/app.js';
import { createTestDb, describeEachDb } from '../support/db.js';

const silent = pino({ level: 'silent' });

describe('sandbox mode start', () => {
  it('is never active with a real bot token', async () => {
    const config = testConfig({ TELEGRAM_BOT_TOKEN: '123456789:AAE-real-looking-token_xyz' });
    expect(await startSandbox(config, silent)).toBeNull();
  });

  it('keeps real WhatsApp settings: no WhatsApp stand-in then', async () => {
    const config = testConfig({
      WHATSAPP_TOKEN: `EAAB${'x'.repeat(30)}`,
      WHATSAPP_PHONE_NUMBER_ID: '1234567',
    });
    const sandbox = await startSandbox(config, silent);
    try {
      expect(sandbox?.whatsapp).toBeUndefined();
      expect(sandbox?.config.whatsapp.apiRoot).toBe('https://graph.facebook.com');
    } finally {
      await sandbox?.close();
    }
  });

  it('without a token, starts the stand-in on 127.0.0.1 and points the config at it (polling, no PUBLIC_URL)', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
    const config = testConfig({ PUBLIC_URL: 'https://ejemplo.ec' });
    const sandbox = await startSandbox(config, logger);
    try {
      expect(sandbox).not.toBeNull();
      const s = sandbox!;
      expect(s.config.telegram.apiRoot).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(s.config.telegram.token).toBe(s.standin.token);
      expect(s.config.telegram.publicUrl).toBeUndefined();
      expect(config.telegram.token).toBeUndefined(); // the given config is not changed
      // It answers as a Bot API with its token, and the token never reaches the log.
      const me = await (await fetch(`${s.standin.url}/bot${s.standin.token}/getMe`)).json();
      expect(me.result.username).toBe(s.bot.username);
      expect(lines.join('')).toContain('MODO SANDBOX');
      expect(lines.join('')).not.toContain(s.standin.token);
      // WhatsApp is simulated too (issue 10): the config points at the Cloud API stand-in.
      expect(s.whatsapp).toBeDefined();
      expect(s.config.whatsapp).toMatchObject({
        apiRoot: s.whatsapp!.url,
        token: s.whatsapp!.token,
        phoneNumberId: s.whatsapp!.phoneNumberId,
        appSecret: s.whatsapp!.appSecret,
      });
      expect(lines.join('')).not.toContain(s.whatsapp!.token);
    } finally {
      await sandbox?.close();
    }
  });
});

describe('demo clients', () => {
  const today = '2026-03-10';
  const clients = buildDemoClients(today, { link: true });

  it('80 clients, valid and distinct cédulas, every payment state and some fixed billing days', () => {
    expect(clients).toHaveLength(80);
    expect(clients.every((c) => isValidCedula(c.cedula))).toBe(true);
    expect(new Set(clients.map((c) => c.cedula)).size).toBe(80);
    expect(new Set(clients.map((c) => c.sector)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(clients.map((c) => c.plan)).size).toBe(4);
    expect(clients.some((c) => c.dia_pago !== null)).toBe(true);
    expect(clients.some((c) => c.fecha_ultimo_pago === null)).toBe(true);
    expect(clients.some((c) => c.telefono === null)).toBe(true);
    expect(clients.filter((c) => c.estado !== 'activo').length).toBeGreaterThan(0);
  });

  it('links only when asked (sandbox), to chat ids no real Telegram user has', () => {
    const linked = clients.filter((c) => c.chat_id !== null);
    expect(linked.length).toBeGreaterThan(15);
    expect(linked.every((c) => c.chat_id! >= DEMO_CHAT_ID_BASE && String(c.chat_id).length === 15)).toBe(
      true,
    );
    expect(buildDemoClients(today, { link: false }).every((c) => c.chat_id === null)).toBe(true);
  });

  it('is the same every time (seeded)', () => {
    expect(buildDemoClients(today, { link: true })).toEqual(clients);
  });
});

describeEachDb('demo data in the database', (ctx) => {
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const billing = () => ({ today: '2026-03-10', cycleDays: 30, reminderDaysBefore: 5 });

  it('seeds an empty database: plans, clients spread over the cycle, two payments each', async () => {
    const r = await seedDemoData(ctx.db, { today: '2026-03-10', link: true });
    expect(r).toEqual({ created: 80 });
    const repo = createClientsRepository(ctx.db, billing);
    const states: Record<string, number> = {};
    for (const estado_pago of ['al_dia', 'por_vencer', 'vencido', 'sin_fecha'] as const) {
      states[estado_pago] = (await repo.list({ estado_pago, pagina: 1, por_pagina: 1 })).total;
    }
    expect(states['al_dia']).toBeGreaterThan(15);
    expect(states['por_vencer']).toBeGreaterThan(5);
    expect(states['vencido']).toBeGreaterThan(15);
    expect(states['sin_fecha']).toBeGreaterThan(0);
    // Reachable clients inside the reminder window and overdue: the first generation has work.
    const reachableDue = await ctx.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM clients WHERE chat_id IS NOT NULL AND estado = 'activo'
          AND teltec_payment_state(teltec_due_date(fecha_ultimo_pago, dia_pago, 30), '2026-03-10', 5)
              IN ('por_vencer', 'vencido')`,
    );
    expect(reachableDue.rows[0]!.n).toBeGreaterThan(5);
    const payments = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payments');
    expect(payments.rows[0]!.n).toBe(2 * (80 - states['sin_fecha']!));
  });

  it('never writes into a database that already has clients', async () => {
    const before = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
    expect(await seedDemoData(ctx.db, { today: '2026-03-10', link: true })).toEqual({
      created: 0,
      skipped: 'hay_clientes',
    });
    const after = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('at start-up: only in sandbox mode or with DEMO=1', async () => {
    const db = await createTestDb(ctx.kind);
    try {
      const off = await seedDemoOnStart({ db, config: testConfig(), clock, logger: silent, sandbox: false });
      expect(off).toBeNull();
      const demo = await seedDemoOnStart({
        db,
        config: testConfig({ DEMO: '1' }),
        clock,
        logger: silent,
        sandbox: false,
      });
      expect(demo).toEqual({ created: 80 });
      // DEMO=1 with a real bot: nobody is linked to a made-up chat.
      const linked = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM clients WHERE chat_id IS NOT NULL',
      );
      expect(linked.rows[0]!.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});

describe('sandbox chat API', () => {
  let sandbox: Sandbox;
  let app: App;
  let plain: App;
  let db: Awaited<ReturnType<typeof createTestDb>>;
  const bot = (method: string, body: object) =>
    fetch(`${sandbox.standin.url}/bot${sandbox.standin.token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((r) => r.json());

  beforeAll(async () => {
    db = await createTestDb('pglite');
    sandbox = (await startSandbox(testConfig(), silent))!;
    const deps = {
      db,
      config: sandbox.config,
      logger: silent,
      clock: createManualClock('2026-03-10T15:00:00Z'),
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
    };
    app = await buildApi({ ...deps, sandbox });
    plain = await buildApi(deps);
  });
  afterAll(async () => {
    await app.close();
    await plain.close();
    await sandbox.close();
    await db.close();
  });

  it('says whether the sandbox is active', async () => {
    expect((await app.inject({ url: '/api/sandbox', headers: auth })).json()).toEqual({
      activo: true,
      bot: sandbox.bot,
      whatsapp: true,
      sms: true,
      correo: true,
    });
    expect((await plain.inject({ url: '/api/sandbox', headers: auth })).json()).toEqual({
      activo: false,
      bot: null,
      whatsapp: false,
      sms: false,
      correo: false,
    });
    const refused = await plain.inject({
      method: 'POST',
      url: '/api/sandbox/chats/800000000000001/mensajes',
      headers: auth,
      payload: { texto: '/start' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.mensaje).toContain('sandbox no está activo');
  });

  it('a typed message reaches the bot as a Telegram update; the bot’s replies, keyboards and edits come back', async () => {
    const chat = 800_000_000_000_002;
    const sent = await app.inject({
      method: 'POST',
      url: `/api/sandbox/chats/${chat}/mensajes`,
      headers: auth,
      payload: { texto: '/start', nombre: 'Ana' },
    });
    expect(sent.statusCode).toBe(200);
    expect(sent.json().mensajes).toMatchObject([{ de: 'cliente', texto: '/start' }]);
    const updates = await bot('getUpdates', { timeout: 0 });
    const msg = updates.result.at(-1).message;
    expect(msg).toMatchObject({ text: '/start', chat: { id: chat }, from: { first_name: 'Ana' } });
    expect(msg.entities).toEqual([{ type: 'bot_command', offset: 0, length: 6 }]);

    // A long poll waits for the bot's reply.
    const version = sent.json().version;
    const waiting = app.inject({
      url: `/api/sandbox/chats/${chat}?version=${version}&esperar=5`,
      headers: auth,
    });
    await new Promise((r) => setTimeout(r, 50));
    await bot('sendMessage', {
      chat_id: chat,
      text: '<b>Hola</b>, envíe su cédula',
      parse_mode: 'HTML',
      reply_markup: {
        keyboard: [[{ text: 'Compartir contacto', request_contact: true }]],
        one_time_keyboard: true,
      },
    });
    const conv = (await waiting).json();
    expect(conv.version).toBe(version + 1);
    expect(conv.mensajes[1]).toMatchObject({ de: 'bot', texto: 'Hola, envíe su cédula' });
    expect(conv.mensajes[1].entidades).toEqual([{ type: 'bold', offset: 0, length: 4 }]);
    expect(conv.teclado).toEqual([[{ texto: 'Compartir contacto', contacto: true }]]);

    const contact = await app.inject({
      method: 'POST',
      url: `/api/sandbox/chats/${chat}/contacto`,
      headers: auth,
      payload: { telefono: '0987654321' },
    });
    expect(contact.json().teclado).toBeNull(); // one-time keyboard used
    const update = (await bot('getUpdates', { timeout: 0, offset: updates.result.at(-1).update_id + 1 }))
      .result[0];
    expect(update.message.contact).toMatchObject({ phone_number: '0987654321', user_id: chat });

    // Inline buttons, a press, and an edit that removes the keyboard.
    const withButtons = await bot('sendMessage', {
      chat_id: chat,
      text: '¿Recibir ofertas?',
      reply_markup: {
        inline_keyboard: [
          [
            { text: 'Sí', callback_data: 'of:1' },
            { text: 'No', callback_data: 'of:0' },
          ],
        ],
      },
    });
    const press = await app.inject({
      method: 'POST',
      url: `/api/sandbox/chats/${chat}/botones`,
      headers: auth,
      payload: { data: 'of:0', message_id: withButtons.result.message_id },
    });
    expect(press.json().mensajes.at(-1)).toMatchObject({ de: 'sistema', texto: 'Tocó el botón «No»' });
    await bot('editMessageText', {
      chat_id: chat,
      message_id: withButtons.result.message_id,
      text: 'Ofertas: no',
    });
    const last = (await app.inject({ url: `/api/sandbox/chats/${chat}`, headers: auth })).json();
    const edited = last.mensajes.find(
      (m: { message_id: number }) => m.message_id === withButtons.result.message_id,
    );
    expect(edited).toMatchObject({ texto: 'Ofertas: no', botones: null, editado: true });
  });

  it('a photo or PDF sent from the page reaches the bot, which can fetch it with getFile (issue 13)', async () => {
    const chat = 800_000_000_000_004;
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const before = (await bot('getUpdates', { timeout: 0 })).result.at(-1)?.update_id ?? 0;
    const sent = await app.inject({
      method: 'POST',
      url: `/api/sandbox/chats/${chat}/archivo`,
      headers: auth,
      payload: { nombre_archivo: 'pago.png', tipo: 'image/png', contenido_base64: png.toString('base64') },
    });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().mensajes.at(-1)).toMatchObject({ de: 'cliente', texto: '📎 pago.png' });
    const pdf = await app.inject({
      method: 'POST',
      url: `/api/sandbox/chats/${chat}/archivo`,
      headers: auth,
      payload: {
        nombre_archivo: 'pago.pdf',
        tipo: 'application/pdf',
        contenido_base64: Buffer.from('%PDF-1.4').toString('base64'),
      },
    });
    expect(pdf.statusCode).toBe(200);
    const updates = (await bot('getUpdates', { timeout: 0, offset: before + 1 })).result;
    const photo = updates
      .find((u: { message?: { photo?: unknown } }) => u.message?.photo)
      .message.photo.at(-1);
    expect(photo.file_size).toBe(png.length);
    const doc = updates.find((u: { message?: { document?: unknown } }) => u.message?.document).message
      .document;
    expect(doc).toMatchObject({ file_name: 'pago.pdf', mime_type: 'application/pdf' });
    const file = await bot('getFile', { file_id: photo.file_id });
    const bytes = Buffer.from(
      await (
        await fetch(`${sandbox.standin.url}/file/bot${sandbox.standin.token}/${file.result.file_path}`)
      ).arrayBuffer(),
    );
    expect(bytes.equals(png)).toBe(true);
    // The download needs the token, like Telegram's.
    expect((await fetch(`${sandbox.standin.url}/file/botWRONG/${file.result.file_path}`)).status).toBe(404);
  });

  it('a long poll ends at once when the server closes', async () => {
    const extra = await buildApi({
      db,
      config: sandbox.config,
      logger: silent,
      clock: createManualClock('2026-03-10T15:00:00Z'),
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      sandbox,
    });
    const url = await extra.listen({ host: '127.0.0.1', port: 0 });
    const poll = fetch(`${url}/api/sandbox/chats/800000000000003?version=0&esperar=20`, {
      headers: auth,
    }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await extra.close();
    await poll;
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('toConversation', () => {
  const m = (id: number, text: string, extra: Partial<SentMessage> = {}): SentMessage => ({
    message_id: id,
    chat_id: 1,
    text,
    parse_mode: undefined,
    reply_markup: undefined,
    date: 1_700_000_000 + id,
    method: 'sendMessage',
    ...extra,
  });

  it('places each action after the bot messages that existed when it happened', () => {
    const conv = toConversation(
      1,
      [m(2, 'a'), m(4, 'b')],
      [
        { kind: 'text', text: '/start', at: 0, afterBot: 0 },
        { kind: 'text', text: 'x', at: 1, afterBot: 1 },
        { kind: 'text', text: 'y', at: 2, afterBot: 2 },
      ],
    );
    expect(conv.mensajes.map((e) => e.texto)).toEqual(['/start', 'a', 'x', 'b', 'y']);
    expect(conv.version).toBe(5);
  });

  it('keeps a reply keyboard until removed; remove_keyboard clears it', () => {
    const kb = { keyboard: [['Sí', 'No']] };
    expect(toConversation(1, [m(1, 'a', { reply_markup: kb })], []).teclado).toEqual([
      [{ texto: 'Sí' }, { texto: 'No' }],
    ]);
    expect(
      toConversation(
        1,
        [m(1, 'a', { reply_markup: kb }), m(2, 'b', { reply_markup: { remove_keyboard: true } })],
        [],
      ).teclado,
    ).toBeNull();
  });

  it('shows broken markup as plain text rather than failing', () => {
    const conv = toConversation(1, [m(1, '<b>sin cerrar', { parse_mode: 'HTML' })], []);
    expect(conv.mensajes[0]!.texto).toBe('<b>sin cerrar');
  });
});
