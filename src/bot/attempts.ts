import type { Queryable } from '../db/index.js';

/** At most this many failed linking attempts per chat in one window. */
export const MAX_FAILED_ATTEMPTS = 5;
export const ATTEMPT_WINDOW_MS = 60 * 60 * 1000;

export type FailedAttemptReason =
  | 'cedula_desconocida'
  | 'contacto_ajeno'
  | 'telefono_distinto'
  | 'invitacion_invalida';

export interface AttemptAllowance {
  allowed: boolean;
  /** Attempts left in the window (0 when blocked). */
  left: number;
  /** When blocked: how long until the oldest counted attempt leaves the window. */
  retryAfterMs: number;
}

/** Failed linking attempts (a sliding one-hour window per chat), over a lent Queryable. */
export function createAttemptsStore(db: Queryable) {
  return {
    async check(chatId: number, now: Date): Promise<AttemptAllowance> {
      const since = new Date(now.getTime() - ATTEMPT_WINDOW_MS);
      const { rows } = await db.query<{ at: Date }>(
        `SELECT at FROM bot_failed_attempts WHERE chat_id = $1 AND at > $2 ORDER BY at DESC LIMIT $3`,
        [chatId, since, MAX_FAILED_ATTEMPTS],
      );
      if (rows.length < MAX_FAILED_ATTEMPTS) {
        return { allowed: true, left: MAX_FAILED_ATTEMPTS - rows.length, retryAfterMs: 0 };
      }
      // The window frees a slot when the oldest of the last MAX attempts is an hour old.
      const oldest = rows[rows.length - 1]!.at.getTime();
      return {
        allowed: false,
        left: 0,
        retryAfterMs: Math.max(0, oldest + ATTEMPT_WINDOW_MS - now.getTime()),
      };
    },

    /** Records a failure; returns the attempts still left in the window. */
    async record(chatId: number, motivo: FailedAttemptReason, now: Date): Promise<number> {
      await db.query('INSERT INTO bot_failed_attempts (chat_id, motivo, at) VALUES ($1, $2, $3)', [
        chatId,
        motivo,
        now,
      ]);
      const since = new Date(now.getTime() - ATTEMPT_WINDOW_MS);
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM bot_failed_attempts WHERE chat_id = $1 AND at > $2',
        [chatId, since],
      );
      return Math.max(0, MAX_FAILED_ATTEMPTS - (rows[0]?.n ?? 0));
    },
  };
}

export type AttemptsStore = ReturnType<typeof createAttemptsStore>;
