import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, GrammyError } from 'grammy';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Fault,
  parseMarkup,
  type Standin,
  type StandinOptions,
  startStandin,
} from '../../src/telegram/standin/index.js';

const TOKEN = '123456:TEST-TOKEN-standin';

let standin: Standin | undefined;
const cleanups: Array<() => Promise<void>> = [];

async function start(opts?: StandinOptions): Promise<Standin> {
  standin = await startStandin(opts);
  return standin;
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await standin?.close();
  standin = undefined;
});

interface Answer<T = unknown> {
  status: number;
  contentType: string | null;
  body: {
    ok: boolean;
    result?: T;
    error_code?: number;
    description?: string;
    parameters?: { retry_after?: number };
  };
}

interface Message {
  message_id: number;
  date: number;
  chat: { id: number; type: string };
  from?: { id: number; is_bot: boolean };
  text?: string;
  entities?: Array<{ type: string; offset: number; length: number }>;
  reply_markup?: unknown;
  contact?: { phone_number: string; first_name: string; user_id?: number };
}

interface Update {
  update_id: number;
  message?: Message;
  callback_query?: { id: string; data: string; from: { id: number }; message: Message };
  my_chat_member?: {
    chat: { id: number };
    old_chat_member: { status: string };
    new_chat_member: { status: string };
  };
}

/** A Bot API call over real HTTP with a JSON body. */
async function call<T = unknown>(
  s: Standin,
  method: string,
  params: Record<string, unknown> = {},
  token = s.token,
): Promise<Answer<T>> {
  const response = await fetch(`${s.url}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: (await response.json()) as Answer<T>['body'],
  };
}

const send = (s: Standin, chatId: number, text = 'hola', extra: Record<string, unknown> = {}) =>
  call<Message>(s, 'sendMessage', { chat_id: chatId, text, ...extra });

/** A tiny webhook receiver on 127.0.0.1:0 answering with `status()`. */
async function startReceiver(status: () => number) {
  const received: Array<{ headers: IncomingHttpHeaders; update: Update }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        headers: req.headers,
        update: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update,
      });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('stand-in: Bot API basics', () => {
  it('answers getMe with the bot info and any other token with 401 Unauthorized', async () => {
    const s = await start();
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.token).toBe(TOKEN);

    const me = await call<{ id: number; username: string; is_bot: boolean }>(s, 'getMe');
    expect(me.status).toBe(200);
    expect(me.contentType).toBe('application/json');
    expect(me.body.result).toMatchObject({
      id: 123456,
      is_bot: true,
      first_name: 'TelTec Bot',
      username: 'TelTecTestBot',
    });

    const wrong = await call(s, 'getMe', {}, '123456:WRONG');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    expect(s.calls.map((c) => [c.method, c.status])).toEqual([
      ['getMe', 200],
      ['getMe', 401],
    ]);
  });

  it('sendMessage answers a full Message with ids increasing per chat, and records it', async () => {
    const s = await start();
    const first = await send(s, 111, 'uno', { parse_mode: 'HTML', reply_markup: { inline_keyboard: [] } });
    const second = await send(s, 111, 'dos');
    const other = await send(s, 222, 'otro');

    expect(first.body.ok).toBe(true);
    expect(first.body.result).toMatchObject({
      message_id: 1,
      chat: { id: 111, type: 'private' },
      from: { id: 123456, is_bot: true },
      text: 'uno',
    });
    expect(first.body.result?.date).toBeCloseTo(Date.now() / 1000, -1);
    expect([second.body.result?.message_id, other.body.result?.message_id]).toEqual([2, 1]);

    expect(s.sent).toHaveLength(3);
    expect(s.sent[0]).toMatchObject({
      message_id: 1,
      chat_id: 111,
      text: 'uno',
      parse_mode: 'HTML',
      reply_markup: { inline_keyboard: [] },
      method: 'sendMessage',
    });
    expect(s.sentTo(111).map((m) => m.text)).toEqual(['uno', 'dos']);
    expect(s.stats).toEqual({ calls: 3, sent: 3, tooMany: 0 });

    s.reset();
    expect([s.sent.length, s.calls.length, s.stats.calls]).toEqual([0, 0, 0]);
  });

  it('validates requests like Telegram', async () => {
    const s = await start();
    s.unknownChats.add(404);
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ text: 'x' }, 400, 'Bad Request: chat_id is empty'],
      [{ chat_id: 1 }, 400, 'Bad Request: message text is empty'],
      [{ chat_id: 1, text: '  \n ' }, 400, 'Bad Request: message text is empty'],
      [{ chat_id: 1, text: 'a'.repeat(4097) }, 400, 'Bad Request: message is too long'],
      [{ chat_id: 404, text: 'x' }, 400, 'Bad Request: chat not found'],
      [{ chat_id: '@somebody', text: 'x' }, 400, 'Bad Request: chat not found'],
      [
        {
          chat_id: 1,
          text: 'x',
          reply_markup: { inline_keyboard: [[{ text: 'b', callback_data: 'x'.repeat(65) }]] },
        },
        400,
        'Bad Request: BUTTON_DATA_INVALID',
      ],
    ];
    for (const [params, status, description] of cases) {
      const answer = await call(s, 'sendMessage', params);
      expect({ status: answer.status, body: answer.body }).toEqual({
        status,
        body: { ok: false, error_code: status, description },
      });
    }
    // 4096 characters after trimming is the maximum.
    expect((await send(s, 1, ` ${'a'.repeat(4096)} `)).body.result?.text).toHaveLength(4096);

    const unknown = await call(s, 'sendPigeon');
    expect([unknown.status, unknown.body.description]).toEqual([404, 'Not Found: method not found']);

    const malformed = await fetch(`${s.url}/bot${s.token}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"chat_id": 1, "text": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ ok: false, error_code: 400 });

    // Form bodies, query strings and case-insensitive method names work too.
    const form = await fetch(`${s.url}/bot${s.token}/SENDMESSAGE`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        chat_id: '7',
        text: 'por formulario',
        reply_markup: '{"inline_keyboard":[]}',
      }),
    });
    expect(form.status).toBe(200);
    const query = await fetch(`${s.url}/bot${s.token}/sendMessage?chat_id=7&text=por%20query`);
    expect(((await query.json()) as Answer<Message>['body']).result?.message_id).toBe(2);
    expect(s.sentTo(7).map((m) => [m.text, m.method])).toEqual([
      ['por formulario', 'sendMessage'],
      ['por query', 'sendMessage'],
    ]);
    expect(s.sent[1]?.reply_markup).toEqual({ inline_keyboard: [] });
  });

  it('waitForSent resolves on an existing or a future message and rejects on timeout', async () => {
    const s = await start();
    await send(s, 5, 'antes');
    await expect(s.waitForSent((m) => m.text === 'antes')).resolves.toMatchObject({ chat_id: 5 });

    const later = s.waitForSent((m) => m.chat_id === 6, 2000);
    await send(s, 6, 'después');
    await expect(later).resolves.toMatchObject({ text: 'después', message_id: 1 });

    await expect(s.waitForSent((m) => m.chat_id === 999, 30)).rejects.toThrow(/within 30 ms/);
  });

  it('parses parse_mode like Telegram: plain text and entities back, bad markup is a 400', async () => {
    const s = await start();
    const html = await send(s, 1, '<b>Hola</b> &lt;Ana&gt; <a href="https://teltec.ec">pagar</a>', {
      parse_mode: 'HTML',
    });
    expect(html.body.result?.text).toBe('Hola <Ana> pagar');
    expect(html.body.result?.entities).toEqual([
      { type: 'bold', offset: 0, length: 4 },
      { type: 'text_link', offset: 11, length: 5, url: 'https://teltec.ec' },
    ]);
    expect(s.sent[0]?.text).toBe('<b>Hola</b> &lt;Ana&gt; <a href="https://teltec.ec">pagar</a>');

    const badHtml = await send(s, 1, 'Total <25.00>', { parse_mode: 'HTML' });
    expect([badHtml.status, badHtml.body.description]).toEqual([
      400,
      'Bad Request: can\'t parse entities: Unsupported start tag "25.00" at byte offset 6',
    ]);
    const badMd = await send(s, 1, '*Total:* $25.00', { parse_mode: 'MarkdownV2' });
    expect(badMd.body.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
    expect(s.sent).toHaveLength(1);

    // Cases from TDLib's own tests (byte offsets count UTF-8 bytes).
    expect(() => parseMarkup('🏟 🏟_abacaba', 'MarkdownV2')).toThrow(
      "Can't find end of Italic entity at byte offset 9",
    );
    expect(() => parseMarkup('🏟 🏟&lt;<i>a</em   >', 'HTML')).toThrow(
      'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"',
    );
    expect(() => parseMarkup('🏟 🏟&lt;<abac>', 'HTML')).toThrow(
      'Unsupported start tag "abac" at byte offset 13',
    );
    expect(parseMarkup('*negrita* _cursiva_ \\$25\\.00 [web](https://teltec.ec)', 'MarkdownV2')).toEqual({
      text: 'negrita cursiva $25.00 web',
      entities: [
        { type: 'bold', offset: 0, length: 7 },
        { type: 'italic', offset: 8, length: 7 },
        { type: 'text_link', offset: 23, length: 3, url: 'https://teltec.ec' },
      ],
    });
    expect(parseMarkup('>cita\n>dos\nfin', 'MarkdownV2')).toEqual({
      text: 'cita\ndos\nfin',
      entities: [{ type: 'blockquote', offset: 0, length: 9 }],
    });
  });

  it('edits, deletes, chat actions and bot commands', async () => {
    const s = await start();
    const sent = await send(s, 9, 'Pendiente', {
      reply_markup: { inline_keyboard: [[{ text: 'Ok', callback_data: 'ok' }]] },
    });
    const id = sent.body.result?.message_id;

    const edited = await call<Message & { edit_date: number }>(s, 'editMessageText', {
      chat_id: 9,
      message_id: id,
      text: 'Pagado',
    });
    expect(edited.body.result).toMatchObject({ message_id: id, text: 'Pagado' });
    expect(edited.body.result?.reply_markup).toBeUndefined();
    expect(s.sent.map((m) => [m.method, m.text])).toEqual([
      ['sendMessage', 'Pendiente'],
      ['editMessageText', 'Pagado'],
    ]);
    const same = await call(s, 'editMessageText', { chat_id: 9, message_id: id, text: 'Pagado' });
    expect(same.body.description).toMatch(/^Bad Request: message is not modified/);
    const missing = await call(s, 'editMessageText', { chat_id: 9, message_id: 77, text: 'x' });
    expect(missing.body.description).toBe('Bad Request: message to edit not found');

    expect((await call(s, 'sendChatAction', { chat_id: 9, action: 'typing' })).body.result).toBe(true);
    expect((await call(s, 'sendChatAction', { chat_id: 9, action: 'dancing' })).status).toBe(400);

    expect((await call(s, 'deleteMessage', { chat_id: 9, message_id: id })).body.result).toBe(true);
    const again = await call(s, 'deleteMessage', { chat_id: 9, message_id: id });
    expect(again.body.description).toBe('Bad Request: message to delete not found');

    const commands = [
      { command: 'start', description: 'Empezar' },
      { command: 'saldo', description: 'Ver mi saldo' },
    ];
    expect((await call(s, 'setMyCommands', { commands })).body.result).toBe(true);
    expect((await call(s, 'getMyCommands')).body.result).toEqual(commands);
    expect((await call(s, 'getMyCommands', { language_code: 'en' })).body.result).toEqual([]);
    const invalid = await call(s, 'setMyCommands', { commands: [{ command: 'Saldo!', description: 'x' }] });
    expect(invalid.body.description).toBe('Bad Request: BOT_COMMAND_INVALID');
  });
});

describe('stand-in: connections', () => {
  it('keeps an idle keep-alive connection open past Node’s default (5 s, closed by 6.5 s), as Telegram does', async () => {
    const s = await start();
    // grammY's client on Node: node-fetch over an http.Agent with keep-alive, which does not read
    // the server's Keep-Alive hint. A socket the server closes while idle must not be picked up.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const call = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = httpRequest(`${s.url}/bot${s.token}/getMe`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await call()).toEqual({ status: 200, reused: false });
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(await call()).toEqual({ status: 200, reused: true });
  }, 15_000);
});

describe('stand-in: faults', () => {
  const errorFaults: Array<[Fault, number, string]> = [
    [{ kind: 'retry_after', seconds: 7 }, 429, 'Too Many Requests: retry after 7'],
    [{ kind: 'blocked' }, 403, 'Forbidden: bot was blocked by the user'],
    [{ kind: 'deactivated' }, 403, 'Forbidden: user is deactivated'],
    [{ kind: 'chat_not_found' }, 400, 'Bad Request: chat not found'],
    [{ kind: 'server_error' }, 500, 'Internal Server Error'],
    [{ kind: 'server_error', status: 502 }, 502, 'Bad Gateway'],
    [{ kind: 'unauthorized' }, 401, 'Unauthorized'],
  ];

  it.each(errorFaults)(
    '%o answers %i "%s" for the next n matching calls only',
    async (fault, status, description) => {
      const s = await start();
      s.failNext(2, fault, { method: 'sendMessage', chatId: 1 });

      expect((await call(s, 'getMe')).status).toBe(200); // other method: not consumed
      expect((await send(s, 2)).status).toBe(200); // other chat: not consumed
      for (let i = 0; i < 2; i++) {
        const failed = await send(s, 1);
        expect(failed.status).toBe(status);
        expect(failed.body).toMatchObject({ ok: false, error_code: status, description });
        if (fault.kind === 'retry_after') expect(failed.body.parameters).toEqual({ retry_after: 7 });
      }
      expect((await send(s, 1)).status).toBe(200);
      expect(s.sentTo(1)).toHaveLength(1);
      expect(s.calls.map((c) => c.status)).toEqual([200, 200, status, status, 200]);
      expect(s.stats.tooMany).toBe(fault.kind === 'retry_after' ? 2 : 0);
    },
  );

  it('slow answers correctly after the delay; latency applies to every answer', async () => {
    const s = await start();
    s.failNext(1, { kind: 'slow', ms: 150 });
    let t0 = performance.now();
    const slow = await send(s, 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(145);
    expect(slow.body.result?.message_id).toBe(1);

    s.setLatency(80);
    t0 = performance.now();
    expect((await call(s, 'getMe')).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });

  it('drop destroys the socket: fetch rejects, the call is recorded with status 0', async () => {
    const s = await start();
    s.failNext(1, { kind: 'drop' }, { method: 'sendMessage' });
    await expect(send(s, 1)).rejects.toThrow();
    expect(s.calls).toMatchObject([{ method: 'sendMessage', status: 0 }]);
    expect(s.sent).toHaveLength(0);
    expect((await send(s, 1)).status).toBe(200);
  });

  it('failRate is deterministic for a seed', async () => {
    const s = await start();
    const pattern = async (seed: number) => {
      s.reset();
      s.failRate(0.5, [{ kind: 'server_error' }, { kind: 'blocked' }], seed);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await send(s, 1)).status);
      return statuses;
    };
    const first = await pattern(42);
    expect(await pattern(42)).toEqual(first);
    expect(await pattern(7)).not.toEqual(first);
    const failures = first.filter((status) => status !== 200);
    expect(failures.length).toBeGreaterThan(3);
    expect(failures.length).toBeLessThan(17);
    expect(new Set(failures)).toEqual(new Set([500, 403]));
    // Only sendMessage is affected.
    expect((await call(s, 'getMe')).status).toBe(200);
  });
});

describe('stand-in: fake users and getUpdates', () => {
  it('long polling returns as soon as a user writes; offset confirms', async () => {
    const s = await start();
    const t0 = performance.now();
    const poll = call<Update[]>(s, 'getUpdates', { timeout: 5 });
    setTimeout(() => void s.user({ chatId: 50, firstName: 'Ana' }).send('hola'), 50);
    const first = await poll;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(first.body.result).toHaveLength(1);
    const update = first.body.result?.[0] as Update;
    expect(update.message).toMatchObject({
      message_id: 1,
      text: 'hola',
      from: { id: 50, is_bot: false, first_name: 'Ana' },
      chat: { id: 50, type: 'private' },
    });
    expect(update.message?.entities).toBeUndefined();

    // Without offset the update is delivered again; offset = last id + 1 confirms it.
    expect((await call<Update[]>(s, 'getUpdates')).body.result).toHaveLength(1);
    const confirmed = await call<Update[]>(s, 'getUpdates', { offset: update.update_id + 1, timeout: 0 });
    expect(confirmed.body.result).toEqual([]);
    expect(s.pendingUpdates).toBe(0);

    await s.user({ chatId: 50 }).send('otra');
    const next = await call<Update[]>(s, 'getUpdates', { offset: update.update_id + 1 });
    expect(next.body.result?.[0]?.update_id).toBe(update.update_id + 1);
  });

  it('commands get a bot_command entity like on Telegram', async () => {
    const s = await start();
    const user = s.user({ chatId: 60 });
    await user.command('start', 'INV-123');
    await user.send('/ayuda@TelTecTestBot por favor');
    await user.command('/saldo');
    const updates = (await call<Update[]>(s, 'getUpdates')).body.result ?? [];
    expect(updates.map((u) => [u.message?.text, u.message?.entities])).toEqual([
      ['/start INV-123', [{ type: 'bot_command', offset: 0, length: 6 }]],
      ['/ayuda@TelTecTestBot por favor', [{ type: 'bot_command', offset: 0, length: 20 }]],
      ['/saldo', [{ type: 'bot_command', offset: 0, length: 6 }]],
    ]);
    expect(updates.map((u) => u.update_id)).toEqual([1, 2, 3]);
  });

  it('shareContact can share the own or someone else’s contact', async () => {
    const s = await start();
    const user = s.user({ chatId: 70, firstName: 'Luis' });
    await user.shareContact('+593991234567');
    await user.shareContact('593987654321', { userId: 71, firstName: 'Otra' });
    const updates = (await call<Update[]>(s, 'getUpdates')).body.result ?? [];
    expect(updates.map((u) => [u.message?.from?.id, u.message?.contact])).toEqual([
      [70, { phone_number: '+593991234567', first_name: 'Luis', user_id: 70 }],
      [70, { phone_number: '593987654321', first_name: 'Otra', user_id: 71 }],
    ]);
  });

  it('press sends a callback_query on the last bot message', async () => {
    const s = await start();
    const user = s.user({ chatId: 80 });
    await expect(user.press('pay')).rejects.toThrow(/no message/);

    const keyboard = { inline_keyboard: [[{ text: 'Pagar', callback_data: 'pay:1' }]] };
    await send(s, 80, 'primero');
    const last = await send(s, 80, '¿Pagar?', { reply_markup: keyboard });
    await user.press('pay:1');
    const [update] = (await call<Update[]>(s, 'getUpdates')).body.result ?? [];
    expect(update?.callback_query).toMatchObject({
      data: 'pay:1',
      from: { id: 80 },
      message: { message_id: last.body.result?.message_id, text: '¿Pagar?', reply_markup: keyboard },
    });
    const answered = await call(s, 'answerCallbackQuery', { callback_query_id: update?.callback_query?.id });
    expect(answered.body.result).toBe(true);
  });

  it('block sends my_chat_member kicked and makes sends fail with 403 until unblock', async () => {
    const s = await start();
    const user = s.user({ chatId: 90 });
    await user.block();
    const [blocked] = (await call<Update[]>(s, 'getUpdates')).body.result ?? [];
    expect(blocked?.my_chat_member).toMatchObject({
      chat: { id: 90 },
      old_chat_member: { status: 'member' },
      new_chat_member: { status: 'kicked' },
    });
    const refused = await send(s, 90);
    expect([refused.status, refused.body.description]).toEqual([
      403,
      'Forbidden: bot was blocked by the user',
    ]);

    await user.unblock();
    const [unblocked] =
      (await call<Update[]>(s, 'getUpdates', { offset: (blocked?.update_id ?? 0) + 1 })).body.result ?? [];
    expect(unblocked?.my_chat_member?.new_chat_member.status).toBe('member');
    expect((await send(s, 90)).status).toBe(200);
  });

  it('allowed_updates filters later updates; close ends a pending long poll', async () => {
    const s = await start();
    await call(s, 'getUpdates', { allowed_updates: ['callback_query'] });
    await s.user({ chatId: 1 }).send('ignorado');
    expect(s.pendingUpdates).toBe(0);
    await s.pushUpdate({ message: { text: 'raw' } }); // raw updates skip the filter
    expect(s.pendingUpdates).toBe(1);

    const [raw] = (await call<Update[]>(s, 'getUpdates', { allowed_updates: [] })).body.result ?? [];
    expect(raw?.message?.text).toBe('raw');
    const poll = call<Update[]>(s, 'getUpdates', { offset: (raw?.update_id ?? 0) + 1, timeout: 30 });
    await vi.waitFor(() => expect(s.pendingUpdates).toBe(0)); // the poll confirmed the raw update and waits
    const t0 = performance.now();
    await s.close();
    const answer = await poll;
    expect(answer.body.result).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('stand-in: webhook', () => {
  it('POSTs updates in order with the secret header; getUpdates answers 409 meanwhile', async () => {
    const receiver = await startReceiver(() => 200);
    const s = await start();
    const set = await call(s, 'setWebhook', { url: receiver.url, secret_token: 'sec_ret-1' });
    expect(set.body).toEqual({ ok: true, result: true, description: 'Webhook was set' });

    const user = s.user({ chatId: 100 });
    await user.send('uno');
    await user.command('start');
    expect(receiver.received.map((r) => r.update.message?.text)).toEqual(['uno', '/start']);
    expect(receiver.received[0]?.headers['x-telegram-bot-api-secret-token']).toBe('sec_ret-1');
    expect(receiver.received[0]?.headers['content-type']).toBe('application/json');
    expect(s.webhook).toMatchObject({ url: receiver.url, secret: 'sec_ret-1', pending: 0, delivered: 2 });

    const conflict = await call(s, 'getUpdates');
    expect(conflict.status).toBe(409);
    expect(conflict.body.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );

    const info = await call(s, 'getWebhookInfo');
    expect(info.body.result).toMatchObject({
      url: receiver.url,
      has_custom_certificate: false,
      pending_update_count: 0,
    });

    expect((await call(s, 'deleteWebhook')).body.description).toBe('Webhook was deleted');
    await user.send('de nuevo por polling');
    expect((await call<Update[]>(s, 'getUpdates')).body.result?.[0]?.message?.text).toBe(
      'de nuevo por polling',
    );
  });

  it('a failing webhook keeps the update pending, reports the last error and retries', async () => {
    let status = 500;
    const receiver = await startReceiver(() => status);
    const s = await start({ webhookRetryMs: 20, webhookMaxAttempts: 1000 });
    await call(s, 'setWebhook', { url: receiver.url });

    await s.user({ chatId: 110 }).send('¿llega?');
    expect(receiver.received.length).toBeGreaterThanOrEqual(1);
    expect(s.webhook.pending).toBe(1);
    expect(s.webhook.lastError?.message).toBe('Wrong response from the webhook: 500 Internal Server Error');
    const info = await call<{
      pending_update_count: number;
      last_error_message: string;
      last_error_date: number;
    }>(s, 'getWebhookInfo');
    expect(info.body.result).toMatchObject({
      pending_update_count: 1,
      last_error_message: 'Wrong response from the webhook: 500 Internal Server Error',
    });
    expect(info.body.result?.last_error_date).toBeCloseTo(Date.now() / 1000, -1);

    status = 200;
    await vi.waitFor(() => expect(s.webhook).toMatchObject({ pending: 0, delivered: 1 }), { timeout: 1000 });
    expect(new Set(receiver.received.map((r) => r.update.update_id))).toEqual(new Set([1]));
  });

  it('drops an update after the last attempt', async () => {
    const receiver = await startReceiver(() => 503);
    const s = await start({ webhookRetryMs: 5, webhookMaxAttempts: 2 });
    await call(s, 'setWebhook', { url: receiver.url });
    await s.user({ chatId: 120 }).send('perdido');
    await vi.waitFor(() => expect(s.webhook).toMatchObject({ pending: 0, failed: 1, delivered: 0 }), {
      timeout: 1000,
    });
    expect(receiver.received).toHaveLength(2);
  });
});

describe('stand-in: rate limits', () => {
  it('global limit: 40 rapid sends to 40 chats at 30/s get some 429 with retry_after >= 1', async () => {
    const s = await start({ limits: { globalPerSecond: 30 } });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => send(s, 1000 + i)));
    const tooMany = answers.filter((a) => a.status === 429);
    expect(tooMany.length).toBeGreaterThanOrEqual(1);
    expect(answers.length - tooMany.length).toBeGreaterThanOrEqual(30);
    for (const a of tooMany) {
      expect(a.body.parameters?.retry_after).toBeGreaterThanOrEqual(1);
      expect(a.body.description).toBe(`Too Many Requests: retry after ${a.body.parameters?.retry_after}`);
    }
    expect(s.stats.tooMany).toBe(tooMany.length);
    expect(s.sent).toHaveLength(answers.length - tooMany.length);
  });

  it('per-chat limit: the third rapid send to one chat at 1/s is a 429', async () => {
    const s = await start({ limits: { perChatPerSecond: 1 } });
    const statuses: number[] = [];
    let retryAfter: number | undefined;
    for (let i = 0; i < 3; i++) {
      const answer = await send(s, 7);
      statuses.push(answer.status);
      retryAfter ??= answer.body.parameters?.retry_after;
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect((await send(s, 8)).status).toBe(200); // other chats are not affected

    s.setLimits(false);
    expect((await send(s, 7)).status).toBe(200);
  });
});

describe('stand-in: with grammY', () => {
  it('works as apiRoot; a 429 fault surfaces as GrammyError with retry_after', async () => {
    const s = await start();
    const bot = new Bot(s.token, { client: { apiRoot: s.url } });
    await bot.init();
    expect(bot.botInfo.username).toBe('TelTecTestBot');

    const message = await bot.api.sendMessage(314, '<b>Hola</b>', { parse_mode: 'HTML' });
    expect(message).toMatchObject({ message_id: 1, text: 'Hola', chat: { id: 314 } });

    s.failNext(1, { kind: 'retry_after', seconds: 3 }, { method: 'sendMessage' });
    const error = await bot.api.sendMessage(314, 'otra vez').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrammyError);
    expect(error).toMatchObject({ error_code: 429, parameters: { retry_after: 3 } });
  });

  it('serves grammY long polling end to end', async () => {
    const s = await start();
    const bot = new Bot(s.token, {
      client: { apiRoot: s.url },
      botInfo: { ...(await call<Bot['botInfo']>(s, 'getMe')).body.result! },
    });
    bot.command('start', (ctx) => ctx.reply(`Hola ${ctx.from?.first_name}, código ${ctx.match}`));
    const running = bot.start({ timeout: 1 });
    cleanups.push(async () => {
      if (bot.isRunning()) await bot.stop();
      await running;
    });

    await s.user({ chatId: 4242, firstName: 'Marta' }).command('start', 'ABC');
    const reply = await s.waitForSent((m) => m.chat_id === 4242, 3000);
    expect(reply.text).toBe('Hola Marta, código ABC');
    await bot.stop();
    expect(s.pendingUpdates).toBe(0);
  });
});
