import { createHash, timingSafeEqual } from 'node:crypto';

export interface AdminToken {
  /** Who this token is, for the audit log ("admin" for ADMIN_TOKEN). */
  name: string;
  token: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Finds the token a request carries, comparing in constant time: both sides are hashed to the
 * same length first, and every known token is compared, so timing tells nothing.
 */
export function matchAdminToken(
  header: string | undefined,
  tokens: readonly AdminToken[],
): AdminToken | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = digest(m?.[1] ?? '');
  let found: AdminToken | null = null;
  for (const t of tokens) {
    if (timingSafeEqual(given, digest(t.token)) && m) found = t;
  }
  return found;
}

/** Constant-time equality for two secrets of any length. */
export function secretEquals(a: string | undefined, b: string): boolean {
  return timingSafeEqual(digest(a ?? ''), digest(b)) && a !== undefined;
}
