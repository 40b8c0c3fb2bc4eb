import type { ChannelName } from '../channels/types.js';
import type { Queryable } from '../db/index.js';

/**
 * The consent ledger (`consents`): what a client agreed to receive on each channel, with its
 * source and evidence. Rows are only added, never edited: a withdrawal is a new row with
 * `otorgado = false`. The current consent is the latest row per (client, channel, category);
 * SQL reads it through `teltec_consent(client, canal, categoria)` (migration 013), the same rule.
 */

export type ConsentCategory = 'servicio' | 'marketing';

/** Where a consent came from (`consentSources` in src/vocabulary.ts; a CHECK in the table). */
export type ConsentSource =
  | 'contrato'
  | 'presencial'
  | 'formulario'
  | 'llamada'
  | 'telegram'
  | 'whatsapp'
  | 'sms'
  | 'email'
  | 'proveedor'
  | 'importacion';

export interface NewConsent {
  clientId: number;
  canal: ChannelName;
  categoria: ConsentCategory;
  otorgado: boolean;
  fuente: ConsentSource;
  evidencia?: string | null;
  /** Staff user, 'cliente' (the client answered), 'sistema' (a provider's opt-out). */
  registradoPor?: string | null;
  /** From the caller's (injected) clock. */
  at: Date;
}

export interface ConsentRow {
  id: number;
  client_id: number;
  canal: ChannelName;
  categoria: ConsentCategory;
  otorgado: boolean;
  fuente: ConsentSource;
  evidencia: string | null;
  registrado_por: string | null;
  created_at: Date;
}

const columns = 'id, client_id, canal, categoria, otorgado, fuente, evidencia, registrado_por, created_at';

/** Adds rows to the ledger (in the caller's transaction). Returns the ids, in input order. */
export async function recordConsents(tx: Queryable, rows: readonly NewConsent[]): Promise<number[]> {
  if (rows.length === 0) return [];
  const col = <T>(f: (r: NewConsent) => T) => rows.map(f);
  const { rows: out } = await tx.query<{ id: number; ord: number }>(
    `INSERT INTO consents (client_id, canal, categoria, otorgado, fuente, evidencia, registrado_por, created_at)
     SELECT v.client_id, v.canal, v.categoria, v.otorgado, v.fuente, v.evidencia, v.registrado_por, v.at
       FROM unnest($1::int[], $2::text[], $3::text[], $4::boolean[], $5::text[], $6::text[], $7::text[],
                   $8::timestamptz[]) WITH ORDINALITY
            AS v(client_id, canal, categoria, otorgado, fuente, evidencia, registrado_por, at, ord)
      ORDER BY v.ord
     RETURNING id`,
    [
      col((r) => r.clientId),
      col((r) => r.canal),
      col((r) => r.categoria),
      col((r) => r.otorgado),
      col((r) => r.fuente),
      col((r) => r.evidencia ?? null),
      col((r) => r.registradoPor ?? null),
      col((r) => r.at),
    ],
  );
  return out.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Adds one row to the ledger. Returns its id. */
export async function recordConsent(tx: Queryable, c: NewConsent): Promise<number> {
  return (await recordConsents(tx, [c]))[0]!;
}

/** The current consent per (channel, category) of a client: the latest row of each. */
export async function currentConsents(db: Queryable, clientId: number): Promise<ConsentRow[]> {
  const { rows } = await db.query<ConsentRow>(
    `SELECT DISTINCT ON (canal, categoria) ${columns}
       FROM consents WHERE client_id = $1
      ORDER BY canal, categoria, created_at DESC, id DESC`,
    [clientId],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** The whole ledger of a client, newest first (the API's GET). */
export async function consentHistory(db: Queryable, clientId: number): Promise<ConsentRow[]> {
  const { rows } = await db.query<ConsentRow>(
    `SELECT ${columns} FROM consents WHERE client_id = $1 ORDER BY created_at DESC, id DESC`,
    [clientId],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** Whether the client currently consents to `categoria` on `canal` (no row: no). */
export async function hasConsent(
  db: Queryable,
  clientId: number,
  canal: ChannelName,
  categoria: ConsentCategory,
): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>('SELECT teltec_consent($1, $2, $3) AS ok', [
    clientId,
    canal,
    categoria,
  ]);
  return rows[0]?.ok === true;
}
