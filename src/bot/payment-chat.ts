import { Composer } from 'grammy';
import type { InlineKeyboardButton } from 'grammy/types';
import {
  formatDate,
  hasPaymentButtons,
  parsePaymentButton,
  paymentButtonData,
  toEngineSettings,
} from '../notifications/index.js';
import {
  downloadLimited,
  FileTooLargeError,
  makePromise,
  promiseDates,
  RECEIPT_MAX_BYTES,
  type ReceiptState,
  takeReceipt,
} from '../receipts/index.js';
import { localDate } from '../time.js';
import { receiptStates } from '../vocabulary.js';
import { type BotContext, type ConversationDeps, isCancel, removeKeyboard } from './context.js';

/**
 * The payment notices' buttons (issue 13 §1, §2, §4): "✅ Ya pagué" asks for the receipt and takes
 * the photo or PDF that follows; "📅 Pagaré el…" offers dates and records the promise; "💳 Cómo
 * pagar" answers with the provider's payment instructions.
 *
 * A button's data names a notice (src/notifications/payment-buttons.ts); it acts only when that
 * notice belongs to the client linked to this chat, and only for a verified link. Anything else —
 * a forged button, one replayed from another client's chat — does nothing and is logged.
 */
export function createPaymentChat(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, db, chats } = d;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');
  const settings = () => toEngineSettings(d.config);
  const today = () => localDate(d.clock.now(), d.config.timeZone);

  /** The client's due date today (the cycle a button may still act on). */
  async function currentDue(clientId: number): Promise<string | null> {
    const s = settings();
    const { rows } = await db.query<{ v: string | null }>(
      'SELECT vencimiento::text AS v FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4',
      [today(), s.cycleDays, s.reminderDaysBefore, clientId],
    );
    return rows[0]?.v ?? null;
  }

  bot.callbackQuery(/^pg:/, async (ctx) => {
    const chatId = ctx.chat.id;
    const data = ctx.callbackQuery.data;
    const parsed = parsePaymentButton(data);
    const linked = await links.linkedClient(db, chatId);
    const notice = parsed
      ? (
          await db.query<{ client_id: number | null; tipo: string; ciclo: string | null }>(
            'SELECT client_id, tipo, ciclo::text AS ciclo FROM notifications WHERE id = $1',
            [parsed.notificationId],
          )
        ).rows[0]
      : undefined;
    if (
      !parsed ||
      !linked ||
      !notice ||
      notice.client_id !== linked.id ||
      !hasPaymentButtons(notice.tipo) ||
      !notice.ciclo
    ) {
      ctx.log.warn(
        { data, clientId: linked?.id ?? null, ownerId: notice?.client_id ?? null },
        'botón de pago falsificado o de otro cliente: no se hace nada',
      );
      return void (await ctx.answerCallbackQuery({ text: texts.paymentButtonInvalid }));
    }
    if (!linked.link_verified) {
      return void (await ctx.answerCallbackQuery({ text: texts.paymentButtonUnverified, show_alert: true }));
    }
    const clientId = linked.id;
    const ciclo = notice.ciclo;
    const now = d.clock.now();
    if (parsed.action === 'como_pagar') {
      await ctx.answerCallbackQuery();
      return void (await ctx.reply(await d.howToPay()));
    }
    if ((await currentDue(clientId)) !== ciclo) {
      await ctx.answerCallbackQuery();
      return void (await ctx.reply(texts.alreadyPaid));
    }
    switch (parsed.action) {
      case 'ya_pague': {
        await chats.set(chatId, { estado: 'esperando_comprobante', clientId }, now);
        ctx.log.info({ clientId }, 'el cliente dice que ya pagó: se pide el comprobante');
        await ctx.answerCallbackQuery();
        return void (await ctx.reply(texts.askReceipt));
      }
      case 'pagare': {
        await ctx.answerCallbackQuery();
        const prev = await db.query<{ f: string }>(
          'SELECT fecha_prometida::text AS f FROM payment_promises WHERE client_id = $1 AND ciclo = $2',
          [clientId, ciclo],
        );
        if (prev.rows[0]) return void (await ctx.reply(texts.promiseAlready(formatDate(prev.rows[0].f))));
        const dates = promiseDates(ciclo, today(), d.config.payments.promiseGraceDays);
        if (dates.length === 0) return void (await ctx.reply(texts.promiseTooLate));
        const keys: InlineKeyboardButton[] = dates.map((f) => ({
          text: formatDate(f),
          callback_data: paymentButtonData('fecha', parsed.notificationId, f),
        }));
        const rows: InlineKeyboardButton[][] = [];
        for (let i = 0; i < keys.length; i += 2) rows.push(keys.slice(i, i + 2));
        return void (await ctx.reply(texts.promiseAsk(formatDate(ciclo)), {
          reply_markup: { inline_keyboard: rows },
        }));
      }
      case 'fecha': {
        const fecha = parsed.date!;
        const result = await db.transaction((tx) =>
          makePromise(
            tx,
            { clientId, ciclo, fecha, today: today(), graceDays: d.config.payments.promiseGraceDays },
            now,
          ),
        );
        await ctx.answerCallbackQuery();
        if (!result.ok) {
          return void (await ctx.reply(
            result.reason === 'ya_prometido'
              ? texts.promiseAlready(formatDate(result.fecha))
              : texts.promiseInvalidDate,
          ));
        }
        ctx.log.info({ clientId, fecha }, 'promesa de pago registrada: avisos en pausa');
        // The date keyboard goes: the answer replaces it.
        await ctx.editMessageText(texts.promiseSaved(formatDate(fecha))).catch(() => {});
        return;
      }
    }
  });

  bot.on('message:text', async (ctx, next) => {
    if (!isCancel(ctx.message.text.trim())) return next();
    const now = d.clock.now();
    const state = await chats.get(ctx.chat.id, now);
    if (state.estado !== 'esperando_comprobante') return next();
    await chats.set(ctx.chat.id, { estado: 'inicio' }, now);
    await ctx.reply('Listo. Cuando tenga el comprobante, toque «✅ Ya pagué» otra vez.', {
      reply_markup: removeKeyboard,
    });
  });

  bot.on(['message:photo', 'message:document'], async (ctx, next) => {
    const chatId = ctx.chat.id;
    const now = d.clock.now();
    const state = await chats.get(chatId, now);
    const linked = await links.linkedClient(db, chatId);
    if (state.estado !== 'esperando_comprobante' || !linked || linked.id !== state.clientId) {
      if (linked?.link_verified) return void (await ctx.reply(texts.receiptNotExpected));
      return next();
    }
    const m = ctx.message;
    const file = m.photo ? m.photo[m.photo.length - 1]! : m.document!;
    const claimed = m.document
      ? { nombre: m.document.file_name, mime: m.document.mime_type }
      : { foto: true };
    const tooBig = async (bytes: number) => {
      ctx.log.info({ clientId: linked.id, bytes, ...claimed }, 'comprobante rechazado: demasiado grande');
      await ctx.reply(texts.receiptTooBig((bytes / 1024 / 1024).toFixed(1).replace('.', ',')));
    };
    // Telegram's file_size first (no download at all), then while downloading.
    if ((file.file_size ?? 0) > RECEIPT_MAX_BYTES) return tooBig(file.file_size!);
    let bytes: Buffer;
    try {
      const info = await ctx.api.getFile(file.file_id);
      if ((info.file_size ?? 0) > RECEIPT_MAX_BYTES) return tooBig(info.file_size!);
      if (!info.file_path) throw new Error('getFile sin file_path');
      bytes = await downloadLimited(d.fileUrl(info.file_path), RECEIPT_MAX_BYTES);
    } catch (err) {
      if (err instanceof FileTooLargeError) return tooBig(err.bytes);
      ctx.log.warn(
        { clientId: linked.id, err: (err as Error).message },
        'no se pudo descargar el comprobante',
      );
      return void (await ctx.reply(texts.receiptDownloadFailed));
    }
    const result = await takeReceipt(
      db,
      {
        dataDir: d.config.dataDir,
        clientId: linked.id,
        chatId,
        bytes,
        pauseDays: d.config.payments.receiptPauseDays,
      },
      { settings: settings(), today: today(), now },
    );
    if (!result.ok && result.reason === 'tipo') {
      ctx.log.warn(
        { clientId: linked.id, bytes: bytes.length, ...claimed },
        'comprobante rechazado: no es imagen ni PDF',
      );
      return void (await ctx.reply(texts.receiptWrongType));
    }
    await chats.set(chatId, { estado: 'inicio' }, now);
    if (!result.ok) {
      ctx.log.info({ clientId: linked.id, receiptId: result.id }, 'comprobante repetido: ya estaba recibido');
      const fecha = formatDate(localDate(result.recibido, d.config.timeZone));
      return void (await ctx.reply(
        texts.receiptRepeated(fecha, receiptStates.label(result.estado satisfies ReceiptState).toLowerCase()),
      ));
    }
    ctx.log.info({ clientId: linked.id, receiptId: result.id, bytes: bytes.length }, 'comprobante recibido');
    await ctx.reply(texts.receiptThanks(d.config.payments.receiptPauseDays));
  });

  return composer;
}
