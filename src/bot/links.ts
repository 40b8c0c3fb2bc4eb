import type { Db, Queryable } from '../db/index.js';
import { createBatcher } from '../lib/batch.js';
import { enqueue } from '../notifications/index.js';
import { recordEvent } from './events.js';

/**
 * The link module: the ONLY code that changes a client's chat link — `chat_id`, `linked_at`,
 * `link_verified`, `telegram_user_id`, `telegram_username`, `telegram_blocked` (and the
 * unreachable mark a block or unblock clears). Every change records its bot event and resets the
 * chat's conversation step where it matters. A test greps the sources to keep it so.
 * (The dispatcher's own verdict "Telegram says this chat is closed" is delivery state and lives
 * with the outbox.)
 */

/** How a chat proved it belongs to the client ('manual' = staff typed the chat id). */
export type LinkMethod = 'cedula_contacto' | 'cedula' | 'invitacion' | 'manual';

export interface LinkedClient {
  id: number;
  nombre: string;
  pref_ofertas: boolean;
  pref_mantenimiento: boolean;
  link_verified: boolean;
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
  // Group read: the bot asks this for most updates; concurrent handlers asking while one read is
  // under way share the next SELECT (chat_id is unique, so each chat gets exactly its own row).
  const linkedReader = createBatcher<number, LinkedClient | null>(async (chatIds) => {
    const { rows } = await db.query<LinkedClient & { chat_id: number }>(
      `SELECT chat_id, id, nombre, pref_ofertas, pref_mantenimiento, link_verified
         FROM clients WHERE chat_id = ANY($1::bigint[])`,
      [[...new Set(chatIds)]],
    );
    const byChat = new Map(
      rows.map(({ chat_id, ...client }): [number, LinkedClient] => [Number(chat_id), client]),
    );
    return chatIds.map((chatId) => {
      const client = byChat.get(chatId);
      return { ok: true, value: client ? { ...client } : null };
    });
  });

  return {
    /** The client this chat is linked to, if any. */
    async linkedClient(q: Queryable, chatId: number): Promise<LinkedClient | null> {
      // Inside a transaction the read must see the transaction's own writes: not grouped.
      if (q === db) return linkedReader.push(chatId);
      const { rows } = await q.query<LinkedClient>(
        'SELECT id, nombre, pref_ofertas, pref_mantenimiento, link_verified FROM clients WHERE chat_id = $1',
        [chatId],
      );
      return rows[0] ?? null;
    },

    async byCedula(cedula: string, q: Queryable = db): Promise<ClientForLinking | null> {
      const { rows } = await q.query<ClientForLinking>(
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
        const replacedClientId = await attach(tx, r);
        // mensaje NULL: the dispatcher composes the welcome from its editable template when it sends.
        // The outbox queues every welcome urgent (`enqueue`): the send window never holds it.
        await enqueue(
          tx,
          [
            {
              client_id: r.clientId,
              tipo: 'bienvenida',
              mensaje: null,
              dedupe_key: `bienvenida:${r.clientId}:${Math.floor(r.now.getTime() / 1000)}`,
            },
          ],
          r.now,
        );
        const previousChatId = c.chat_id !== null && c.chat_id !== r.chatId ? c.chat_id : null;
        await recordLinked(tx, r, previousChatId);
        return { ok: true, nombre: c.nombre, previousChatId, replacedClientId } as const;
      });
    },

    /** /baja: the chat stops receiving notices. Returns the client it was linked to. */
    async unlink(chatId: number, now: Date): Promise<number | null> {
      return db.transaction(async (tx) => (await detach(tx, { chatId }, now, 'baja'))[0] ?? null);
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
         RETURNING id, nombre, pref_ofertas, pref_mantenimiento, link_verified`,
        [chatId, on],
      );
      return rows[0] ?? null;
    },
  };
}

export type LinksStore = ReturnType<typeof createLinksStore>;

/** Empties the link of the clients matching `where`; records one 'desvinculado' each. */
async function detach(
  tx: Queryable,
  where: { chatId: number; exceptClientId?: number } | { clientId: number },
  now: Date,
  motivo: string,
): Promise<number[]> {
  const [cond, params] =
    'clientId' in where
      ? ['id = $1 AND chat_id IS NOT NULL', [where.clientId]]
      : ['chat_id = $1 AND id <> $2', [where.chatId, where.exceptClientId ?? -1]];
  const { rows } = await tx.query<{ id: number; chat_id: number }>(
    `UPDATE clients c SET chat_id = NULL, linked_at = NULL, link_verified = false, telegram_user_id = NULL,
            telegram_username = NULL, telegram_blocked = false, telegram_unreachable = NULL, updated_at = now()
       FROM (SELECT id AS old_id, chat_id AS old_chat FROM clients WHERE ${cond} FOR UPDATE) o
      WHERE c.id = o.old_id
      RETURNING c.id, o.old_chat AS chat_id`,
    params,
  );
  for (const r of rows) {
    await recordEvent(tx, {
      tipo: 'desvinculado',
      at: now,
      chatId: r.chat_id,
      clientId: r.id,
      detalles: { motivo },
    });
  }
  return rows.map((r) => r.id);
}

/**
 * Points the client at the chat (the chat first leaves any other client) and resets the chat's
 * conversation. Returns the other client the chat was linked to, if any.
 */
async function attach(
  tx: Queryable,
  r: {
    clientId: number;
    chatId: number;
    userId: number | null;
    username: string | null;
    verified: boolean;
    now: Date;
  },
): Promise<number | null> {
  const replaced = await detach(
    tx,
    { chatId: r.chatId, exceptClientId: r.clientId },
    r.now,
    'chat_vinculado_a_otro_cliente',
  );
  await tx.query(
    `UPDATE clients SET chat_id = $2, telegram_user_id = $3, telegram_username = $4, linked_at = $5,
            link_verified = $6, telegram_blocked = false, telegram_unreachable = NULL, updated_at = now()
      WHERE id = $1`,
    [r.clientId, r.chatId, r.userId, r.username, r.now, r.verified],
  );
  await tx.query(
    `UPDATE bot_chats SET estado = 'inicio', client_id = NULL, invitation_id = NULL, updated_at = $2
      WHERE chat_id = $1`,
    [r.chatId, r.now],
  );
  return replaced[0] ?? null;
}

async function recordLinked(
  tx: Queryable,
  r: {
    clientId: number;
    chatId: number;
    verified: boolean;
    method: LinkMethod;
    now: Date;
    invitationId?: number;
  },
  previousChatId: number | null,
) {
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
}

export type StaffLinkResult =
  | { ok: true; previousChatId: number | null; replacedClientId: number | null }
  | { ok: false; reason: 'cliente_no_existe' | 'chat_en_uso' };

/**
 * Staff link (or unlink, with null) a chat by hand — `actualizar-chat-id`. A typed chat id
 * proves nothing about who holds it: the link starts unverified. Runs in the caller's transaction
 * (the route writes its audit entry in the same one).
 */
export async function setChatByStaff(
  tx: Queryable,
  r: { clientId: number; chatId: number | null; now: Date },
): Promise<StaffLinkResult> {
  const { rows } = await tx.query<{ chat_id: number | null }>(
    'SELECT chat_id FROM clients WHERE id = $1 FOR UPDATE',
    [r.clientId],
  );
  const c = rows[0];
  if (!c) return { ok: false, reason: 'cliente_no_existe' };
  if (r.chatId === null) {
    await detach(tx, { clientId: r.clientId }, r.now, 'manual');
    return { ok: true, previousChatId: c.chat_id, replacedClientId: null };
  }
  if (c.chat_id === r.chatId) return { ok: true, previousChatId: null, replacedClientId: null };
  // By hand, a chat another client holds is refused (the seed's contract), never taken over.
  const holder = await tx.query('SELECT 1 FROM clients WHERE chat_id = $1 AND id <> $2', [
    r.chatId,
    r.clientId,
  ]);
  if (holder.rows.length > 0) return { ok: false, reason: 'chat_en_uso' };
  const replacedClientId = await attach(tx, {
    clientId: r.clientId,
    chatId: r.chatId,
    userId: null,
    username: null,
    verified: false,
    now: r.now,
  });
  const previousChatId = c.chat_id;
  await recordLinked(
    tx,
    { clientId: r.clientId, chatId: r.chatId, verified: false, method: 'manual', now: r.now },
    previousChatId,
  );
  return { ok: true, previousChatId, replacedClientId };
}

export type VerifyResult = 'verificado' | 'ya_verificado' | 'sin_vinculo' | 'cliente_no_existe';

/** Staff confirm, on the client's page, that the linked chat is the client's own. */
export async function verifyLinkByStaff(
  tx: Queryable,
  r: { clientId: number; now: Date },
): Promise<VerifyResult> {
  const { rows } = await tx.query<{ chat_id: number | null; link_verified: boolean }>(
    'SELECT chat_id, link_verified FROM clients WHERE id = $1 FOR UPDATE',
    [r.clientId],
  );
  const c = rows[0];
  if (!c) return 'cliente_no_existe';
  if (c.chat_id === null) return 'sin_vinculo';
  if (c.link_verified) return 'ya_verificado';
  await tx.query('UPDATE clients SET link_verified = true, updated_at = now() WHERE id = $1', [r.clientId]);
  await recordEvent(tx, {
    tipo: 'vinculo_verificado',
    at: r.now,
    chatId: c.chat_id,
    clientId: r.clientId,
    detalles: { metodo: 'personal' },
  });
  return 'verificado';
}
