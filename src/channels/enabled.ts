import type { Queryable } from '../db/index.js';
import type { ChannelName } from './types.js';

/**
 * Tells the reach rules which channels this deployment sends on (SQL `teltec_channel_enabled`,
 * migration 019): a channel left out reads 'canal_no_configurado' for every client, so nobody is
 * counted as reachable on it. Every instance writes it at start from its own configuration.
 */
export async function recordEnabledChannels(
  db: Queryable,
  names: readonly ChannelName[],
  now: Date,
): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ('canales.activos', $1::jsonb, $2)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
    [JSON.stringify([...new Set(names)].sort()), now],
  );
}
