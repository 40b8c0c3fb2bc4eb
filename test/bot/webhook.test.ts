import fc from 'fast-check';
import type { UserFromGetMe } from 'grammy/types';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptWebhookBody, createBot } from '../../src/bot/index.js';
import { createPgliteDb, migrate } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import { WEBHOOK_PATH } from '../../src/http/routes/telegram.js';
import { TEST_ADMIN_TOKEN, TEST_WEBHOOK_SECRET, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { type BotHarness, breakable, startBotHarness } from './support.js';

const silent = pino({ level: 'silent' });

function helpUpdate(updateId: number, chatId: number, text = '/help') {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: 1_773_000_000,
      chat: { id: chatId, type: 'private', first_name: 'W' },
      from: { id: chatId, is_bot: false, first_name: 'W' },
      text,
      ...(text.startsWith('/') && {
        entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }],
      }),
    },
  };
}

describeEachDb('bot webhook', (ctx) => {
  let h: BotHarness;
  let db: ReturnType<typeof breakable>;
  beforeAll(async () => {
    db = breakable(ctx.db);
    h = await startBotHarness(db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (
    payload: string | Buffer | object,
    opts: { secret?: string | null; type?: string | null } = {},
  ) => {
    const headers: Record<string, string> = {};
    const secret = opts.secret === undefined ? TEST_WEBHOOK_SECRET : opts.secret;
    if (secret !== null) headers['x-telegram-bot-api-secret-token'] = secret;
    const type = opts.type === undefined ? 'application/json' : opts.type;
    if (type !== null) headers['content-type'] = type;
    return h.app.inject({
      method: 'POST',
      url: WEBHOOK_PATH,
      headers,
      payload: typeof payload === 'object' && !Buffer.isBuffer(payload) ? JSON.stringify(payload) : payload,
    });
  };

  it('refuses a missing or wrong secret with 401 and records nothing', async () => {
    for (const secret of [null, '', 'wrong', `${TEST_WEBHOOK_SECRET}x`, TEST_WEBHOOK_SECRET.toUpperCase()]) {
      const res = await post(helpUpdate(1, 1), { secret });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('WEBHOOK_SECRETO_INVALIDO');
    }
    const rows = await ctx.db.query('SELECT 1 FROM bot_updates WHERE bot_id = $1', [h.bot.botId]);
    expect(rows.rows).toHaveLength(0);
  });

  it('answers 200 to bodies that are not updates, and logs them', async () => {
    const bodies: Array<[string | Buffer, string | null]> = [
      ['esto no es JSON', 'application/json'],
      ['', 'application/json'],
      ['[1,2,3]', 'application/json'],
      ['{"hola":1}', 'application/json'],
      ['{"update_id":-5,"message":{}}', 'application/json'],
      ['{"update_id":"7"}', 'application/json'],
      ['{"update_id":1.5}', 'application/json'],
      ['{"update_id":1e300}', 'text/plain'],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'application/octet-stream'],
      ['{"update_id":12}', null],
    ];
    for (const [body, type] of bodies) {
      const res = await post(body, { type });
      expect(res.statusCode, String(body)).toBe(200);
      expect(['ignorado', 'aceptado']).toContain(res.json().resultado);
    }
  });

  it('records an unknown or unexpected update kind and answers 200 without handling it', async () => {
    const res = await post({ update_id: 100, poll: { id: 'x' } });
    expect(res.json()).toEqual({ ok: true, resultado: 'aceptado' });
    const odd = await post({ update_id: 101, message: { chat: 'nada', text: { a: '\u0000' } } });
    expect(odd.json()).toEqual({ ok: true, resultado: 'aceptado' });
    const rows = await ctx.db.query<{ estado: string; ultimo_error: string }>(
      'SELECT estado, ultimo_error FROM bot_updates WHERE bot_id = $1 AND update_id IN (100, 101) ORDER BY update_id',
      [h.bot.botId],
    );
    expect(rows.rows).toEqual([
      { estado: 'procesado', ultimo_error: 'tipo de actualización no atendido' },
      { estado: 'procesado', ultimo_error: 'forma inválida' },
    ]);
  });

  it('handles an update_id once, also when copies arrive at the same moment', async () => {
    const chatId = 610_001;
    const results = await Promise.all(Array.from({ length: 20 }, () => post(helpUpdate(200, chatId))));
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const outcomes = results.map((r) => r.json().resultado).sort();
    expect(outcomes.filter((o) => o === 'aceptado')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicado')).toHaveLength(19);
    // Telegram delivers it again later: still once.
    expect((await post(helpUpdate(200, chatId))).json().resultado).toBe('duplicado');
    await h.bot.drain();
    expect(h.standin.sentTo(chatId)).toHaveLength(1);
  });

  it('answers before a slow Telegram has received the reply', async () => {
    const chatId = 610_002;
    h.standin.setLatency(800);
    try {
      const t0 = performance.now();
      const res = await post(helpUpdate(300, chatId));
      const ms = performance.now() - t0;
      expect(res.json().resultado).toBe('aceptado');
      expect(ms).toBeLessThan(400);
      expect(h.standin.sentTo(chatId)).toHaveLength(0);
      await h.bot.drain();
      expect(h.standin.sentTo(chatId)).toHaveLength(1);
    } finally {
      h.standin.setLatency(0);
    }
  });

  it('answers 503 while the database is down, so Telegram delivers again; 200 once it is back', async () => {
    const chatId = 610_003;
    db.down = true;
    try {
      const res = await post(helpUpdate(400, chatId));
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('BASE_DE_DATOS_NO_DISPONIBLE');
    } finally {
      db.down = false;
    }
    const again = await post(helpUpdate(400, chatId));
    expect(again.json().resultado).toBe('aceptado');
    await h.bot.drain();
    expect(h.standin.sentTo(chatId)).toHaveLength(1);
  });

  it('an update whose handling met a database failure is handled again by the sweeper', async () => {
    const chatId = 610_004;
    db.failing = /bot_chats/;
    try {
      expect((await post(helpUpdate(500, chatId, '/start'))).json().resultado).toBe('aceptado');
      await h.bot.drain();
    } finally {
      db.failing = null;
    }
    const pending = await ctx.db.query<{ estado: string; intentos: number }>(
      'SELECT estado, intentos FROM bot_updates WHERE bot_id = $1 AND update_id = 500',
      [h.bot.botId],
    );
    expect(pending.rows[0]).toEqual({ estado: 'pendiente', intentos: 1 });
    expect(h.standin.sentTo(chatId)).toHaveLength(0);
    // Not before its lease ends…
    expect((await h.bot.runOnce()).reclaimed).toBe(0);
    h.clock.advance(61_000);
    expect((await h.bot.runOnce()).reclaimed).toBe(1);
    await h.bot.drain();
    expect(
      h.standin
        .sentTo(chatId)
        .map((m) => m.text)
        .join(),
    ).toContain('cédula');
    const done = await ctx.db.query<{ estado: string }>(
      'SELECT estado FROM bot_updates WHERE bot_id = $1 AND update_id = 500',
      [h.bot.botId],
    );
    expect(done.rows[0]!.estado).toBe('procesado');
  });

  it('2,000 generated bodies never produce a 5xx', async () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom('/start', '/status', '/help', '/baja', '\u0000', '1714307103'),
    );
    const id = fc.oneof(fc.integer(), fc.constant(2 ** 53), fc.double(), fc.string(), fc.constant(null));
    const chat = fc.record(
      {
        id: fc.oneof(fc.integer({ min: 620_000, max: 620_100 }), fc.integer(), fc.string()),
        type: fc.constantFrom('private', 'group', 'supergroup', 'channel', 'nada'),
      },
      { requiredKeys: [] },
    );
    const message = fc.record(
      {
        message_id: fc.oneof(fc.nat(), fc.string()),
        chat,
        from: fc.record(
          { id: fc.integer(), is_bot: fc.boolean(), username: fc.string() },
          { requiredKeys: [] },
        ),
        text,
        entities: fc.array(
          fc.record({ type: fc.constantFrom('bot_command', 'x'), offset: fc.nat(5), length: fc.nat(9) }),
        ),
        contact: fc.record(
          { phone_number: fc.string(), user_id: fc.oneof(fc.integer(), fc.string()) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const update = fc.record(
      {
        update_id: fc.oneof(fc.nat({ max: 2_000_000_000 }), id),
        message,
        callback_query: fc.record(
          { id: fc.string(), from: fc.record({ id: fc.integer() }), data: fc.string(), message },
          { requiredKeys: [] },
        ),
        my_chat_member: fc.record(
          {
            chat,
            from: fc.record({ id: fc.integer() }),
            new_chat_member: fc.record({ status: fc.string() }),
          },
          { requiredKeys: [] },
        ),
        edited_message: message,
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    // Plausible updates from private chats: the conversation itself gets fuzzed, not only the parser.
    const privateChat = fc.integer({ min: 630_000, max: 630_200 });
    const plausible = fc
      .record({
        update_id: fc.integer({ min: 1, max: 2_000_000_000 }),
        chatId: privateChat,
        kind: fc.constantFrom('text', 'contact', 'button', 'member'),
        text: fc.oneof(
          text,
          fc.constantFrom(
            '/start ZZZZZZZZZZZZZZZZZZZZZZ',
            '/preferencias',
            'Cancelar',
            '0987654321',
            '/start',
          ),
          fc.stringMatching(/^[0-9 -]{6,14}$/),
        ),
        phone: fc.oneof(fc.string(), fc.stringMatching(/^\+?5939[0-9]{8}$/)),
        data: fc.oneof(
          fc.string(),
          fc.constantFrom('pref:ofertas:0', 'pref:mantenimiento:1', 'baja:si', 'baja:no'),
        ),
        status: fc.constantFrom('kicked', 'member', 'left', 'administrator'),
      })
      .map(({ update_id, chatId, kind, text: t, phone, data, status }) => {
        const chat = { id: chatId, type: 'private', first_name: 'F' };
        const from = { id: chatId, is_bot: false, first_name: 'F' };
        const msg = { message_id: 1, date: 1_773_000_000, chat, from };
        if (kind === 'member') {
          return {
            update_id,
            my_chat_member: {
              chat,
              from,
              date: 1,
              old_chat_member: { status: 'member' },
              new_chat_member: { status },
            },
          };
        }
        if (kind === 'button') {
          return {
            update_id,
            callback_query: { id: String(update_id), from, chat_instance: '1', data, message: msg },
          };
        }
        if (kind === 'contact') {
          return {
            update_id,
            message: { ...msg, contact: { phone_number: phone, first_name: 'F', user_id: chatId } },
          };
        }
        const entities = t.startsWith('/')
          ? [{ type: 'bot_command', offset: 0, length: t.split(' ')[0]!.length }]
          : [];
        return { update_id, message: { ...msg, text: t, entities } };
      });
    const body = fc.oneof(
      { arbitrary: plausible.map((u) => JSON.stringify(u)), weight: 2 },
      update.map((u) => JSON.stringify(u)),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
    );
    const type = fc.constantFrom('application/json', 'text/plain', null, 'application/x-www-form-urlencoded');
    let posted = 0;
    await fc.assert(
      fc.asyncProperty(body, type, async (b, t) => {
        posted++;
        const res = await post(b, { type: t });
        return res.statusCode === 200;
      }),
      { numRuns: 2000 },
    );
    expect(posted).toBe(2000);
    await h.bot.drain();
    // Whatever came in, our code never failed on it: the only failures are Telegram refusing a reply
    // (for instance editing a message it does not know).
    const crashes = await ctx.db.query<{ ultimo_error: string }>(
      `SELECT ultimo_error FROM bot_updates
        WHERE bot_id = $1 AND estado <> 'procesado' AND ultimo_error NOT LIKE 'Telegram 400:%'`,
      [h.bot.botId],
    );
    expect(crashes.rows).toEqual([]);
    // Still answering normally afterwards.
    expect((await post(helpUpdate(2_100_000_000, 610_005))).json().resultado).toBe('aceptado');
    await h.bot.drain();
    expect(h.standin.sentTo(610_005)).toHaveLength(1);
  }, 120_000);
});

describeEachDb('bot webhook overload', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling', bot: { maxQueued: 2, concurrency: 1 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('beyond the queue limit an update is recorded and answered, and handled later by the sweeper', async () => {
    h.standin.setLatency(100);
    const results = [];
    for (let i = 0; i < 5; i++) {
      results.push(
        await h.app.inject({
          method: 'POST',
          url: WEBHOOK_PATH,
          headers: {
            'x-telegram-bot-api-secret-token': TEST_WEBHOOK_SECRET,
            'content-type': 'application/json',
          },
          payload: JSON.stringify(helpUpdate(700 + i, 640_000 + i)),
        }),
      );
    }
    expect(results.map((r) => r.json().resultado)).toEqual(Array(5).fill('aceptado'));
    await h.bot.drain();
    h.standin.setLatency(0);
    expect(h.standin.sent).toHaveLength(2);
    h.clock.advance(61_000);
    expect((await h.bot.runOnce()).reclaimed).toBe(2);
    await h.bot.drain();
    expect((await h.bot.runOnce()).reclaimed).toBe(1);
    await h.bot.drain();
    expect(new Set(h.standin.sent.map((m) => m.chat_id)).size).toBe(5);
  });
});

describe('bot webhook edge cases', () => {
  const clock = { now: () => new Date() };
  const headers = {
    'x-telegram-bot-api-secret-token': TEST_WEBHOOK_SECRET,
    'content-type': 'application/json',
  };

  it('without a bot the webhook answers 503 after checking the secret; with the database closed too', async () => {
    const db = await createPgliteDb();
    await migrate(db);
    const adminTokens = [{ name: 'admin', token: TEST_ADMIN_TOKEN }];
    const noBot = await buildApi({ db, config: testConfig(), logger: silent, clock, adminTokens });
    const res = await noBot.inject({ method: 'POST', url: WEBHOOK_PATH, headers, payload: '{}' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('BOT_NO_CONFIGURADO');
    await noBot.close();

    const config = testConfig({ TELEGRAM_BOT_TOKEN: '55555:TEST-TOKEN' });
    const botInfo: UserFromGetMe = {
      id: 55555,
      is_bot: true,
      first_name: 'T',
      username: 'T_bot',
      can_join_groups: false,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    };
    const bot = createBot({ db, config, logger: silent, clock, botInfo });
    const app = await buildApi({ db, config, logger: silent, clock, adminTokens, bot });
    await db.close();
    const closed = await app.inject({
      method: 'POST',
      url: WEBHOOK_PATH,
      headers,
      payload: JSON.stringify(helpUpdate(1, 1)),
    });
    expect(closed.statusCode).toBe(503);
    expect(closed.json().error.code).toBe('BASE_DE_DATOS_NO_DISPONIBLE');
    await bot.stop(100);
    expect(await acceptWebhookBody(bot, JSON.stringify(helpUpdate(2, 1)), silent)).toEqual({
      status: 503,
      reason: 'deteniendo',
    });
    await app.close();
  });
});
