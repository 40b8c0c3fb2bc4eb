import { Composer } from 'grammy';
import { howToPayMessage } from '../notifications/index.js';
import type { BotContext, ConversationDeps } from './context.js';
import { clientDataText } from './my-data.js';
import { clientStatusText } from './status.js';

/** Self-service for a linked chat: /status, /misdatos, /help, /contact, /comopagar. */
export function createSelfService(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, db } = d;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');

  bot.command(['status', 'estado'], async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    if (!linked.link_verified && !d.config.bot.unverifiedFullNotices) {
      // Whoever typed a cédula with no phone on file holds this chat: no billing data for them.
      return void (await ctx.reply(texts.statusUnverified));
    }
    const text = await clientStatusText(d, linked.id);
    await ctx.reply(text ?? texts.notLinked);
  });

  // Issue 11 §4: what we hold about the client and their consents; a verified link only.
  bot.command(['misdatos', 'mis_datos'], async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    if (!linked.link_verified) return void (await ctx.reply(texts.myDataUnverified));
    const text = await clientDataText(d, linked.id);
    await ctx.reply(text ?? texts.notLinked);
  });

  // Issue 13 §5: bank accounts, payment points and link from Ajustes (public data: any chat).
  bot.command(['comopagar', 'pagar'], async (ctx) => {
    await ctx.reply(howToPayMessage(await d.engineSettings()), {
      link_preview_options: { is_disabled: true },
    });
  });
  bot.command(['help', 'ayuda'], (ctx) => ctx.reply(texts.help));
  bot.command(['contact', 'contacto'], (ctx) => ctx.reply(texts.contact()));

  return composer;
}
