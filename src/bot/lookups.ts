import type { Db, Queryable } from '../db/index.js';
import type { ClientForLinking, LinksStore } from './links.js';

/** Answered lookups a Telegram user may make per hour (a lookup that ends in a link is given back). */
export const LOOKUPS_PER_USER = 5;
export const LOOKUP_WINDOW_MS = 60 * 60 * 1000;

export type LookupOutcome =
  | { ok: true; lookupId: number; client: ClientForLinking | null }
  | { ok: false; reason: 'limite_usuario' | 'limite_global'; retryAfterMs: number };

export interface LookupSummary {
  /** Lookups answered in the last hour (against the budget). */
  ultima_hora: number;
  presupuesto_por_hora: number;
  /** Lookups refused in the last hour because the hourly budget was spent. */
  rechazadas_ultima_hora: number;
  presupuesto_agotado: boolean;
  ultimo_rechazo: string | null;
}

/**
 * The only door to "is there a client with this cédula?" from the bot (issue 12 §1). Every
 * answered lookup counts against the Telegram user and against one hourly budget across all chats;
 * beyond either, the cédula is not looked up at all. Checks and the record are one transaction
 * under an advisory lock, so concurrent updates cannot overspend the budget.
 */
export function createLookupGuard(db: Db, links: LinksStore, opts: { perHour: number; perUser?: number }) {
  const perUser = opts.perUser ?? LOOKUPS_PER_USER;
  return {
    async lookUp(r: { userKey: number; chatId: number; cedula: string; now: Date }): Promise<LookupOutcome> {
      const since = new Date(r.now.getTime() - LOOKUP_WINDOW_MS);
      return db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('teltec_bot_cedula_lookups'))`);
        const { rows } = await tx.query<{
          global: number;
          mine: number;
          oldest_mine: Date | null;
          oldest: Date | null;
        }>(
          `SELECT count(*)::int AS global,
                  (count(*) FILTER (WHERE user_key = $2))::int AS mine,
                  min(at) FILTER (WHERE user_key = $2) AS oldest_mine,
                  min(at) AS oldest
             FROM bot_cedula_lookups WHERE at > $1 AND resultado = 'consultada'`,
          [since, r.userKey],
        );
        const c = rows[0]!;
        const refuse = async (reason: 'limite_usuario' | 'limite_global', oldest: Date | null) => {
          await tx.query(
            'INSERT INTO bot_cedula_lookups (at, user_key, chat_id, resultado) VALUES ($1, $2, $3, $4)',
            [r.now, r.userKey, r.chatId, reason],
          );
          const retryAfterMs = oldest
            ? Math.max(0, oldest.getTime() + LOOKUP_WINDOW_MS - r.now.getTime())
            : 0;
          return { ok: false, reason, retryAfterMs } as const;
        };
        if (c.mine >= perUser) return refuse('limite_usuario', c.oldest_mine);
        if (c.global >= opts.perHour) return refuse('limite_global', c.oldest);
        const client = await links.byCedula(r.cedula, tx);
        const ins = await tx.query<{ id: number }>(
          `INSERT INTO bot_cedula_lookups (at, user_key, chat_id, client_id, resultado)
           VALUES ($1, $2, $3, $4, 'consultada') RETURNING id`,
          [r.now, r.userKey, r.chatId, client?.id ?? null],
        );
        return { ok: true, lookupId: Number(ins.rows[0]!.id), client } as const;
      });
    },

    /** The chat finished linking this client: the user's lookup of it stops counting. */
    async complete(userKey: number, clientId: number, now: Date): Promise<void> {
      await db.query(
        `UPDATE bot_cedula_lookups SET resultado = 'completada'
          WHERE id = (SELECT id FROM bot_cedula_lookups
                       WHERE user_key = $1 AND client_id = $2 AND resultado = 'consultada' AND at > $3
                       ORDER BY at DESC LIMIT 1)`,
        [userKey, clientId, new Date(now.getTime() - LOOKUP_WINDOW_MS)],
      );
    },

    summary: (now: Date) => lookupSummary(db, now, opts.perHour),
  };
}

export type LookupGuard = ReturnType<typeof createLookupGuard>;

/** For staff (Resumen): the last hour's cédula lookups against the hourly budget. */
export async function lookupSummary(db: Queryable, now: Date, perHour: number): Promise<LookupSummary> {
  const { rows } = await db.query<{ answered: number; refused: number; last: Date | null }>(
    `SELECT (count(*) FILTER (WHERE resultado = 'consultada'))::int AS answered,
            (count(*) FILTER (WHERE resultado = 'limite_global'))::int AS refused,
            max(at) FILTER (WHERE resultado = 'limite_global') AS last
       FROM bot_cedula_lookups WHERE at > $1`,
    [new Date(now.getTime() - LOOKUP_WINDOW_MS)],
  );
  const s = rows[0]!;
  return {
    ultima_hora: s.answered,
    presupuesto_por_hora: perHour,
    rechazadas_ultima_hora: s.refused,
    presupuesto_agotado: s.answered >= perHour,
    ultimo_rechazo: s.last?.toISOString() ?? null,
  };
}
