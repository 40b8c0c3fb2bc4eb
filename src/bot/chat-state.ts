import type { Queryable } from '../db/index.js';

export type ChatStep = 'inicio' | 'esperando_cedula' | 'esperando_contacto' | 'esperando_comprobante';

export interface ChatState {
  estado: ChatStep;
  /** The client whose phone this chat must prove while 'esperando_contacto'. */
  clientId: number | null;
  invitationId: number | null;
  updatedAt: Date;
}

/** A conversation step older than this starts over (the person most likely forgot it). */
export const STEP_TTL_MS = 60 * 60 * 1000;

/** Where each private chat's conversation stands, over a lent Queryable. */
export function createChatStateStore(db: Queryable) {
  return {
    /** The chat's current step; a stale step reads as 'inicio'. */
    async get(chatId: number, now: Date): Promise<ChatState> {
      const { rows } = await db.query<{
        estado: ChatStep;
        client_id: number | null;
        invitation_id: number | null;
        updated_at: Date;
      }>('SELECT estado, client_id, invitation_id, updated_at FROM bot_chats WHERE chat_id = $1', [chatId]);
      const r = rows[0];
      if (!r || (r.estado !== 'inicio' && now.getTime() - r.updated_at.getTime() > STEP_TTL_MS)) {
        return { estado: 'inicio', clientId: null, invitationId: null, updatedAt: r?.updated_at ?? now };
      }
      return {
        estado: r.estado,
        clientId: r.client_id,
        invitationId: r.invitation_id,
        updatedAt: r.updated_at,
      };
    },

    /** Records that the chat exists; true when this is the first time the bot hears from it. */
    async touch(chatId: number, userId: number | null, now: Date): Promise<boolean> {
      const res = await db.query(
        `INSERT INTO bot_chats (chat_id, user_id, first_seen_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (chat_id) DO NOTHING`,
        [chatId, userId, now],
      );
      return res.rowCount > 0;
    },

    async set(
      chatId: number,
      step: { estado: ChatStep; clientId?: number | null; invitationId?: number | null },
      now: Date,
    ): Promise<void> {
      await db.query(
        `INSERT INTO bot_chats (chat_id, estado, client_id, invitation_id, first_seen_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (chat_id) DO UPDATE
           SET estado = EXCLUDED.estado, client_id = EXCLUDED.client_id,
               invitation_id = EXCLUDED.invitation_id, updated_at = EXCLUDED.updated_at`,
        [chatId, step.estado, step.clientId ?? null, step.invitationId ?? null, now],
      );
    },
  };
}

export type ChatStateStore = ReturnType<typeof createChatStateStore>;
