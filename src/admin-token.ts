import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The admin token: ADMIN_TOKEN when set; otherwise a random one created on first start and kept
 * in DATA_DIR/admin-token (mode 0600). `created` tells the caller to say once where it is.
 */
export function resolveAdminToken(
  configured: string | undefined,
  dataDir: string,
): { token: string; file?: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  const file = path.join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 16) return { token, file, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file, created: true };
}

/** The token a running service uses, for the CLI asking it (never creates one). */
export function readAdminToken(configured: string | undefined, dataDir: string): string | undefined {
  if (configured) return configured;
  const file = path.join(dataDir, 'admin-token');
  if (!existsSync(file)) return undefined;
  const token = readFileSync(file, 'utf8').trim();
  return token.length >= 16 ? token : undefined;
}
