import type { Update } from 'grammy/types';
import { z } from 'zod';
import type { Queryable } from '../db/index.js';
import type { ItemResult } from '../lib/batch.js';
import { isDataError } from './db-errors.js';

/**
 * The update inbox: every update is recorded once under (bot, update_id) before it is handled.
 * The unique key is the de-duplication; the row is the durable copy that survives a crash
 * between "Telegram got its 200" and "the update was handled".
 */

/** Update kinds the bot handles; anything else is recorded and ignored. */
export const HANDLED_KINDS = ['message', 'callback_query', 'my_chat_member'] as const;
export type HandledKind = (typeof HANDLED_KINDS)[number];

const id = z.number().int().refine(Number.isSafeInteger);
const chat = z.looseObject({ id, type: z.string() });
const user = z.looseObject({ id, is_bot: z.boolean().optional(), username: z.string().optional() });
const entities = z.array(
  z.looseObject({ type: z.string(), offset: z.number().int(), length: z.number().int() }),
);
const message = z.looseObject({
  message_id: id,
  date: z.number().optional(),
  chat,
  from: user.optional(),
  text: z.string().optional(),
  entities: entities.optional(),
  contact: z
    .looseObject({ phone_number: z.string(), first_name: z.string().optional(), user_id: id.optional() })
    .optional(),
});
const shapes: Record<HandledKind, z.ZodType> = {
  message,
  callback_query: z.looseObject({
    id: z.string(),
    from: user,
    data: z.string().optional(),
    message: z.looseObject({ message_id: id, chat }).optional(),
  }),
  my_chat_member: z.looseObject({
    chat,
    from: user,
    new_chat_member: z.looseObject({ status: z.string() }),
    old_chat_member: z.looseObject({ status: z.string() }).optional(),
  }),
};

export interface IncomingUpdate {
  updateId: number;
  /** Known kind, or 'otro' (recorded, never handled). */
  tipo: HandledKind | 'otro';
  /** The chat the update belongs to (updates of one chat are handled in order). */
  chatId: number | null;
  /** False when the kind is known but its shape is not what Telegram sends. */
  wellFormed: boolean;
  update: Update;
  /** The JSON text stored in the inbox. */
  json: string;
}

export type ParseResult = { ok: true; incoming: IncomingUpdate } | { ok: false; reason: string };

/** Checks what must hold for any update we record: an object with a usable update_id. */
export function parseIncoming(body: unknown, rawJson?: string): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'el cuerpo no es un objeto JSON' };
  }
  const u = body as Record<string, unknown>;
  const updateId = u['update_id'];
  if (typeof updateId !== 'number' || !Number.isSafeInteger(updateId) || updateId < 0) {
    return { ok: false, reason: 'falta update_id o no es un entero' };
  }
  // Telegram sets exactly one field besides update_id; anything else is not an update we trust.
  const fields = Object.keys(u).filter((k) => k !== 'update_id');
  const kind = HANDLED_KINDS.find((k) => k in u);
  const wellFormed = kind ? fields.length === 1 && shapes[kind].safeParse(u[kind]).success : true;
  return {
    ok: true,
    incoming: {
      updateId,
      tipo: kind ?? 'otro',
      chatId: wellFormed && kind ? chatOf(kind, u[kind] as Record<string, unknown>) : null,
      wellFormed,
      update: body as Update,
      json: rawJson ?? JSON.stringify(body),
    },
  };
}

function chatOf(kind: HandledKind, part: Record<string, unknown>): number | null {
  const idOf = (o: unknown) => {
    const v = (o as { id?: unknown } | undefined)?.id;
    return typeof v === 'number' ? v : null;
  };
  if (kind === 'callback_query') {
    return idOf((part['message'] as { chat?: unknown } | undefined)?.chat) ?? idOf(part['from']);
  }
  return idOf(part['chat']);
}

export interface InboxRow {
  updateId: number;
  chatId: number | null;
  tipo: string;
  json: string;
  receivedAt: Date;
  intentos: number;
}

/** Inbox operations for one bot (update ids are per bot), over a lent Queryable. */
export function createInbox(db: Queryable, botId: number) {
  return {
    /**
     * Records the update; false when it was recorded before (a redelivery). Rows that will not
     * be handled are recorded as done at once. Throws when the database cannot be reached.
     */
    async record(u: IncomingUpdate, now: Date, leaseMs: number): Promise<boolean> {
      const [r] = await this.recordMany([u], now, leaseMs);
      if (!r!.ok) throw r!.error;
      return r!.value;
    },

    /**
     * Records several updates in one statement; per update: true = new, false = recorded before
     * (or repeated earlier in the same batch). When the batch cannot be stored as a whole because
     * of one row's data, each row is tried alone so the others still get in. Rows go in update_id
     * order: two processes recording the same redelivered updates wait for one another, never
     * deadlock.
     */
    async recordMany(us: IncomingUpdate[], now: Date, leaseMs: number): Promise<ItemResult<boolean>[]> {
      const seen = new Set<number>();
      const fresh = us.filter((u) => !seen.has(u.updateId) && seen.add(u.updateId));
      const columns = fresh.map((u) => {
        const handled = u.tipo !== 'otro' && u.wellFormed;
        return {
          id: u.updateId,
          chat: u.chatId,
          tipo: u.tipo,
          json: u.json,
          estado: handled ? 'pendiente' : 'procesado',
          claimed: handled ? new Date(now.getTime() + leaseMs) : null,
          processed: handled ? null : now,
          error: handled ? null : u.tipo === 'otro' ? 'tipo de actualización no atendido' : 'forma inválida',
        };
      });
      const insert = (rows: typeof columns) =>
        db.query<{ update_id: number }>(
          `INSERT INTO bot_updates (bot_id, update_id, chat_id, tipo, payload, estado, received_at, claimed_until,
                                    processed_at, ultimo_error)
           SELECT $1, t.update_id, t.chat_id, t.tipo, t.payload, t.estado, $2, t.claimed_until, t.processed_at,
                  t.ultimo_error
             FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
                         $9::timestamptz[], $10::text[])
                  AS t(update_id, chat_id, tipo, payload, estado, claimed_until, processed_at, ultimo_error)
          ORDER BY t.update_id
           ON CONFLICT (bot_id, update_id) DO NOTHING
           RETURNING update_id`,
          [
            botId,
            now,
            rows.map((r) => r.id),
            rows.map((r) => r.chat),
            rows.map((r) => r.tipo),
            rows.map((r) => r.json),
            rows.map((r) => r.estado),
            rows.map((r) => r.claimed),
            rows.map((r) => r.processed),
            rows.map((r) => r.error),
          ],
        );
      const inserted = new Set<number>();
      const failed = new Map<number, unknown>();
      try {
        for (const r of (await insert(columns)).rows) inserted.add(Number(r.update_id));
      } catch (err) {
        if (!isDataError(err) || columns.length === 1) {
          if (columns.length === 1) return us.map(() => ({ ok: false, error: err }));
          throw err;
        }
        for (const row of columns) {
          try {
            for (const r of (await insert([row])).rows) inserted.add(Number(r.update_id));
          } catch (one) {
            if (!isDataError(one)) throw one;
            failed.set(row.id, one);
          }
        }
      }
      const answered = new Set<number>();
      return us.map((u) => {
        const error = failed.get(u.updateId);
        if (error !== undefined) return { ok: false, error };
        const first = !answered.has(u.updateId);
        answered.add(u.updateId);
        return { ok: true, value: first && inserted.has(u.updateId) };
      });
    },

    /**
     * Records how several updates ended (handled or failed for good), in one statement. Rows are
     * locked in update_id order whatever order they come in: two processes finishing overlapping
     * sets (a row the sweeper took again while its first handler was still on it) queue behind one
     * another instead of deadlocking.
     */
    async finishMany(
      outcomes: Array<{ updateId: number; estado: 'procesado' | 'fallido'; error: string | null }>,
      now: Date,
    ) {
      await db.query(
        `WITH locked AS MATERIALIZED (
           SELECT update_id FROM bot_updates
            WHERE bot_id = $1 AND update_id = ANY($3::bigint[])
            ORDER BY update_id FOR UPDATE
         )
         UPDATE bot_updates b SET estado = t.estado, ultimo_error = t.error, processed_at = $2,
                intentos = b.intentos + 1, claimed_until = NULL
           FROM unnest($3::bigint[], $4::text[], $5::text[]) AS t(update_id, estado, error), locked l
          WHERE b.bot_id = $1 AND b.update_id = t.update_id AND l.update_id = t.update_id`,
        [
          botId,
          now,
          outcomes.map((o) => o.updateId),
          outcomes.map((o) => o.estado),
          outcomes.map((o) => o.error),
        ],
      );
    },

    async finish(updateId: number, estado: 'procesado' | 'fallido', error: string | null, now: Date) {
      await db.query(
        `UPDATE bot_updates SET estado = $3, ultimo_error = $4, processed_at = $5, intentos = intentos + 1,
                claimed_until = NULL
          WHERE bot_id = $1 AND update_id = $2`,
        [botId, updateId, estado, error, now],
      );
    },

    /** A transient failure: the row stays pending and the sweeper tries again after the lease. */
    async retryLater(updateId: number, error: string, maxAttempts: number, now: Date) {
      await db.query(
        `UPDATE bot_updates SET intentos = intentos + 1, ultimo_error = $3,
                estado = CASE WHEN intentos + 1 >= $4 THEN 'fallido' ELSE estado END,
                processed_at = CASE WHEN intentos + 1 >= $4 THEN $5::timestamptz END
          WHERE bot_id = $1 AND update_id = $2`,
        [botId, updateId, error, maxAttempts, now],
      );
    },

    /** Claims pending rows whose lease expired (their handler died), oldest first. */
    async claimStale(now: Date, leaseMs: number, limit: number): Promise<InboxRow[]> {
      const { rows } = await db.query<{
        update_id: number;
        chat_id: number | null;
        tipo: string;
        payload: string;
        received_at: Date;
        intentos: number;
      }>(
        `UPDATE bot_updates u SET claimed_until = $3
           FROM (SELECT update_id FROM bot_updates
                  WHERE bot_id = $1 AND estado = 'pendiente' AND claimed_until <= $2
                  ORDER BY update_id LIMIT $4 FOR UPDATE SKIP LOCKED) s
          WHERE u.bot_id = $1 AND u.update_id = s.update_id
          RETURNING u.update_id, u.chat_id, u.tipo, u.payload, u.received_at, u.intentos`,
        [botId, now, new Date(now.getTime() + leaseMs), limit],
      );
      return rows
        .sort((a, b) => a.update_id - b.update_id)
        .map((r) => ({
          updateId: r.update_id,
          chatId: r.chat_id,
          tipo: r.tipo,
          json: r.payload,
          receivedAt: r.received_at,
          intentos: r.intentos,
        }));
    },

    /** Forgets handled updates older than `keepMs` (Telegram redelivers for at most 24 hours). */
    async prune(now: Date, keepMs: number): Promise<number> {
      const res = await db.query(
        `DELETE FROM bot_updates WHERE bot_id = $1 AND estado <> 'pendiente' AND received_at < $2`,
        [botId, new Date(now.getTime() - keepMs)],
      );
      return res.rowCount;
    },
  };
}

export type Inbox = ReturnType<typeof createInbox>;
