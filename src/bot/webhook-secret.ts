import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const VALID = /^[A-Za-z0-9_-]{16,256}$/;

/**
 * The secret Telegram sends with every webhook delivery: TELEGRAM_WEBHOOK_SECRET when set;
 * otherwise a random one made on first start and kept in DATA_DIR/webhook-secret (mode 0600),
 * so the webhook set at start keeps matching after a restart.
 */
export function resolveWebhookSecret(
  configured: string | undefined,
  dataDir: string,
): { secret: string; file?: string; created: boolean } {
  if (configured) return { secret: configured, created: false };
  const file = path.join(dataDir, 'webhook-secret');
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (VALID.test(secret)) return { secret, file, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  // 32 random bytes in base64url: only the characters Telegram allows in a secret_token.
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secret, file, created: true };
}
