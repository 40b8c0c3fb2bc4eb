import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { recordConsent } from '../clients/consents.js';
import type { Clock } from '../clock.js';
import type { Db, Queryable } from '../db/index.js';

/**
 * One-click unsubscribe from marketing e-mail (RFC 8058). Every marketing mail carries
 * `List-Unsubscribe: <URL>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`; the URL names
 * the client and a token signed with the service's key (HMAC-SHA256, kept in `settings`), so
 * nobody can unsubscribe someone else by guessing ids. The opt-out is a row in the consent ledger
 * (`consents`: email, marketing, revoked, source 'email').
 */

const KEY_NAME = 'secreto.baja_correo';
export const UNSUBSCRIBE_PATH = '/baja/correo';

/** The signing key, created once per database (shared by every instance). */
export async function loadUnsubscribeKey(db: Queryable): Promise<Buffer> {
  await db.query(
    `INSERT INTO settings (key, value, updated_at) VALUES ($1, to_jsonb($2::text), now())
     ON CONFLICT (key) DO NOTHING`,
    [KEY_NAME, randomBytes(32).toString('base64url')],
  );
  const { rows } = await db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [KEY_NAME]);
  return Buffer.from(rows[0]!.value, 'base64url');
}

export function unsubscribeToken(key: Buffer, clientId: number): string {
  return createHmac('sha256', key)
    .update(`baja:email:marketing:${clientId}`)
    .digest('base64url')
    .slice(0, 32);
}

/** Constant-time check of a token from a link. */
export function isUnsubscribeToken(key: Buffer, clientId: number, token: string): boolean {
  const expected = Buffer.from(unsubscribeToken(key, clientId));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The link for one client, on PUBLIC_URL or the service's own address. */
export function unsubscribeUrl(baseUrl: string, key: Buffer, clientId: number): string {
  return `${baseUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}?c=${clientId}&t=${unsubscribeToken(key, clientId)}`;
}

/**
 * Records the opt-out in the ledger (once: a client already opted out adds no row).
 * Returns 'registrada', 'ya_estaba' or 'cliente_inexistente'.
 */
export async function recordEmailUnsubscribe(
  db: Db,
  clientId: number,
  clock: Clock,
  evidencia: string,
): Promise<'registrada' | 'ya_estaba' | 'cliente_inexistente'> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: number; current: boolean | null }>(
      `SELECT c.id, (SELECT k.otorgado FROM consents k
                      WHERE k.client_id = c.id AND k.canal = 'email' AND k.categoria = 'marketing'
                      ORDER BY k.created_at DESC, k.id DESC LIMIT 1) AS current
         FROM clients c WHERE c.id = $1 FOR UPDATE OF c`,
      [clientId],
    );
    if (!rows[0]) return 'cliente_inexistente';
    if (rows[0].current === false) return 'ya_estaba';
    await recordConsent(tx, {
      clientId,
      canal: 'email',
      categoria: 'marketing',
      otorgado: false,
      fuente: 'email',
      evidencia,
      registradoPor: 'cliente',
      at: clock.now(),
    });
    return 'registrada';
  });
}
