import type { Queryable } from '../db/index.js';

/** What the funnel and the statistics over time count. */
export type BotEventType =
  | 'chat_nuevo'
  | 'vinculado'
  | 'desvinculado'
  | 'vinculo_verificado'
  | 'bloqueado'
  | 'desbloqueado'
  | 'invitacion_abierta';

/** Appends one event. `detalles` MUST NOT hold a cédula or a phone number. */
export async function recordEvent(
  db: Queryable,
  e: {
    tipo: BotEventType;
    at: Date;
    chatId?: number | null;
    clientId?: number | null;
    detalles?: Record<string, unknown>;
  },
): Promise<void> {
  await db.query(
    'INSERT INTO bot_events (at, tipo, chat_id, client_id, detalles) VALUES ($1, $2, $3, $4, $5)',
    [e.at, e.tipo, e.chatId ?? null, e.clientId ?? null, JSON.stringify(e.detalles ?? {})],
  );
}
