import type { UserFromGetMe } from 'grammy/types';
import type { Queryable } from '../db/index.js';

/** Stores who the bot is (getMe), so its @username is known at once after a restart. */
export async function saveBotIdentity(
  db: Queryable,
  botId: number,
  me: UserFromGetMe,
  now: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO bot_identity (bot_id, username, first_name, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (bot_id) DO UPDATE SET username = EXCLUDED.username, first_name = EXCLUDED.first_name,
                                        updated_at = EXCLUDED.updated_at`,
    [botId, me.username, me.first_name, now],
  );
}

/** The @username Telegram gave this bot last time, if it ever answered. */
export async function cachedBotUsername(db: Queryable, botId: number): Promise<string | undefined> {
  const { rows } = await db.query<{ username: string }>(
    'SELECT username FROM bot_identity WHERE bot_id = $1',
    [botId],
  );
  return rows[0]?.username;
}
