import { Composer } from 'grammy';
import type { Logger } from '../logger.js';
import type { BotContext } from './context.js';
import type { Texts } from './texts.js';

/**
 * The intake layer in front of every feature: scopes a logger to the update and chat, and lets
 * only private chats through (a group gets one pointer to the private chat, a button a short
 * answer). Invariant: the feature composers only ever see private chats.
 */
export function createIntake(opts: { log: Logger; texts: Texts; username(): string }): Composer<BotContext> {
  const { texts } = opts;
  const intake = new Composer<BotContext>();
  intake.use(async (ctx, next) => {
    ctx.log = opts.log.child({ updateId: ctx.update.update_id, chatId: ctx.chat?.id });
    await next();
  });
  intake.use(async (ctx, next) => {
    const type = ctx.chat?.type;
    if (type === 'private') return next();
    if (ctx.callbackQuery) {
      await ctx.answerCallbackQuery({ text: texts.privateOnlyShort });
      return;
    }
    if (type === 'group' || type === 'supergroup') {
      const added =
        ctx.myChatMember &&
        ['member', 'administrator'].includes(ctx.myChatMember.new_chat_member.status) &&
        !['member', 'administrator'].includes(ctx.myChatMember.old_chat_member?.status ?? 'left');
      const command = ctx.message?.entities?.some((e) => e.type === 'bot_command' && e.offset === 0);
      if (added || command) await ctx.reply(texts.privateOnly(opts.username()));
    }
    ctx.log.debug({ chatType: type }, 'actualización fuera de un chat privado: ignorada');
  });
  return intake;
}
