import { Composer } from 'grammy';
import { type BotContext, type ConversationDeps, ignoreNotModified } from './context.js';
import { buttons } from './texts.js';

/** /baja with its confirmation: the chat stops receiving notices and is unlinked. */
export function createUnsubscribe(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, db } = d;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');

  bot.command('baja', async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    await ctx.reply(texts.bajaConfirm, {
      reply_markup: {
        inline_keyboard: [
          [{ text: buttons.bajaYes, callback_data: 'baja:si' }],
          [{ text: buttons.bajaNo, callback_data: 'baja:no' }],
        ],
      },
    });
  });

  bot.callbackQuery(/^baja:(si|no)$/, async (ctx) => {
    if (ctx.match[1] === 'no') {
      await ctx.answerCallbackQuery();
      await ctx.editMessageText(texts.bajaKept).catch(ignoreNotModified);
      return;
    }
    const clientId = await links.unlink(ctx.chat.id, d.clock.now());
    ctx.log.info({ clientId }, clientId === null ? 'baja sin vínculo' : 'chat desvinculado por el usuario');
    await ctx.answerCallbackQuery({ text: clientId === null ? undefined : texts.bajaDoneShort });
    await ctx.editMessageText(clientId === null ? texts.notLinked : texts.bajaDone).catch(ignoreNotModified);
  });

  return composer;
}
