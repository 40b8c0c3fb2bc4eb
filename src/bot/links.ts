import type { Db, Queryable } from '../db/index.js';
import { recordEvent } from './events.js';

/** How a chat proved it belongs to the client. */
export type LinkMethod = 'cedula_contacto' | 'cedula' | 'invitacion';

export interface LinkedClient {
  id: number;
  nombre: string;
  pref_ofertas: boolean;
  pref_mantenimiento: boolean;
}

export interface ClientForLinking {
  id: number;
  chat_id: number | null;
  telefono_norm: string | null;
}

export interface LinkRequest {
  clientId: number;
  chatId: number;
  userId: number | null;
  username: string | null;
  verified: boolean;
  method: LinkMethod;
  now: Date;
  /** The invitation to spend in the same transaction (single use). */
  invitationId?: number;
  /** The welcome text for the outbox, given the client's name. */
  welcome: (nombre: string) => string;
}

export type LinkResult =
  | {
      ok: true;
      nombre: string;
      /** The chat the client was linked to before, now told (null when none or the same chat). */
      previousChatId: number | null;
      /** Another client this chat was linked to, now unlinked from it. */
      replacedClientId: number | null;
    }
  | { ok: false; reason: 'invitacion_no_disponible' | 'cliente_no_existe' };

/** Client lookups and link changes, over a lent Queryable. Links are changed only here. */
export function createLinksStore(db: Db) {
  return {
    /** The client this chat is linked to, if any. */
    async linkedClient(q: Queryable, chatId: number): Promise<LinkedClient | null> {
      const { rows } = await q.query<LinkedClient>(
        'SELECT id, nombre, pref_ofertas, pref_mantenimiento FROM clients WHERE chat_id = $1',
        [chatId],
      );
      return rows[0] ?? null;
    },

    async byCedula(cedula: string): Promise<ClientForLinking | null> {
      const { rows } = await db.query<ClientForLinking>(
        'SELECT id, chat_id, telefono_norm FROM clients WHERE cedula = $1',
        [cedula],
      );
      return rows[0] ?? null;
    },

    async byId(id: number): Promise<ClientForLinking | null> {
      const { rows } = await db.query<ClientForLinking>(
        'SELECT id, chat_id, telefono_norm FROM clients WHERE id = $1',
        [id],
      );
      return rows[0] ?? null;
    },

    /**
     * Links the chat to the client in one transaction: the chat leaves any other client, the
     * client leaves its previous chat, the invitation (if any) is spent, the welcome is queued
     * in the outbox and the event recorded. Callers MUST have done the checks the method needs.
     */
    async link(r: LinkRequest): Promise<LinkResult> {
      return db.transaction(async (tx) => {
        const client = await tx.query<{ id: number; nombre: string; chat_id: number | null }>(
          'SELECT id, nombre, chat_id FROM clients WHERE id = $1 FOR UPDATE',
          [r.clientId],
        );
        const c = client.rows[0];
        if (!c) return { ok: false, reason: 'cliente_no_existe' } as const;
        if (r.invitationId !== undefined) {
          const spent = await tx.query(
            `UPDATE bot_invitations SET used_at = $2, used_chat_id = $3,
                    opened_at = COALESCE(opened_at, $2), opened_chat_id = COALESCE(opened_chat_id, $3)
              WHERE id = $1 AND client_id = $4 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`,
            [r.invitationId, r.now, r.chatId, r.clientId],
          );
          if (spent.rowCount === 0) return { ok: false, reason: 'invitacion_no_disponible' } as const;
        }
        const replaced = await tx.query<{ id: number }>(
          `UPDATE clients SET chat_id = NULL, linked_at = NULL, link_verified = false, telegram_user_id = NULL,
                  telegram_username = NULL, updated_at = now()
            WHERE chat_id = $1 AND id <> $2 RETURNING id`,
          [r.chatId, r.clientId],
        );
        const replacedClientId = replaced.rows[0]?.id ?? null;
        if (replacedClientId !== null) {
          await recordEvent(tx, {
            tipo: 'desvinculado',
            at: r.now,
            chatId: r.chatId,
            clientId: replacedClientId,
            detalles: { motivo: 'chat_vinculado_a_otro_cliente' },
          });
        }
        await tx.query(
          `UPDATE clients SET chat_id = $2, telegram_user_id = $3, telegram_username = $4, linked_at = $5,
                  link_verified = $6, telegram_blocked = false, telegram_unreachable = NULL, updated_at = now()
            WHERE id = $1`,
          [r.clientId, r.chatId, r.userId, r.username, r.now, r.verified],
        );
        await tx.query(
          `INSERT INTO notifications (client_id, tipo, mensaje, urgente, dedupe_key)
           VALUES ($1, 'bienvenida', $2, true, $3) ON CONFLICT (dedupe_key) DO NOTHING`,
          [r.clientId, r.welcome(c.nombre), `bienvenida:${r.clientId}:${Math.floor(r.now.getTime() / 1000)}`],
        );
        const previousChatId = c.chat_id !== null && c.chat_id !== r.chatId ? c.chat_id : null;
        await recordEvent(tx, {
          tipo: 'vinculado',
          at: r.now,
          chatId: r.chatId,
          clientId: r.clientId,
          detalles: {
            verificado: r.verified,
            metodo: r.method,
            movido: previousChatId !== null,
            ...(r.invitationId !== undefined && { invitacion_id: r.invitationId }),
          },
        });
        if (previousChatId !== null) {
          await recordEvent(tx, {
            tipo: 'desvinculado',
            at: r.now,
            chatId: previousChatId,
            clientId: r.clientId,
            detalles: { motivo: 'cuenta_vinculada_a_otro_chat' },
          });
        }
        await tx.query(
          `UPDATE bot_chats SET estado = 'inicio', client_id = NULL, invitation_id = NULL, updated_at = $2
            WHERE chat_id = $1`,
          [r.chatId, r.now],
        );
        return { ok: true, nombre: c.nombre, previousChatId, replacedClientId } as const;
      });
    },

    /** /baja: the chat stops receiving notices. Returns the client it was linked to. */
    async unlink(chatId: number, now: Date): Promise<number | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: number }>(
          `UPDATE clients SET chat_id = NULL, linked_at = NULL, link_verified = false, telegram_user_id = NULL,
                  telegram_username = NULL, telegram_blocked = false, telegram_unreachable = NULL, updated_at = now()
            WHERE chat_id = $1 RETURNING id`,
          [chatId],
        );
        const id = rows[0]?.id ?? null;
        if (id !== null) {
          await recordEvent(tx, {
            tipo: 'desvinculado',
            at: now,
            chatId,
            clientId: id,
            detalles: { motivo: 'baja' },
          });
        }
        return id;
      });
    },

    /**
     * The person blocked (kicked) or unblocked the bot. Returns the client concerned, if the chat
     * is linked. Unblocking also clears the sender's "unreachable" mark.
     */
    async setBlocked(chatId: number, blocked: boolean, now: Date): Promise<number | null> {
      // One statement (no transaction): it runs on every /start and must stay cheap.
      const { rows } = await db.query<{ id: number }>(
        `WITH old AS (
           SELECT id, telegram_blocked, telegram_unreachable FROM clients WHERE chat_id = $1 FOR UPDATE
         ), changed AS (
           UPDATE clients c SET telegram_blocked = $2,
                  telegram_unreachable = CASE WHEN $2 THEN c.telegram_unreachable ELSE NULL END,
                  updated_at = now()
             FROM old
            WHERE c.id = old.id
              AND (old.telegram_blocked IS DISTINCT FROM $2 OR (NOT $2 AND old.telegram_unreachable IS NOT NULL))
           RETURNING c.id, old.telegram_blocked IS DISTINCT FROM $2 AS flipped
         ), ev AS (
           INSERT INTO bot_events (at, tipo, chat_id, client_id)
           SELECT $3, CASE WHEN $2 THEN 'bloqueado' ELSE 'desbloqueado' END, $1, id FROM changed WHERE flipped
         )
         SELECT id FROM old`,
        [chatId, blocked, now],
      );
      return rows[0]?.id ?? null;
    },

    async setPreference(
      chatId: number,
      key: 'ofertas' | 'mantenimiento',
      on: boolean,
    ): Promise<LinkedClient | null> {
      const column = key === 'ofertas' ? 'pref_ofertas' : 'pref_mantenimiento';
      const { rows } = await db.query<LinkedClient>(
        `UPDATE clients SET ${column} = $2, updated_at = now() WHERE chat_id = $1
         RETURNING id, nombre, pref_ofertas, pref_mantenimiento`,
        [chatId, on],
      );
      return rows[0] ?? null;
    },
  };
}

export type LinksStore = ReturnType<typeof createLinksStore>;
