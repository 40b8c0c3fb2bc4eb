import type { ChannelName } from '../channels/types.js';
import type { Config } from '../config.js';
import { channelNames } from '../vocabulary.js';

/** Where a postgres:// URL points, without user or password. */
function describePostgres(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL en ${u.host}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/**
 * The line a technician reads first after start: mode, database, channels, the public URL and
 * where the admin page is. No secrets (the database URL is reduced to host and name).
 */
export function startupSummary(opts: {
  config: Config;
  address: string;
  sandbox: boolean;
  dbKind: 'pglite' | 'postgres';
  /** The channels this instance sends on (as recorded for the reach rules); default Telegram alone. */
  channels?: readonly ChannelName[];
}): { fields: Record<string, unknown>; message: string } {
  const { config, address, sandbox } = opts;
  const modo = sandbox ? 'sandbox' : config.demo ? 'demostración' : 'producción';
  const base =
    opts.dbKind === 'pglite' || !config.databaseUrl
      ? `base embebida (PGlite) en ${config.dataDir}`
      : describePostgres(config.databaseUrl);
  const telegram = sandbox
    ? 'Telegram simulado'
    : !config.telegram.token
      ? 'Telegram sin token'
      : config.telegram.publicUrl
        ? 'Telegram por webhook'
        : 'Telegram por long polling';
  const canales = [
    telegram,
    ...(opts.channels ?? [])
      .filter((c) => c !== 'telegram')
      .map((c) => `${channelNames.label(c)}${sandbox ? ' simulado' : ''}`),
  ];
  const publica = config.telegram.publicUrl ?? null;
  const administracion = `${publica ?? address}/`;
  const fields = { modo, base_de_datos: base, canales, url_publica: publica, administracion };
  const message =
    `Modo ${modo} · ${base} · canales: ${canales.join(', ')} · ` +
    `URL pública: ${publica ?? 'ninguna (sin PUBLIC_URL)'} · administración en ${administracion}`;
  return { fields, message };
}
