import { Composer } from 'grammy';
import { createClientsRepository } from '../clients/index.js';
import { daysBetween, localDate } from '../time.js';
import type { BotContext, ConversationDeps } from './context.js';
import { statusText } from './texts.js';

/** Self-service for a linked chat: /status, /help, /contact. */
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
    // The amount owed has one SQL home (unpaid cycles × plan price), the same in notices and admin.
    const owed = await db.query<{ monto: number | null }>(
      `SELECT monto_adeudado::float8 AS monto FROM teltec_client_billing($1::date, $2, $3) WHERE client_id = $4`,
      [today, cycleDays, d.config.engine.reminderDaysBefore, c.id],
    );
    const monto = c.estado_pago === 'al_dia' ? c.precio : (owed.rows[0]?.monto ?? null);
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

  return composer;
}
