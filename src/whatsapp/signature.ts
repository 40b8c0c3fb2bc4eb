import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Meta signs every webhook POST: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body,
 * keyed with the app secret>`. Checked on the bytes as received, before any parsing, in constant
 * time. The stand-in signs with `signWebhookBody`, so tests exercise the same code both ways.
 */

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** 'sha256=…' for `body`. */
export function signWebhookBody(appSecret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** true only when `header` is exactly the signature of `raw` (constant time in the digest). */
export function verifyWebhookSignature(appSecret: string, raw: Buffer, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  const expected = createHmac('sha256', appSecret).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
