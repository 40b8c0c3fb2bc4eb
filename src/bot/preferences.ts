import { Composer } from 'grammy';
import { type BotContext, type ConversationDeps, ignoreNotModified, preferencesKeyboard } from './context.js';
import type { PreferenceKey } from './texts.js';

/** /preferencias and its buttons: offers and maintenance notices on or off. */
export function createPreferences(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, db } = d;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');

  bot.command('preferencias', async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    await ctx.reply(
      texts.preferences({ ofertas: linked.pref_ofertas, mantenimiento: linked.pref_mantenimiento }),
      { reply_markup: preferencesKeyboard(texts, linked) },
    );
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
    await ctx
      .editMessageText(
        texts.preferences({ ofertas: updated.pref_ofertas, mantenimiento: updated.pref_mantenimiento }),
        { reply_markup: preferencesKeyboard(texts, updated) },
      )
      .catch(ignoreNotModified);
  });

  return composer;
}
