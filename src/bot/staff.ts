import { Composer } from 'grammy';
import { linkStaffChat } from '../alerts/index.js';
import type { BotContext, ConversationDeps } from './context.js';

/**
 * `/staff CODE`: a staff member links this chat to receive alerts (issue 15 §5). The code is a
 * one-time code from Ajustes → Alertas; a wrong or used code says so without telling which.
 */
export function createStaffLink(d: ConversationDeps): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.chatType('private').command('staff', async (ctx) => {
    const code = ctx.match.trim();
    if (!code) {
      await ctx.reply(
        'Envíe /staff seguido del código que aparece en Ajustes → Alertas, por ejemplo: /staff ABCD2345',
      );
      return;
    }
    const nombre = [ctx.from.first_name, ctx.from.last_name].filter(Boolean).join(' ');
    const ok = await linkStaffChat(d.db, { codigo: code, chatId: ctx.chat.id, nombre }, d.clock.now());
    ctx.log.info(
      { vinculado: ok },
      ok ? 'chat del personal vinculado para alertas' : 'código de personal rechazado',
    );
    await ctx.reply(
      ok
        ? '✅ Este chat recibirá las alertas del servicio y el resumen diario. Para dejar de recibirlas, quítelo en Ajustes → Alertas.'
        : 'El código no es válido o ya venció. Genere uno nuevo en Ajustes → Alertas.',
    );
  });
  return composer;
}
