import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDispatcher,
  type Dispatcher,
  type EngineSettings,
  generatePaymentNotices,
  toEngineSettings,
} from '../../src/notifications/index.js';
import { settlePromises } from '../../src/receipts/index.js';
import { createTelegramSender } from '../../src/telegram/send.js';
import type { FakeUser, SentMessage } from '../../src/telegram/standin/index.js';
import { type BotHarness, startBotHarness } from '../bot/support.js';
import { createPlan, nextChatId, seedClients, silent } from '../notifications/support.js';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

/**
 * Issue 13 §1–§4 through the Telegram stand-in: the payment notice's buttons, the receipt that
 * follows "Ya pagué", the review (approve once, reject resumes), the promise to pay, and what is
 * refused (forged buttons, 12 MB files, an executable renamed .jpg).
 */

const JPEG = (seed: number) =>
  Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]),
    Buffer.from(`JFIF foto ${seed} `.repeat(50)),
  ]);
const PDF = (seed: number) => Buffer.from(`%PDF-1.4\n% comprobante ${seed}\n`.repeat(20));
const EXE = () => Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00'), Buffer.alloc(4000, 7)]);

const buttonsOf = (m: SentMessage) =>
  (
    (m.reply_markup as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined)
      ?.inline_keyboard ?? []
  ).flat();

describeEachDb('Payment loop in the chat (issue 13)', (ctx) => {
  let h: BotHarness;
  let dispatcher: Dispatcher;
  let settings: EngineSettings;
  let dataDir: string;
  let planId: number;
  const logLines: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-comprobantes-'));
    h = await startBotHarness(ctx.db, {
      mode: 'polling',
      // Warnings are kept: a forged button must leave a line.
      logger: pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) }),
      env: { DATA_DIR: dataDir, OVERDUE_REPEAT_DAYS: '2', RECEIPT_PAUSE_DAYS: '3', PROMISE_GRACE_DAYS: '5' },
    });
    settings = toEngineSettings(h.config);
    dispatcher = createDispatcher({
      db: ctx.db,
      sender: createTelegramSender({ token: h.standin.token, apiRoot: h.standin.url, timeoutMs: 5000 }),
      clock: h.clock,
      logger: silent,
      settings,
      options: { ratePerSecond: 1000, perChatPerSecond: 50, concurrency: 4, maxAttempts: 6, idleMs: 20 },
    });
    planId = await createPlan(ctx.db, `Plan pagos ${ctx.kind}`, 25);
  });
  afterAll(async () => {
    await dispatcher.stop({ drainMs: 1000 });
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const day = (iso: string) => h.clock.set(`${iso}T15:00:00Z`);
  const generate = (today: string) => generatePaymentNotices(ctx.db, settings, { today, now: h.clock.now() });
  const send = () => dispatcher.runOnce();

  /** A verified client due on `due` (paid 30 days before), and the chat's fake user. */
  async function client(due: string, opts: { verified?: boolean } = {}) {
    const chatId = nextChatId();
    const pago = new Date(Date.parse(`${due}T00:00:00Z`) - 30 * 86_400_000).toISOString().slice(0, 10);
    const [id] = await seedClients(ctx.db, [{ pago, chatId, planId, verified: opts.verified ?? true }]);
    return { id: id!, chatId, user: h.user({ chatId }) };
  }

  /** Generates and sends today's notices; returns the payment notice that reached `chatId`. */
  async function noticeTo(chatId: number, today: string): Promise<SentMessage> {
    day(today);
    await generate(today);
    const before = h.standin.sentTo(chatId).length;
    await send();
    const m = h.standin.sentTo(chatId).slice(before).at(-1);
    if (!m) throw new Error(`no notice reached chat ${chatId}`);
    return m;
  }

  const press = (u: FakeUser, data: string, messageId?: number) => h.act(u, (x) => x.press(data, messageId));
  const receipts = async (clientId: number) =>
    (
      await ctx.db.query<{ id: number; estado: string; archivo: string; tipo_mime: string }>(
        'SELECT id, estado, archivo, tipo_mime FROM payment_receipts WHERE client_id = $1 ORDER BY id',
        [clientId],
      )
    ).rows;
  const rows = async (clientId: number) =>
    (
      await ctx.db.query<{
        id: number;
        tipo: string;
        estado: string;
        motivo: string | null;
        paso: number | null;
        datos: Record<string, unknown>;
      }>('SELECT id, tipo, estado, motivo, paso, datos FROM notifications WHERE client_id = $1 ORDER BY id', [
        clientId,
      ])
    ).rows;

  it('a payment notice carries the three buttons; "Ya pagué" + a photo → receipt, pause; approving records the payment once', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.chatId, '2026-03-10');
    const labels = buttonsOf(notice).map((b) => b.text);
    expect(labels).toEqual(['✅ Ya pagué', '📅 Pagaré el…', '💳 Cómo pagar']);
    const [yaPague, , comoPagar] = buttonsOf(notice);

    // Cómo pagar: without accounts in Ajustes, how to ask (issue 13 §5: howToPayMessage).
    const how = await press(c.user, comoPagar!.callback_data, notice.message_id);
    expect(how.map((m) => m.text).join('\n')).toContain(
      'Para conocer las formas de pago, comuníquese con nosotros',
    );

    // The next overdue step is queued (not sent yet) before the client answers.
    day('2026-03-12');
    await generate('2026-03-12');
    const queued = (await rows(c.id)).find((r) => r.estado === 'pendiente');
    expect(queued?.tipo).toBe('pago_vencido');

    const ask = await press(c.user, yaPague!.callback_data, notice.message_id);
    expect(ask.map((m) => m.text).join()).toContain('foto o un PDF');
    const thanks = await h.act(c.user, (u) => u.sendPhoto(JPEG(1)));
    expect(thanks.map((m) => m.text).join()).toContain('Recibimos su comprobante');
    const [r] = await receipts(c.id);
    expect(r).toMatchObject({ estado: 'pendiente', tipo_mime: 'image/jpeg' });
    // Stored privately under DATA_DIR, never a public path.
    const file = path.join(dataDir, 'comprobantes', r!.archivo);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r!.archivo).not.toMatch(/\.\.|^\//);
    // The staff chats are told.
    const staff = await ctx.db.query<{ texto: string }>(
      `SELECT texto FROM staff_messages WHERE texto LIKE '%Comprobante%'`,
    );
    expect(staff.rows.length).toBeGreaterThan(0);

    // Resending the same file is recognised.
    const again = await h.act(c.user, async (u) => {
      await u.press(yaPague!.callback_data, notice.message_id);
      await u.sendPhoto(JPEG(1));
    });
    expect(again.map((m) => m.text).join()).toContain('ya lo recibimos');
    expect(await receipts(c.id)).toHaveLength(1);

    // Staff see it in the queue, with the file served only to them.
    const list = await h.app.inject({ url: '/api/comprobantes?estado=pendiente', headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json().comprobantes.map((x: { id: number }) => x.id)).toContain(r!.id);
    expect(list.json().pendientes).toBeGreaterThan(0);
    const detail = await h.app.inject({ url: `/api/comprobantes/${r!.id}`, headers: auth });
    expect(detail.json().sugerido).toMatchObject({ monto: 25, fecha: '2026-03-12' });
    const archivo = await h.app.inject({ url: `/api/comprobantes/${r!.id}/archivo`, headers: auth });
    expect(archivo.statusCode).toBe(200);
    expect(archivo.headers['content-type']).toBe('image/jpeg');
    expect(archivo.headers['x-content-type-options']).toBe('nosniff');
    expect(String(archivo.headers['content-disposition'])).toMatch(
      /^inline; filename="comprobante-\d+\.jpg"$/,
    );
    expect(archivo.rawPayload.equals(JPEG(1))).toBe(true);
    expect((await h.app.inject({ url: `/api/comprobantes/${r!.id}/archivo` })).statusCode).toBe(401);

    // Approve (twice): one payment, the queued notice cancelled, exactly one confirmation.
    const sentBefore = h.standin.sentTo(c.chatId).length;
    const approve = () =>
      h.app.inject({
        method: 'POST',
        url: `/api/comprobantes/${r!.id}/aprobar`,
        headers: auth,
        payload: { monto: 25, fecha: '2026-03-12', referencia: `REF-${ctx.kind}-1` },
      });
    const first = await approve();
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ nuevo: true, notificaciones_canceladas: 1, confirmacion: true });
    const second = await approve();
    expect(second.json()).toMatchObject({ nuevo: false, pago_id: first.json().pago_id });
    const pagos = await ctx.db.query('SELECT id FROM payments WHERE client_id = $1', [c.id]);
    expect(pagos.rows).toHaveLength(1);
    expect((await rows(c.id)).find((x) => x.id === queued!.id)).toMatchObject({
      estado: 'cancelado',
      motivo: 'pago_recibido',
    });
    await send();
    await send();
    const after = h.standin.sentTo(c.chatId).slice(sentBefore);
    expect(after).toHaveLength(1);
    expect((await rows(c.id)).filter((x) => x.tipo === 'pago_recibido')).toHaveLength(1);
    // The pause ended with the review.
    const open = await ctx.db.query('SELECT 1 FROM notice_pauses WHERE client_id = $1 AND ended_at IS NULL', [
      c.id,
    ]);
    expect(open.rows).toHaveLength(0);

    // The same bank reference on another receipt is warned (409) unless confirmed.
    const other = await client('2026-03-10');
    const n2 = await noticeTo(other.chatId, '2026-03-12');
    await press(other.user, buttonsOf(n2)[0]!.callback_data, n2.message_id);
    await h.act(other.user, (u) =>
      u.sendDocument(PDF(7), { fileName: 'pago.pdf', mimeType: 'application/pdf' }),
    );
    const [r2] = await receipts(other.id);
    expect(r2?.tipo_mime).toBe('application/pdf');
    const dup = await h.app.inject({
      method: 'POST',
      url: `/api/comprobantes/${r2!.id}/aprobar`,
      headers: auth,
      payload: { referencia: `ref-${ctx.kind}-1` },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().error.code).toBe('REFERENCIA_DUPLICADA');
    const ok = await h.app.inject({
      method: 'POST',
      url: `/api/comprobantes/${r2!.id}/aprobar`,
      headers: auth,
      payload: { referencia: `ref-${ctx.kind}-1`, confirmar_referencia: true },
    });
    expect(ok.statusCode).toBe(200);
    // A reviewed receipt cannot be rejected afterwards.
    const late = await h.app.inject({
      method: 'POST',
      url: `/api/comprobantes/${r2!.id}/rechazar`,
      headers: auth,
      payload: { motivo: 'no se ve el monto' },
    });
    expect(late.json().error.code).toBe('COMPROBANTE_YA_REVISADO');
  });

  it('a receipt pauses the notices (generation and re-check); rejecting tells the client and resumes them', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.chatId, '2026-03-10');
    day('2026-03-12');
    await generate('2026-03-12'); // step 1 queued
    await press(c.user, buttonsOf(notice)[0]!.callback_data, notice.message_id);
    await h.act(c.user, (u) => u.sendPhoto(JPEG(2)));
    const [r] = await receipts(c.id);

    // The queued notice meets the pause at its re-check: cancelled, its key given back.
    const sentBefore = h.standin.sentTo(c.chatId).length;
    await send();
    expect(h.standin.sentTo(c.chatId).length).toBe(sentBefore);
    const paused = (await rows(c.id)).filter((x) => x.estado === 'cancelado');
    expect(paused.map((x) => x.motivo)).toEqual(['pausa_comprobante']);
    // Staff see the pause on the client.
    const mine = (await h.app.inject({ url: `/api/comprobantes?cliente_id=${c.id}`, headers: auth })).json();
    expect(mine.comprobantes.map((x: { id: number }) => x.id)).toEqual([r!.id]);
    expect(mine.pausas).toEqual([{ motivo: 'comprobante', hasta: '2026-03-15', ciclo: '2026-03-10' }]);
    // Generation makes nothing while paused.
    expect((await generate('2026-03-12')).total_creadas).toBe(0);

    const rej = await h.app.inject({
      method: 'POST',
      url: `/api/comprobantes/${r!.id}/rechazar`,
      headers: auth,
      payload: { motivo: 'la foto no se lee' },
    });
    expect(rej.statusCode).toBe(200);
    expect(rej.json()).toMatchObject({ nuevo: true, comprobante: { estado: 'rechazado' } });
    await send();
    const told = h.standin.sentTo(c.chatId).slice(sentBefore);
    expect(told.map((m) => m.text).join()).toContain('la foto no se lee');
    // Notices resume: today's step is made again.
    await generate('2026-03-12');
    const again = (await rows(c.id)).filter((x) => x.tipo === 'pago_vencido' && x.estado === 'pendiente');
    expect(again).toHaveLength(1);
    expect(again[0]!.paso).toBe(1);
  });

  it('a promise pauses the notices until its date; a broken promise resumes them with its own text', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.chatId, '2026-03-10');
    const offer = await press(c.user, buttonsOf(notice)[1]!.callback_data, notice.message_id);
    const dates = buttonsOf(offer.at(-1)!);
    // From the due date to 5 days after it.
    expect(dates.map((b) => b.text)).toEqual([
      '10/03/2026',
      '11/03/2026',
      '12/03/2026',
      '13/03/2026',
      '14/03/2026',
      '15/03/2026',
    ]);
    const pick = dates.find((b) => b.text === '13/03/2026')!;
    const saved = await press(c.user, pick.callback_data, offer.at(-1)!.message_id);
    expect(saved.map((m) => m.text).join()).toContain('13/03/2026');
    // One promise per cycle.
    const second = await press(c.user, buttonsOf(notice)[1]!.callback_data, notice.message_id);
    expect(second.map((m) => m.text).join()).toContain('Ya nos indicó que pagará el 13/03/2026');

    for (const d of ['2026-03-12', '2026-03-13']) {
      day(d);
      await ctx.db.transaction((tx) => settlePromises(tx, settings, { today: d, now: h.clock.now() }));
      await generate(d);
      expect((await rows(c.id)).filter((x) => x.estado === 'pendiente')).toHaveLength(0);
    }
    // The day after the promised date, still unpaid: broken, and its own notice goes out.
    // (Generating by hand settles promises first, as the daily run does.)
    day('2026-03-14');
    const gen = await h.app.inject({
      method: 'POST',
      url: '/api/notificaciones/generar-automaticas/',
      headers: auth,
    });
    expect(gen.statusCode).toBe(200);
    // The rules add nothing for this client: the broken promise's notice holds today's step (below).
    const promise = await ctx.db.query<{ estado: string }>(
      'SELECT estado FROM payment_promises WHERE client_id = $1',
      [c.id],
    );
    expect(promise.rows).toEqual([{ estado: 'incumplida' }]);
    const pending = (await rows(c.id)).filter((x) => x.estado === 'pendiente');
    expect(pending).toHaveLength(1);
    expect(pending[0]!.datos).toMatchObject({ variante: 'promesa_incumplida' });
    const before = h.standin.sentTo(c.chatId).length;
    await send();
    const msg = h.standin.sentTo(c.chatId).slice(before);
    expect(msg).toHaveLength(1);
    expect(msg[0]!.text).toContain('El plazo que nos indicó para su pago ya pasó');
    expect(buttonsOf(msg[0]!)).toHaveLength(3);

    const api = await h.app.inject({ url: '/api/promesas?fecha=2026-03-13', headers: auth });
    expect(api.statusCode).toBe(200);
    expect(
      api.json().promesas.map((p: { cliente_id: number; estado: string }) => [p.cliente_id, p.estado]),
    ).toContainEqual([c.id, 'incumplida']);
    expect(api.json().tasa_cumplimiento).not.toBeNull();
  });

  it('a receipt whose period was paid meanwhile says so to the reviewer', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.chatId, '2026-03-10');
    await press(c.user, buttonsOf(notice)[0]!.callback_data, notice.message_id);
    await h.act(c.user, (u) => u.sendPhoto(JPEG(33)));
    const [r] = await receipts(c.id);
    const paid = await h.app.inject({
      method: 'POST',
      url: `/api/clientes/${c.id}/pagos`,
      headers: auth,
      payload: { monto: 25, fecha: '2026-03-10' },
    });
    expect(paid.statusCode).toBe(201);
    const d = (await h.app.inject({ url: `/api/comprobantes/${r!.id}`, headers: auth })).json();
    expect(d.comprobante.ciclo).toBe('2026-03-10');
    expect(d.comprobante.vencimiento_hoy > d.comprobante.ciclo).toBe(true);
  });

  it('a forged or replayed button does nothing; an unverified link may not use them', async () => {
    const a = await client('2026-03-10');
    const b = await client('2026-03-10');
    const noticeA = await noticeTo(a.chatId, '2026-03-10');
    const dataA = buttonsOf(noticeA)[0]!.callback_data;
    const before = h.standin.sentTo(b.chatId).length;
    const callsBefore = h.standin.calls.length;
    // B replays A's button in B's own chat, and forges a few more.
    for (const data of [dataA, 'pg:y:999999999', 'pg:d:1:2026-03-11', 'pg:x:1']) {
      await h.act(b.user, (u) => u.press(data, 1));
    }
    expect(h.standin.sentTo(b.chatId).length).toBe(before);
    const answers = h.standin.calls.slice(callsBefore).filter((x) => x.method === 'answerCallbackQuery');
    expect(answers.map((x) => x.params.text)).toEqual(
      Array(4).fill('Este botón no es válido para esta cuenta.'),
    );
    const logged = logLines.filter(
      (l) => l.includes('botón de pago falsificado') && l.includes(String(b.chatId)),
    );
    expect(logged).toHaveLength(4);
    expect(JSON.parse(logged[0]!)).toMatchObject({ data: dataA, clientId: b.id, ownerId: a.id });
    const st = await ctx.db.query<{ estado: string }>('SELECT estado FROM bot_chats WHERE chat_id = $1', [
      b.chatId,
    ]);
    expect(st.rows[0]?.estado ?? 'inicio').toBe('inicio');
    expect(
      await ctx.db.query('SELECT 1 FROM payment_promises WHERE client_id = $1', [b.id]).then((r) => r.rows),
    ).toHaveLength(0);

    // A chat linked with the cédula alone gets no buttons (and pressing one is refused).
    const u = await client('2026-03-10', { verified: false });
    const safe = await noticeTo(u.chatId, '2026-03-10');
    expect(buttonsOf(safe)).toHaveLength(0);
    const own = (await rows(u.id))[0]!.id;
    const c2 = h.standin.calls.length;
    await h.act(u.user, (x) => x.press(`pg:y:${own}`, safe.message_id));
    const answer = h.standin.calls.slice(c2).find((x) => x.method === 'answerCallbackQuery');
    expect(String(answer?.params.text)).toContain('debe estar verificado');
    const st2 = await ctx.db.query<{ estado: string }>('SELECT estado FROM bot_chats WHERE chat_id = $1', [
      u.chatId,
    ]);
    expect(st2.rows[0]?.estado ?? 'inicio').toBe('inicio');
  });

  it('refuses a 12 MB file (by its stated size and while downloading) and an executable renamed .jpg', async () => {
    const c = await client('2026-03-10');
    const notice = await noticeTo(c.chatId, '2026-03-10');
    const yes = buttonsOf(notice)[0]!.callback_data;
    const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(12 * 1024 * 1024)]);

    await press(c.user, yes, notice.message_id);
    const calls = h.standin.calls.length;
    const stated = await h.act(c.user, (u) =>
      u.sendDocument(big, { fileName: 'pago.pdf', mimeType: 'application/pdf' }),
    );
    expect(stated.map((m) => m.text).join()).toContain('máximo es 10 MB');
    // Refused on Telegram's file_size: nothing was downloaded.
    expect(
      h.standin.calls.slice(calls).filter((x) => x.method === 'file' || x.method === 'getFile'),
    ).toHaveLength(0);

    // The client's app lies about the size: the download stops past 10 MB.
    const lied = await h.act(c.user, (u) =>
      u.sendDocument(big, { fileName: 'pago.pdf', mimeType: 'application/pdf', fileSize: 1000 }),
    );
    expect(lied.map((m) => m.text).join()).toContain('máximo es 10 MB');

    const exe = await h.act(c.user, (u) =>
      u.sendDocument(EXE(), { fileName: 'comprobante.jpg', mimeType: 'image/jpeg' }),
    );
    expect(exe.map((m) => m.text).join()).toContain('Solo aceptamos fotos');
    expect(await receipts(c.id)).toHaveLength(0);

    // Still waiting: a real photo is taken.
    const ok = await h.act(c.user, (u) => u.sendPhoto(JPEG(9)));
    expect(ok.map((m) => m.text).join()).toContain('Recibimos su comprobante');
    expect(await receipts(c.id)).toHaveLength(1);
    // The refusals were logged, and the download URL (it carries the bot token) never was.
    expect(logLines.some((l) => l.includes('no es imagen ni PDF'))).toBe(true);
    expect(logLines.join('\n')).not.toContain(h.standin.token.split(':')[1]!);
  });
});

describe('receipt files', () => {
  it('the magic bytes decide the type, not the name', async () => {
    const { sniffReceiptType } = await import('../../src/receipts/index.js');
    expect(sniffReceiptType(JPEG(1))).toBe('image/jpeg');
    expect(sniffReceiptType(PDF(1))).toBe('application/pdf');
    expect(sniffReceiptType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe(
      'image/png',
    );
    expect(sniffReceiptType(Buffer.from('RIFF\x00\x00\x00\x00WEBPVP8 '))).toBe('image/webp');
    expect(sniffReceiptType(EXE())).toBeNull();
    expect(sniffReceiptType(Buffer.from('<html><script>'))).toBeNull();
  });
});
