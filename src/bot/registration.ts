import { Composer } from 'grammy';
import { normalizePhone, validateCedula } from '../clients/index.js';
import {
  type BotContext,
  type ConversationDeps,
  contactKeyboard,
  isCancel,
  looksLikeCedula,
  removeKeyboard,
} from './context.js';
import { recordEvent } from './events.js';
import { invitationState } from './invitations.js';
import type { LinkMethod } from './links.js';

type PrivateContext = BotContext & { chat: { id: number } };

/**
 * Registration: /start (with or without an invitation token), the cédula, the contact check,
 * /cancelar, and block/unblock. Free text is taken here only while a registration step waits
 * for it (or when an unlinked chat types what looks like a cédula); anything else goes on.
 * Invariant: nothing about a client is said to a chat before that chat is linked to it.
 */
export function createRegistration(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, chats, attempts, invitations, lookups, db } = d;
  let lastBudgetWarnAt = -Infinity;
  const composer = new Composer<BotContext>();
  const bot = composer.chatType('private');

  bot.on('my_chat_member', async (ctx) => {
    const status = ctx.myChatMember.new_chat_member.status;
    if (status !== 'kicked' && status !== 'member') return;
    const blocked = status === 'kicked';
    const clientId = await links.setBlocked(ctx.chat.id, blocked, d.clock.now());
    ctx.log.info(
      { clientId, blocked },
      blocked ? 'el usuario bloqueó el bot' : 'el usuario desbloqueó el bot',
    );
  });

  async function link(
    ctx: PrivateContext,
    opts: { clientId: number; verified: boolean; method: LinkMethod; invitationId?: number },
  ) {
    const now = d.clock.now();
    const res = await links.link({
      ...opts,
      chatId: ctx.chat.id,
      userId: ctx.from?.id ?? null,
      username: ctx.from?.username ?? null,
      now,
    });
    if (!res.ok) {
      await chats.set(ctx.chat.id, { estado: 'esperando_cedula' }, now);
      const why = res.reason === 'invitacion_no_disponible' ? texts.invitationUsed : '';
      await ctx.reply(`${why}\n\n${texts.askCedulaAgain}`.trim(), { reply_markup: removeKeyboard });
      return;
    }
    ctx.log.info(
      {
        clientId: opts.clientId,
        verified: opts.verified,
        method: opts.method,
        moved: res.previousChatId !== null,
      },
      'chat vinculado',
    );
    const extra = res.replacedClientId !== null ? `\n\n${texts.linkedReplacedOther}` : '';
    await ctx.reply(texts.linked(res.nombre, opts.verified) + extra, { reply_markup: removeKeyboard });
    if (opts.verified) await lookups.complete(ctx.from?.id ?? ctx.chat.id, opts.clientId, now);
    if (res.previousChatId !== null) await d.tellPreviousChat(res.previousChatId);
  }

  async function tooMany(ctx: PrivateContext): Promise<boolean> {
    const allowance = await attempts.check(ctx.chat.id, d.clock.now());
    if (allowance.allowed) return false;
    ctx.log.warn('demasiados intentos fallidos de vinculación');
    await ctx.reply(texts.tooManyAttempts(Math.max(1, Math.ceil(allowance.retryAfterMs / 60_000))), {
      reply_markup: removeKeyboard,
    });
    return true;
  }

  async function onCedula(ctx: PrivateContext, text: string) {
    const chatId = ctx.chat.id;
    const now = d.clock.now();
    const v = validateCedula(text);
    if (!v.ok) {
      // A typo is not an attempt on somebody's account: the check digit is public arithmetic.
      await chats.set(chatId, { estado: 'esperando_cedula' }, now);
      await ctx.reply(texts.cedulaInvalid(v.mensaje), { reply_markup: removeKeyboard });
      return;
    }
    if (await tooMany(ctx)) return;
    const found = await lookups.lookUp({ userKey: ctx.from?.id ?? chatId, chatId, cedula: v.cedula, now });
    d.metrics.cedulaLookups.inc({ resultado: found.ok ? 'consultada' : found.reason });
    if (!found.ok) {
      await chats.set(chatId, { estado: 'inicio' }, now);
      if (found.reason === 'limite_global') {
        // Nothing about the cédula: it was not even looked up.
        if (now.getTime() - lastBudgetWarnAt >= 60_000) {
          lastBudgetWarnAt = now.getTime();
          ctx.log.warn(
            { presupuesto: d.config.bot.cedulaLookupsPerHour },
            'presupuesto de consultas de cédula por hora agotado: posible enumeración; se pide intentar más tarde',
          );
        }
        await ctx.reply(texts.lookupsBusy, { reply_markup: removeKeyboard });
        return;
      }
      ctx.log.warn('demasiadas consultas de cédula de este usuario de Telegram');
      await ctx.reply(texts.tooManyAttempts(Math.max(1, Math.ceil(found.retryAfterMs / 60_000))), {
        reply_markup: removeKeyboard,
      });
      return;
    }
    const client = found.client;
    if (!client) {
      // Answered exactly like a client with a phone on file: only the phone's holder learns more.
      ctx.log.info({ cedula: v.cedula }, 'cédula no encontrada');
      await chats.set(chatId, { estado: 'esperando_contacto', clientId: null }, now);
      await ctx.reply(texts.askContact, { reply_markup: contactKeyboard() });
      return;
    }
    if (client.chat_id === chatId) {
      await chats.set(chatId, { estado: 'inicio' }, now);
      await ctx.reply(texts.alreadyLinkedSame, { reply_markup: removeKeyboard });
      return;
    }
    if (client.telefono_norm) {
      await chats.set(chatId, { estado: 'esperando_contacto', clientId: client.id }, now);
      await ctx.reply(texts.askContact, { reply_markup: contactKeyboard() });
      return;
    }
    if (client.chat_id !== null) {
      // Moving a linked cédula needs the contact check, and there is no phone to check against.
      await chats.set(chatId, { estado: 'inicio' }, now);
      ctx.log.info({ clientId: client.id }, 'cédula vinculada a otro chat y sin teléfono: no se mueve');
      await ctx.reply(texts.linkedElsewhereNoPhone, { reply_markup: removeKeyboard });
      return;
    }
    await link(ctx, { clientId: client.id, verified: false, method: 'cedula' });
  }

  async function onInvitation(ctx: PrivateContext, token: string) {
    const chatId = ctx.chat.id;
    const now = d.clock.now();
    if (await tooMany(ctx)) return;
    const inv = await invitations.byToken(token);
    if (!inv) {
      await attempts.record(chatId, 'invitacion_invalida', now);
      await chats.set(chatId, { estado: 'esperando_cedula' }, now);
      await ctx.reply(`${texts.invitationInvalid}\n\n${texts.askCedulaAgain}`, {
        reply_markup: removeKeyboard,
      });
      return;
    }
    if (await invitations.markOpened(inv.id, chatId, now, inv.linkId)) {
      await recordEvent(db, { tipo: 'invitacion_abierta', at: now, chatId, clientId: inv.clientId });
    }
    const client = await links.byId(inv.clientId);
    if (client?.chat_id === chatId) {
      await chats.set(chatId, { estado: 'inicio' }, now);
      await ctx.reply(texts.alreadyLinkedSame, { reply_markup: removeKeyboard });
      return;
    }
    const state = invitationState(inv, now);
    if (!client || state !== 'activa') {
      ctx.log.info({ invitationId: inv.id, state }, 'invitación no utilizable');
      const why = {
        activa: texts.invitationInvalid,
        usada: texts.invitationUsed,
        vencida: texts.invitationExpired,
        revocada: texts.invitationRevoked,
      }[state];
      await chats.set(chatId, { estado: 'esperando_cedula' }, now);
      await ctx.reply(`${why}\n\n${texts.askCedulaAgain}`, { reply_markup: removeKeyboard });
      return;
    }
    if (client.chat_id !== null && client.telefono_norm) {
      // The account is linked to another chat: the token alone does not move it.
      await chats.set(
        chatId,
        { estado: 'esperando_contacto', clientId: client.id, invitationId: inv.id },
        now,
      );
      await ctx.reply(texts.askContact, { reply_markup: contactKeyboard() });
      return;
    }
    await link(ctx, { clientId: client.id, verified: true, method: 'invitacion', invitationId: inv.id });
  }

  bot.command('start', async (ctx) => {
    const chatId = ctx.chat.id;
    const now = d.clock.now();
    if (await chats.touch(chatId, ctx.from?.id ?? null, now)) {
      await recordEvent(db, { tipo: 'chat_nuevo', at: now, chatId });
    }
    // Writing /start again means the person wants the bot back.
    await links.setBlocked(chatId, false, now);
    const payload = ctx.match.trim();
    if (payload) return onInvitation(ctx, payload);
    const linked = await links.linkedClient(db, chatId);
    await chats.set(chatId, { estado: 'esperando_cedula' }, now);
    await ctx.reply(linked ? texts.alreadyLinkedAskOther(linked.nombre) : texts.askCedula, {
      reply_markup: removeKeyboard,
    });
  });

  bot.command(['cancelar', 'cancel'], async (ctx) => {
    await chats.set(ctx.chat.id, { estado: 'inicio' }, d.clock.now());
    await ctx.reply(texts.cancelled, { reply_markup: removeKeyboard });
  });

  bot.on('message:contact', async (ctx) => {
    const chatId = ctx.chat.id;
    const now = d.clock.now();
    const state = await chats.get(chatId, now);
    if (state.estado !== 'esperando_contacto') {
      await ctx.reply(texts.contactUnexpected, { reply_markup: removeKeyboard });
      return;
    }
    if (await tooMany(ctx)) return;
    const contact = ctx.message.contact;
    if (contact.user_id === undefined || contact.user_id !== ctx.from.id) {
      const left = await attempts.record(chatId, 'contacto_ajeno', now);
      ctx.log.info({ left }, 'contacto de otra persona');
      await ctx.reply(texts.contactNotOwn, { reply_markup: contactKeyboard() });
      return;
    }
    if (state.clientId === null) {
      // The cédula matched nobody: the same answer (and cost) as another number.
      const left = await attempts.record(chatId, 'cedula_desconocida', now);
      ctx.log.info({ left }, 'contacto tras una cédula no encontrada');
      await ctx.reply(texts.contactMismatch(left), {
        reply_markup: left > 0 ? contactKeyboard() : removeKeyboard,
      });
      return;
    }
    const client = await links.byId(state.clientId);
    if (!client) {
      await chats.set(chatId, { estado: 'esperando_cedula' }, now);
      await ctx.reply(texts.askCedulaAgain, { reply_markup: removeKeyboard });
      return;
    }
    const invitationId = state.invitationId ?? undefined;
    if (!client.telefono_norm) {
      // The phone was removed from the file in the meantime: the cédula rules apply again.
      if (client.chat_id !== null && client.chat_id !== chatId) {
        await chats.set(chatId, { estado: 'inicio' }, now);
        await ctx.reply(texts.linkedElsewhereNoPhone, { reply_markup: removeKeyboard });
        return;
      }
      await link(ctx, { clientId: client.id, verified: false, method: 'cedula', invitationId });
      return;
    }
    if (normalizePhone(contact.phone_number) !== client.telefono_norm) {
      const left = await attempts.record(chatId, 'telefono_distinto', now);
      ctx.log.info({ telefono: contact.phone_number, left }, 'el teléfono no coincide');
      await ctx.reply(texts.contactMismatch(left), {
        reply_markup: left > 0 ? contactKeyboard() : removeKeyboard,
      });
      return;
    }
    await link(ctx, {
      clientId: client.id,
      verified: true,
      method: invitationId !== undefined ? 'invitacion' : 'cedula_contacto',
      invitationId,
    });
  });

  // Free text that belongs to a registration step; commands and anything else go on.
  bot.on('message:text', async (ctx, next) => {
    const chatId = ctx.chat.id;
    const text = ctx.message.text.trim();
    if (text.startsWith('/')) return next();
    const state = await chats.get(chatId, d.clock.now());
    if (state.estado !== 'inicio' && isCancel(text)) {
      await chats.set(chatId, { estado: 'inicio' }, d.clock.now());
      return void (await ctx.reply(texts.cancelled, { reply_markup: removeKeyboard }));
    }
    if (state.estado === 'esperando_contacto') {
      if (looksLikeCedula(text)) return onCedula(ctx, text);
      return void (await ctx.reply(texts.useTheButton, { reply_markup: contactKeyboard() }));
    }
    if (state.estado === 'esperando_cedula') return onCedula(ctx, text);
    if (looksLikeCedula(text) && !(await links.linkedClient(db, chatId))) return onCedula(ctx, text);
    return next();
  });

  return composer;
}
