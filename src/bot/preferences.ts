import { Composer } from 'grammy';
import type { InlineKeyboardMarkup } from 'grammy/types';
import { type BotContext, type ConversationDeps, ignoreNotModified, preferencesKeyboard } from './context.js';
import type { LinkedClient } from './links.js';
import { buttons, type PreferenceKey, preferredChannelChanged, preferredChannelLine } from './texts.js';
import { localMobile, recordWhatsAppAnswer, whatsappOptInState } from './whatsapp-optin.js';

/**
 * /preferencias and its buttons: offers and maintenance notices on or off; and, for a verified
 * link with a WhatsApp number on file, the WhatsApp opt-in question (issue 10 §7), recorded in the
 * consent ledger with source 'telegram'. With WhatsApp consented, the client also picks the channel
 * notices go by (`clients.canal_preferido`, issue 10 §8; the channel policy honours it while the
 * channel can reach the client).
 */

/** The client's preferred channel as /preferencias shows it (none = Telegram, the default when linked). */
async function preferredChannel(
  db: ConversationDeps['db'],
  clientId: number,
): Promise<'telegram' | 'whatsapp'> {
  const { rows } = await db.query<{ canal_preferido: string | null }>(
    'SELECT canal_preferido FROM clients WHERE id = $1',
    [clientId],
  );
  return rows[0]?.canal_preferido === 'whatsapp' ? 'whatsapp' : 'telegram';
}
export function createPreferences(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, db } = d;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');

  /** The menu's text and buttons for this client now. */
  async function menu(linked: LinkedClient): Promise<{ text: string; reply_markup: InlineKeyboardMarkup }> {
    let text = texts.preferences({ ofertas: linked.pref_ofertas, mantenimiento: linked.pref_mantenimiento });
    const keyboard = preferencesKeyboard(texts, linked);
    // A chat linked with the cédula alone could be anyone: it is never asked for a consent.
    const wa = linked.link_verified ? await whatsappOptInState(db, linked.id) : null;
    if (!wa) return { text, reply_markup: keyboard };
    text += texts.preferencesWhatsApp(localMobile(wa.numero), wa.consent);
    const canal = wa.consent ? await preferredChannel(db, linked.id) : null;
    if (canal) text += preferredChannelLine(canal);
    return {
      text,
      reply_markup: {
        inline_keyboard: [
          ...keyboard.inline_keyboard,
          [
            wa.consent
              ? { text: buttons.whatsappNo, callback_data: 'wa:0' }
              : { text: buttons.whatsappYes, callback_data: 'wa:1' },
          ],
          ...(canal === 'telegram'
            ? [[{ text: buttons.preferWhatsApp, callback_data: 'canal:whatsapp' }]]
            : []),
          ...(canal === 'whatsapp'
            ? [[{ text: buttons.preferTelegram, callback_data: 'canal:telegram' }]]
            : []),
        ],
      },
    };
  }

  bot.command('preferencias', async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    const m = await menu(linked);
    await ctx.reply(m.text, { reply_markup: m.reply_markup });
  });

  bot.callbackQuery(/^pref:(ofertas|mantenimiento):([01])$/, async (ctx) => {
    const key = ctx.match[1] as PreferenceKey;
    const on = ctx.match[2] === '1';
    const updated = await links.setPreference(ctx.chat.id, key, on);
    if (!updated) {
      await ctx.answerCallbackQuery({ text: texts.notLinked.slice(0, 190) });
      return;
    }
    ctx.log.info({ clientId: updated.id, [key]: on }, 'preferencia cambiada');
    await ctx.answerCallbackQuery({ text: texts.preferenceChanged(key, on) });
    const m = await menu(updated);
    await ctx.editMessageText(m.text, { reply_markup: m.reply_markup }).catch(ignoreNotModified);
  });

  bot.callbackQuery(/^wa:([01])$/, async (ctx) => {
    const on = ctx.match[1] === '1';
    const linked = await links.linkedClient(db, ctx.chat.id);
    const wa = linked?.link_verified ? await whatsappOptInState(db, linked.id) : null;
    if (!linked || !wa) {
      await ctx.answerCallbackQuery({ text: (linked ? texts.unknownButton : texts.notLinked).slice(0, 190) });
      return;
    }
    // A stale button (already in that state) records nothing: the ledger holds decisions, not taps.
    if (wa.consent !== on) {
      await db.transaction((tx) =>
        recordWhatsAppAnswer(tx, {
          clientId: linked.id,
          otorgado: on,
          fuente: 'telegram',
          evidencia: `Telegram, chat ${ctx.chat.id}: ${on ? 'aceptó' : 'retiró'} en /preferencias (número ${wa.numero})`,
          at: d.clock.now(),
        }),
      );
      ctx.log.info({ clientId: linked.id, whatsapp: on }, 'consentimiento de WhatsApp desde Telegram');
    }
    await ctx.answerCallbackQuery({ text: texts.whatsappChanged(on) });
    const m = await menu(linked);
    await ctx.editMessageText(m.text, { reply_markup: m.reply_markup }).catch(ignoreNotModified);
  });

  bot.callbackQuery(/^canal:(telegram|whatsapp)$/, async (ctx) => {
    const canal = ctx.match[1] as 'telegram' | 'whatsapp';
    const linked = await links.linkedClient(db, ctx.chat.id);
    const wa = linked?.link_verified ? await whatsappOptInState(db, linked.id) : null;
    // Only a verified chat with WhatsApp consented chooses: otherwise Telegram is the only way.
    if (!linked || !wa?.consent) {
      await ctx.answerCallbackQuery({ text: (linked ? texts.unknownButton : texts.notLinked).slice(0, 190) });
      return;
    }
    await db.query('UPDATE clients SET canal_preferido = $2, updated_at = $3 WHERE id = $1', [
      linked.id,
      canal,
      d.clock.now(),
    ]);
    ctx.log.info({ clientId: linked.id, canal }, 'canal preferido cambiado desde Telegram');
    await ctx.answerCallbackQuery({ text: preferredChannelChanged(canal) });
    const m = await menu(linked);
    await ctx.editMessageText(m.text, { reply_markup: m.reply_markup }).catch(ignoreNotModified);
  });

  return composer;
}
