import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { redactBotToken, redactUrl, rememberSecret } from '../../src/telegram/redact.js';
import { createTelegramSender, describeFailure } from '../../src/telegram/send.js';
import { startStandin } from '../../src/telegram/standin/index.js';
import { type BotHarness, nextId, seedClient, startBotHarness } from '../bot/support.js';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

/** A logger whose lines land in `lines` (info and above). */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('one redaction of secrets', () => {
  it('removes a remembered token in every form an echo may take', () => {
    const token = '987654:SECRET-half-of-the-token';
    rememberSecret(token);
    for (const text of [
      `POST https://api.telegram.org/bot${token}/sendMessage`,
      `POST https://api.telegram.org/bot987654%3ASECRET-half-of-the-token/sendMessage`,
      `token=${encodeURIComponent(token)}`,
      'the secret half alone: SECRET-half-of-the-token',
    ]) {
      const out = redactBotToken(text);
      expect(out).not.toContain('SECRET-half-of-the-token');
      expect(out).toContain('<redactado>');
    }
  });

  it('removes anything shaped like a bot token, known or not', () => {
    const fake = `1234567890:${'A'.repeat(35)}`;
    expect(redactBotToken(`x ${fake} y`)).toBe('x <redactado> y');
    expect(redactBotToken(`/bot1234567890%3A${'b'.repeat(35)}/getMe`)).toBe('/bot<redactado>/getMe');
  });

  it('an admin token put in a URL query is removed from the URL', () => {
    expect(redactUrl('/api/clientes?token=abc123&pagina=2')).toBe('/api/clientes?token=<redactado>&pagina=2');
    expect(redactUrl('/api/x?access_token=s3cr3t')).toBe('/api/x?access_token=<redactado>');
    expect(redactUrl('/api/x?buscar=ana')).toBe('/api/x?buscar=ana');
  });
});

describe('the sender against an echoing Bot API server', () => {
  it('the stored error (ultimo_error) never carries the token, plain or percent-encoded', async () => {
    const standin = await startStandin({ token: '555111:ECHO-TOKEN-sender-only' });
    try {
      const sender = createTelegramSender({ token: standin.token, apiRoot: standin.url, timeoutMs: 5000 });
      for (const fault of [
        { kind: 'echo_url' as const },
        { kind: 'echo_url' as const, encoded: true },
        { kind: 'echo_url' as const, status: 400 },
      ]) {
        standin.failNext(1, fault);
        const r = await sender.sendMessage(1, 'hola', { html: false });
        expect(r.ok).toBe(false);
        if (r.ok) continue;
        // The fault really echoes: the description names the method's URL.
        expect(describeFailure(r.failure)).toContain('/sendMessage');
        expect(describeFailure(r.failure)).not.toContain('ECHO-TOKEN-sender-only');
        expect(JSON.stringify(r.failure)).not.toContain('ECHO-TOKEN-sender-only');
      }
    } finally {
      await standin.close();
    }
  });
});

describeEachDb('admin answers and logs with an echoing Bot API server', (ctx) => {
  let h: BotHarness;
  const captured = capturingLogger();
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling', logger: captured.logger });
  });
  afterAll(async () => {
    await h?.close();
  });
  const secretHalf = () => h.standin.token.split(':')[1]!;

  it('telegram/test and configurar-webhook answer the error without the token; logs neither', async () => {
    for (const fault of [{ kind: 'echo_url' as const }, { kind: 'echo_url' as const, encoded: true }]) {
      h.standin.failNext(1, { ...fault, status: 400 }, { method: 'sendMessage' });
      const test = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/test/',
        headers: auth,
        payload: { chat_id: 4242, mensaje: 'Prueba' },
      });
      expect(test.statusCode).toBe(502);
      expect(test.json().error.code).toBe('TELEGRAM_RECHAZO');
      expect(test.body).toContain('sendMessage');
      expect(test.body).not.toContain(secretHalf());

      h.standin.failNext(1, fault, { method: 'setWebhook' });
      const hook = await h.app.inject({
        method: 'POST',
        url: '/api/notificaciones/telegram/configurar-webhook/',
        headers: auth,
        payload: { webhook_url: 'https://teltec.example.ec/api/notificaciones/telegram/webhook/' },
      });
      expect(hook.statusCode).toBe(502);
      expect(hook.body).toContain('setWebhook');
      expect(hook.body).not.toContain(secretHalf());
    }
    expect(captured.lines.join('')).not.toContain(secretHalf());
  });

  it('an admin token wrongly put in the URL query is not logged', async () => {
    await h.app.inject({ url: '/api/clientes?token=QUERY-SECRET-123&pagina=1', headers: auth });
    const out = captured.lines.join('');
    expect(out).toContain('/api/clientes?token=<redactado>');
    expect(out).not.toContain('QUERY-SECRET-123');
  });
});

describeEachDb('test send: a chosen client, rendered as the real send, Telegram’s real answer', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('by cliente_id: the client’s chat, variables and HTML rendered like the real send', async () => {
    const c = await seedClient(ctx.db, cedulaFor(70_000 + nextId()), { nombre: 'Rosa <Paz>' });
    const chat = 880_000 + nextId();
    await ctx.db.query('UPDATE clients SET chat_id = $2, link_verified = true WHERE id = $1', [c.id, chat]);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/test/',
      headers: auth,
      payload: { cliente_id: c.id, mensaje: 'Hola {nombre}: <b>su plan {plan}</b>' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, cliente_id: c.id, respuesta: { chat_id: chat } });
    const sent = h.standin.sentTo(chat).at(-1)!;
    expect(sent.text).toBe('Hola Rosa &lt;Paz&gt;: <b>su plan Hogar 50</b>');
    expect(sent.parse_mode).toBe('HTML');

    // A saved template for that client (the reminder), exactly as the dispatcher composes it.
    const reminder = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/test/',
      headers: auth,
      payload: { cliente_id: c.id, tipo: 'recordatorio_pago' },
    });
    expect(reminder.statusCode, reminder.body).toBe(200);
    expect(h.standin.sentTo(chat).at(-1)!.text).toContain('por <b>$25,00</b> vence el 31/03/2026');
  });

  it('a chat that does not exist is a clear error, not "enviado"; a client without chat is refused', async () => {
    h.standin.unknownChats.add(5550);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/test/',
      headers: auth,
      payload: { chat_id: 5550, mensaje: 'Prueba' },
    });
    expect(res.statusCode).toBe(502);
    expect(res.json().error.mensaje).toContain('el chat no existe para este bot');
    expect(res.json().error.mensaje).toContain('No se envió');
    const c = await seedClient(ctx.db, cedulaFor(70_000 + nextId()));
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/test/',
      headers: auth,
      payload: { cliente_id: c.id, mensaje: 'Prueba' },
    });
    expect(none.statusCode).toBe(422);
    expect(none.json().error.code).toBe('CLIENTE_SIN_TELEGRAM');
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/test/',
      headers: auth,
      payload: { chat_id: 5551, mensaje: '<b>sin cerrar' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.mensaje).toContain('etiqueta <b> sin cerrar');
  });
});
