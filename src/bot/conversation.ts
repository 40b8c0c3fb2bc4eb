import { Composer, type Context, GrammyError } from 'grammy';
import type { InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove } from 'grammy/types';
import { createClientsRepository, normalizePhone, validateCedula } from '../clients/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import { daysBetween, localDate } from '../time.js';
import type { AttemptsStore } from './attempts.js';
import type { ChatStateStore } from './chat-state.js';
import { recordEvent } from './events.js';
import { type InvitationsStore, invitationState } from './invitations.js';
import type { LinkMethod, LinksStore } from './links.js';
import { buttons, type PreferenceKey, statusText, type Texts } from './texts.js';

/** The context every handler sees: grammY's, plus a logger scoped to the update and chat. */
export type BotContext = Context & { log: Logger };

export interface ConversationDeps {
  db: Db;
  config: Config;
  clock: Clock;
  texts: Texts;
  links: LinksStore;
  chats: ChatStateStore;
  attempts: AttemptsStore;
  invitations: InvitationsStore;
  /** Tells a chat that its client was linked elsewhere (best effort, never throws). */
  tellPreviousChat(chatId: number): Promise<void>;
  /** The bot's @username, for the group answer. */
  username(): string;
}

const removeKeyboard: ReplyKeyboardRemove = { remove_keyboard: true };

function contactKeyboard(): ReplyKeyboardMarkup {
  return {
    keyboard: [[{ text: buttons.shareContact, request_contact: true }], [{ text: buttons.cancel }]],
    resize_keyboard: true,
    one_time_keyboard: true,
  };
}

/** Digits with the separators people type: worth validating as a cédula outside the prompt. */
const looksLikeCedula = (text: string) => /^[\d\s.-]+$/.test(text) && text.replace(/\D/g, '').length >= 6;
const isCancel = (text: string) => /^(cancelar|cancel)$/i.test(text);

function preferencesKeyboard(texts: Texts, p: { pref_ofertas: boolean; pref_mantenimiento: boolean }) {
  const row = (key: PreferenceKey, on: boolean) => [
    { text: texts.preferenceButton(key, on), callback_data: `pref:${key}:${on ? 0 : 1}` },
  ];
  return {
    inline_keyboard: [row('ofertas', p.pref_ofertas), row('mantenimiento', p.pref_mantenimiento)],
  } satisfies InlineKeyboardMarkup;
}

const isNotModified = (err: unknown) =>
  err instanceof GrammyError && err.description.includes('message is not modified');

/**
 * The conversation: private chats only; registration by cédula (+ contact check when a phone is
 * on file) or by invitation token; self-service commands; buttons; block/unblock.
 * Invariant: nothing about a client is said to a chat before that chat is linked to it.
 */
export function createConversation(d: ConversationDeps): Composer<BotContext> {
  const { texts, links, chats, attempts, invitations, db } = d;
  const root = new Composer<BotContext>();

  // ---------------------------------------------------------------- private chats only
  root.use(async (ctx, next) => {
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
      if (added || command) await ctx.reply(texts.privateOnly(d.username()));
    }
    ctx.log.debug({ chatType: type }, 'actualización fuera de un chat privado: ignorada');
  });

  const bot = root.chatType('private');

  // ---------------------------------------------------------------- blocking
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

  // ---------------------------------------------------------------- registration
  async function link(
    ctx: BotContext & { chat: { id: number } },
    opts: { clientId: number; verified: boolean; method: LinkMethod; invitationId?: number },
  ) {
    const now = d.clock.now();
    const res = await links.link({
      ...opts,
      chatId: ctx.chat.id,
      userId: ctx.from?.id ?? null,
      username: ctx.from?.username ?? null,
      now,
      welcome: texts.welcome,
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
    if (res.previousChatId !== null) await d.tellPreviousChat(res.previousChatId);
  }

  async function tooMany(ctx: BotContext & { chat: { id: number } }): Promise<boolean> {
    const allowance = await attempts.check(ctx.chat.id, d.clock.now());
    if (allowance.allowed) return false;
    ctx.log.warn('demasiados intentos fallidos de vinculación');
    await ctx.reply(texts.tooManyAttempts(Math.max(1, Math.ceil(allowance.retryAfterMs / 60_000))), {
      reply_markup: removeKeyboard,
    });
    return true;
  }

  async function onCedula(ctx: BotContext & { chat: { id: number } }, text: string) {
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
    const client = await links.byCedula(v.cedula);
    if (!client) {
      const left = await attempts.record(chatId, 'cedula_desconocida', now);
      ctx.log.info({ cedula: v.cedula, left }, 'cédula no encontrada');
      await chats.set(chatId, { estado: 'esperando_cedula' }, now);
      await ctx.reply(texts.cedulaNotFound(left), { reply_markup: removeKeyboard });
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

  async function onInvitation(ctx: BotContext & { chat: { id: number } }, token: string) {
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
    if (await invitations.markOpened(inv.id, chatId, now)) {
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
    if (state.estado !== 'esperando_contacto' || state.clientId === null) {
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

  // ---------------------------------------------------------------- self-service
  bot.command(['status', 'estado'], async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    if (!linked) return void (await ctx.reply(texts.notLinked));
    const now = d.clock.now();
    const today = localDate(now, d.config.timeZone);
    const cycleDays = d.config.engine.cycleDays;
    const repo = createClientsRepository(db, () => ({
      today,
      cycleDays,
      reminderDaysBefore: d.config.engine.reminderDaysBefore,
    }));
    const c = await repo.get(linked.id);
    if (!c) return void (await ctx.reply(texts.notLinked));
    const dias = c.fecha_vencimiento ? daysBetween(today, c.fecha_vencimiento) : null;
    let monto: number | null = c.precio;
    if (monto !== null && dias !== null && dias < 0) {
      // Each full cycle past the due date adds one more period.
      const cycle = c.dia_pago ? 30 : cycleDays;
      monto = Math.round(monto * (1 + Math.floor(-dias / cycle)) * 100) / 100;
    }
    await ctx.reply(
      statusText(
        {
          nombre: c.nombre,
          plan: c.plan,
          precio: c.precio,
          estado: c.estado,
          fechaUltimoPago: c.fecha_ultimo_pago,
          fechaVencimiento: c.fecha_vencimiento,
          estadoPago: c.estado_pago,
          diasRestantes: dias,
          montoPendiente: monto,
        },
        d.config.company,
      ),
    );
  });

  bot.command(['help', 'ayuda'], (ctx) => ctx.reply(texts.help));
  bot.command(['contact', 'contacto'], (ctx) => ctx.reply(texts.contact()));

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
    try {
      await ctx.editMessageText(
        texts.preferences({ ofertas: updated.pref_ofertas, mantenimiento: updated.pref_mantenimiento }),
        { reply_markup: preferencesKeyboard(texts, updated) },
      );
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  });

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
      await ctx.editMessageText(texts.bajaKept).catch((err) => {
        if (!isNotModified(err)) throw err;
      });
      return;
    }
    const clientId = await links.unlink(ctx.chat.id, d.clock.now());
    ctx.log.info({ clientId }, clientId === null ? 'baja sin vínculo' : 'chat desvinculado por el usuario');
    await ctx.answerCallbackQuery({ text: clientId === null ? undefined : texts.bajaDoneShort });
    await ctx.editMessageText(clientId === null ? texts.notLinked : texts.bajaDone).catch((err) => {
      if (!isNotModified(err)) throw err;
    });
  });

  bot.on('callback_query', (ctx) => ctx.answerCallbackQuery({ text: texts.unknownButton }));

  // ---------------------------------------------------------------- free text
  bot.on('message:text', async (ctx) => {
    const chatId = ctx.chat.id;
    const text = ctx.message.text.trim();
    if (text.startsWith('/')) {
      const linked = await links.linkedClient(db, chatId);
      return void (await ctx.reply(linked ? texts.hint : texts.hintNotLinked));
    }
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
    const linked = await links.linkedClient(db, chatId);
    if (!linked && looksLikeCedula(text)) return onCedula(ctx, text);
    await ctx.reply(linked ? texts.hint : texts.hintNotLinked);
  });

  bot.on('message', async (ctx) => {
    const linked = await links.linkedClient(db, ctx.chat.id);
    await ctx.reply(linked ? texts.hint : texts.hintNotLinked);
  });

  return root;
}
