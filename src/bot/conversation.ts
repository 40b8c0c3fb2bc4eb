import { Composer } from 'grammy';
import type { Logger } from '../logger.js';
import { recordIncoming } from '../messages/index.js';
import type { BotContext, ConversationDeps } from './context.js';
import { createIntake } from './intake.js';
import { createPaymentChat } from './payment-chat.js';
import { createPreferences } from './preferences.js';
import { createRegistration } from './registration.js';
import { createSelfService } from './self-service.js';
import { createStaffLink } from './staff.js';
import { createUnsubscribe } from './unsubscribe.js';

export type { BotContext, ConversationDeps } from './context.js';

/**
 * The conversation: the intake layer (logger, private chats only), then one composer per
 * feature — registration, self-service, preferences, unsubscribe — then the fallbacks for
 * anything no feature took (an old button, an unknown command, free text).
 */
export function createConversation(d: ConversationDeps & { log: Logger }): Composer<BotContext> {
  const { texts, links, db } = d;
  const root = new Composer<BotContext>();
  root.use(createIntake({ log: d.log, texts, username: d.username }));
  root.use(createStaffLink(d)); // staff alerts (issue 15 §5), before a code is taken for a cédula
  root.use(createPaymentChat(d)); // payment buttons, receipts, promises (issue 13), before "cancelar" resets a step
  root.use(createRegistration(d), createSelfService(d), createPreferences(d), createUnsubscribe(d));

  const fallback = root.chatType('private');
  fallback.on('callback_query', (ctx) => ctx.answerCallbackQuery({ text: texts.unknownButton }));
  // Free text no command or flow took is not lost (issue 13 §8): it goes to the staff inbox
  // ("Mensajes") and the sender learns it arrived and when staff answer. Nothing about the client
  // is said here, so a link nobody verified learns nothing either.
  fallback.on('message:text', async (ctx, next) => {
    const text = ctx.message.text.trim();
    if (text.startsWith('/') || text === '') return next();
    const now = d.clock.now();
    const linked = await links.linkedClient(db, ctx.chat.id);
    const stored = await recordIncoming(db, {
      clientId: linked?.id ?? null,
      chatId: ctx.chat.id,
      canal: 'telegram',
      texto: text,
      verified: linked ? linked.link_verified : null,
      origen: `telegram:${ctx.me.id}:${ctx.update.update_id}`,
      now,
    });
    ctx.log.info(
      { clientId: linked?.id, messageId: stored?.id },
      'mensaje del cliente guardado en la bandeja',
    );
    if (!stored?.acknowledge) return;
    const s = await d.engineSettings();
    await ctx.reply(texts.messageReceived(s.company.horario, linked !== null));
  });
  fallback.on('message', async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    await ctx.reply(linked ? texts.hint : texts.hintNotLinked);
  });
  return root;
}
