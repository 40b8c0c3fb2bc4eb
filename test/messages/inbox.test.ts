import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWhatsAppReplies } from '../../src/bot/whatsapp-replies.js';
import { recordConsents } from '../../src/clients/index.js';
import { createManualClock } from '../../src/clock.js';
import type { Dispatcher } from '../../src/notifications/index.js';
import { createTelegramSender } from '../../src/telegram/send.js';
import { BASE_NOW, type BotHarness, nextId, seedClient, startBotHarness } from '../bot/support.js';
import { testDispatcher } from '../notifications/support.js';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

/**
 * Issue 13 §8: free text a client writes is stored in the "Mensajes" inbox, the client is told it
 * arrived (with the opening hours), and a staff answer reaches the client's chat through the
 * outbox — the real bot, the real API and the dispatcher against the Bot API stand-in.
 */
describeEachDb('Mensajes inbox (issue 13 §8)', (ctx) => {
  let h: BotHarness;
  let dispatcher: Dispatcher;
  const fresh = () => {
    const n = nextId() + 40_000;
    return { cedula: cedulaFor(n), chatId: 810_000 + n };
  };

  beforeAll(async () => {
    h = await startBotHarness(ctx.db, {
      mode: 'polling',
      env: { EMPRESA_HORARIO: 'Lunes a viernes 08:00-17:00' },
    });
    const sender = createTelegramSender({ token: h.standin.token, apiRoot: h.standin.url, timeoutMs: 5000 });
    dispatcher = testDispatcher(ctx.db, sender, { clock: h.clock });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function linkedClient(verified = true) {
    const { cedula, chatId } = fresh();
    const c = await seedClient(ctx.db, cedula, { nombre: 'Rosa Chávez' });
    await ctx.db.query('UPDATE clients SET chat_id = $2, link_verified = $3 WHERE id = $1', [
      c.id,
      chatId,
      verified,
    ]);
    return { client: c, u: h.user({ chatId }) };
  }

  it('free text is stored and acknowledged once per burst, with the opening hours', async () => {
    const { client, u } = await linkedClient();
    const ack = await h.say(u, 'no tengo internet desde ayer');
    expect(ack).toContain('Recibimos su mensaje');
    expect(ack).toContain('Lunes a viernes 08:00-17:00');
    expect(ack).not.toContain('/start');
    // A second message a minute later is stored, but not acknowledged again.
    h.clock.advance(60_000);
    expect(await h.say(u, 'ya reinicié el router')).toBe('');
    const res = await h.app.inject({
      method: 'GET',
      url: `/api/mensajes?cliente_id=${client.id}`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.mensajes.map((m: { texto: string }) => m.texto)).toEqual([
      'ya reinicié el router',
      'no tengo internet desde ayer',
    ]);
    expect(body.mensajes[0]).toMatchObject({
      cliente_id: client.id,
      cliente: 'Rosa Chávez',
      estado: 'nuevo',
      canal: 'telegram',
      vinculo_verificado: true,
    });
    expect(body.nuevos).toBeGreaterThanOrEqual(2);
    expect(body.total).toBe(2);
    // Pages: the second of one message each holds the older one; past the end, none, the same total.
    const page = async (n: number) =>
      (
        await h.app.inject({
          method: 'GET',
          url: `/api/mensajes?cliente_id=${client.id}&por_pagina=1&pagina=${n}`,
          headers: auth,
        })
      ).json();
    expect(await page(2)).toMatchObject({ total: 2, mensajes: [{ texto: 'no tengo internet desde ayer' }] });
    expect(await page(3)).toMatchObject({ total: 2, mensajes: [], nuevos: body.nuevos });
    // Commands still answer as before and are not stored.
    expect(await h.say(u, '/foo')).toContain('No entendí');
    const n = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM client_messages WHERE client_id = $1',
      [client.id],
    );
    expect(n.rows[0]!.n).toBe(2);
    h.clock.set(BASE_NOW);
  });

  it('a staff answer reaches the client through the outbox, once, and marks the message answered', async () => {
    const { client, u } = await linkedClient();
    await h.say(u, '¿cuándo vienen a revisar la antena?');
    const list = (
      await h.app.inject({ method: 'GET', url: `/api/mensajes?cliente_id=${client.id}`, headers: auth })
    ).json();
    const id = list.mensajes[0].id as number;
    const answer = await h.app.inject({
      method: 'POST',
      url: `/api/mensajes/${id}/responder`,
      headers: auth,
      payload: { texto: 'Mañana entre 09:00 y 12:00 pasa el técnico.' },
    });
    expect(answer.statusCode).toBe(201);
    const before = h.standin.sent.length;
    await dispatcher.runOnce();
    const got = h.standin.sent.slice(before).filter((m) => m.chat_id === u.chatId);
    expect(got.map((m) => m.text)).toEqual(['Mañana entre 09:00 y 12:00 pasa el técnico.']);
    // Nothing more goes on the next pass.
    await dispatcher.runOnce();
    expect(h.standin.sent.slice(before).filter((m) => m.chat_id === u.chatId)).toHaveLength(1);
    const after = (
      await h.app.inject({ method: 'GET', url: `/api/mensajes?cliente_id=${client.id}`, headers: auth })
    ).json();
    expect(after.mensajes[0].estado).toBe('respondido');
    expect(after.mensajes[0].respuestas).toHaveLength(1);
    expect(after.mensajes[0].respuestas[0]).toMatchObject({
      texto: 'Mañana entre 09:00 y 12:00 pasa el técnico.',
      notificacion_estado: 'enviado',
    });
    // Writing to a client directly works the same way.
    const direct = await h.app.inject({
      method: 'POST',
      url: `/api/clientes/${client.id}/mensajes`,
      headers: auth,
      payload: { texto: 'El técnico ya va en camino.' },
    });
    expect(direct.statusCode).toBe(201);
    await dispatcher.runOnce();
    expect(h.standin.sent.slice(before).map((m) => m.text)).toContain('El técnico ya va en camino.');
  });

  it('an unlinked chat is stored without a client and told how to link; an unverified link reveals nothing', async () => {
    const { chatId } = fresh();
    const stranger = h.user({ chatId });
    const ack = await h.say(stranger, 'quiero contratar internet');
    expect(ack).toContain('Recibimos su mensaje');
    expect(ack).toContain('envíe /start');
    const row = await ctx.db.query<{ client_id: number | null; estado: string }>(
      'SELECT client_id, estado FROM client_messages WHERE chat_id = $1',
      [chatId],
    );
    expect(row.rows).toEqual([{ client_id: null, estado: 'nuevo' }]);

    const { client, u } = await linkedClient(false);
    const reply = await h.say(u, 'tengo una duda con mi factura');
    expect(reply).toContain('Recibimos su mensaje');
    expect(reply).not.toContain('Rosa');
    expect(reply).not.toContain('$');
    const list = (
      await h.app.inject({ method: 'GET', url: `/api/mensajes?cliente_id=${client.id}`, headers: auth })
    ).json();
    expect(list.mensajes[0].vinculo_verificado).toBe(false);
  });

  it('WhatsApp free text goes to the same inbox (acknowledged once); answering it outside the 24-hour window is a clear 409 (test/whatsapp/payments.test.ts answers inside it)', async () => {
    const { cedula } = fresh();
    const c = await seedClient(ctx.db, cedula, { nombre: 'Elena Vera' });
    await ctx.db.transaction((tx) =>
      recordConsents(tx, [
        {
          clientId: c.id,
          canal: 'whatsapp',
          categoria: 'servicio',
          otorgado: true,
          fuente: 'whatsapp',
          at: h.clock.now(),
        },
      ]),
    );
    const reply = createWhatsAppReplies({ db: ctx.db, config: h.config, clock: h.clock });
    const msg = (wamid: string, texto: string) =>
      reply({ wamid, from: '593991112233', texto, payload: null, clientId: c.id });
    expect(await msg('wamid.A1', 'la señal está muy lenta')).toContain('Recibimos su mensaje');
    expect(await msg('wamid.A2', 'desde la mañana')).toBeNull();
    expect(await msg('wamid.A2', 'desde la mañana')).toBeNull(); // a redelivery stores nothing twice
    const list = (
      await h.app.inject({ method: 'GET', url: `/api/mensajes?cliente_id=${c.id}`, headers: auth })
    ).json();
    expect(list.mensajes.map((m: { texto: string; canal: string }) => [m.canal, m.texto])).toEqual([
      ['whatsapp', 'desde la mañana'],
      ['whatsapp', 'la señal está muy lenta'],
    ]);
    const answer = await h.app.inject({
      method: 'POST',
      url: `/api/mensajes/${list.mensajes[0].id}/responder`,
      headers: auth,
      payload: { texto: 'Ya revisamos su línea.' },
    });
    expect(answer.statusCode).toBe(409);
    // The client never wrote through the webhook here: no window was opened.
    expect(answer.json().error.code).toBe('WHATSAPP_VENTANA_CERRADA');
    expect(answer.json().error.mensaje).toContain('no está abierta');
  });

  it('refuses clear 4xx: empty text, unknown message, client without Telegram', async () => {
    const empty = await h.app.inject({
      method: 'POST',
      url: '/api/mensajes/1/responder',
      headers: auth,
      payload: { texto: '   ' },
    });
    expect(empty.statusCode).toBe(422);
    const missing = await h.app.inject({
      method: 'POST',
      url: '/api/mensajes/99999999/responder',
      headers: auth,
      payload: { texto: 'hola' },
    });
    expect(missing.statusCode).toBe(404);
    const { cedula } = fresh();
    const offline = await seedClient(ctx.db, cedula);
    const noChat = await h.app.inject({
      method: 'POST',
      url: `/api/clientes/${offline.id}/mensajes`,
      headers: auth,
      payload: { texto: 'hola' },
    });
    expect(noChat.statusCode).toBe(422);
    expect(noChat.json().error.code).toBe('CLIENTE_SIN_TELEGRAM');
  });
});

describe('clock', () => {
  it('is manual in these tests', () => {
    expect(createManualClock(BASE_NOW).now().toISOString()).toBe('2026-03-10T15:00:00.000Z');
  });
});
