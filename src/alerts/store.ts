import { createHash, randomInt } from 'node:crypto';
import type { Db, Queryable } from '../db/index.js';

/**
 * Staff alerts: the one door for raising and clearing an incident (issue 15 §5).
 *
 * An **incident** is an open row of `staff_alerts` for a key (`token_invalido`, `respaldo_fallido`,
 * …). Raising a key that is already open sends nothing again unless its level rises ("worsens");
 * clearing an open key closes it and says so once. A later raise opens a new incident. What is
 * to be said goes to `staff_messages`, which the alert monitor delivers to the staff chats: so any
 * part of the service (backups, the bot's cédula budget) can raise an alert with just the database.
 */

/** Known keys; others may be used (a new check), they are plain text. */
export type AlertKey =
  | 'token_invalido'
  | 'webhook_fallando'
  | 'webhook_pendientes'
  | 'tasa_de_fallos'
  | 'cola_atascada'
  | 'respaldo_fallido'
  | 'disco_casi_lleno'
  | 'presupuesto_cedulas'
  | (string & {});

export interface AlertInput {
  clave: AlertKey;
  /** Severity of this incident; a raise with a higher level than the open one says so again. */
  nivel?: number;
  /** Short Spanish title, e.g. "Telegram rechaza el token del bot (401)". */
  titulo: string;
  /** What happened and what to do, in Spanish. */
  detalle?: string;
}

export type RaiseOutcome = 'nueva' | 'empeoro' | 'sin_cambio';

export interface AlertRow {
  id: number;
  clave: string;
  nivel: number;
  titulo: string;
  detalle: string;
  estado: 'activa' | 'resuelta';
  abierta_en: Date;
  vista_en: Date;
  resuelta_en: Date | null;
  avisos: number;
}

async function queueStaffMessage(q: Queryable, texto: string, now: Date): Promise<void> {
  await q.query('INSERT INTO staff_messages (texto, creado_en) VALUES ($1, $2)', [texto, now]);
}

/** Opens an incident, or records that it is still there (and says so again only if it worsened). */
export async function raiseAlert(db: Db, alert: AlertInput, now: Date): Promise<RaiseOutcome> {
  const nivel = alert.nivel ?? 1;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ inserted: boolean; prev_nivel: number | null; avisos: number }>(
      `WITH prev AS (SELECT id, nivel FROM staff_alerts WHERE clave = $1 AND estado = 'activa'),
       up AS (
         INSERT INTO staff_alerts (clave, nivel, titulo, detalle, abierta_en, vista_en, avisos)
         VALUES ($1, $2, $3, $4, $5, $5, 1)
         ON CONFLICT (clave) WHERE estado = 'activa' DO UPDATE
            SET vista_en = EXCLUDED.vista_en,
                titulo = EXCLUDED.titulo,
                detalle = EXCLUDED.detalle,
                nivel = GREATEST(staff_alerts.nivel, EXCLUDED.nivel),
                avisos = staff_alerts.avisos
                         + CASE WHEN EXCLUDED.nivel > staff_alerts.nivel THEN 1 ELSE 0 END
         RETURNING id, avisos, (xmax = 0) AS inserted)
       SELECT up.inserted, prev.nivel AS prev_nivel, up.avisos FROM up LEFT JOIN prev ON prev.id = up.id`,
      [alert.clave, nivel, alert.titulo, alert.detalle ?? '', now],
    );
    const r = rows[0]!;
    const outcome: RaiseOutcome = r.inserted
      ? 'nueva'
      : r.prev_nivel !== null && nivel > r.prev_nivel
        ? 'empeoro'
        : 'sin_cambio';
    if (outcome !== 'sin_cambio') {
      const head = outcome === 'nueva' ? '⚠️ ALERTA' : '⚠️ EMPEORÓ';
      await queueStaffMessage(
        tx,
        `${head}: ${alert.titulo}${alert.detalle ? `\n${alert.detalle}` : ''}`,
        now,
      );
    }
    return outcome;
  });
}

/** Closes the open incident of `clave`, if any, and says so once. Returns whether one was open. */
export async function clearAlert(db: Db, clave: AlertKey, now: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ titulo: string }>(
      `UPDATE staff_alerts SET estado = 'resuelta', resuelta_en = $2
        WHERE clave = $1 AND estado = 'activa' RETURNING titulo`,
      [clave, now],
    );
    if (!rows[0]) return false;
    await queueStaffMessage(tx, `✅ Resuelto: ${rows[0].titulo}`, now);
    return true;
  });
}

/** Open incidents first, then the most recent ones. */
export async function listAlerts(q: Queryable, limit = 100): Promise<AlertRow[]> {
  const { rows } = await q.query<AlertRow>(
    `SELECT id, clave, nivel, titulo, detalle, estado, abierta_en, vista_en, resuelta_en, avisos
       FROM staff_alerts ORDER BY (estado = 'activa') DESC, abierta_en DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}

/** A message for every staff chat (the daily digest). */
export async function queueStaffNotice(q: Queryable, texto: string, now: Date): Promise<void> {
  await queueStaffMessage(q, texto, now);
}

// ---------------------------------------------------------------------------------- staff chats

const hashCode = (code: string) => createHash('sha256').update(code.trim().toUpperCase()).digest('hex');
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I

/** A one-time code for `/staff CODE`, valid `ttlMinutes`. Only its hash is stored. */
export async function createStaffLinkCode(
  q: Queryable,
  now: Date,
  ttlMinutes = 15,
): Promise<{ codigo: string; expira_en: Date }> {
  const codigo = Array.from({ length: 8 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
  const expira_en = new Date(now.getTime() + ttlMinutes * 60_000);
  await q.query('INSERT INTO staff_link_codes (codigo_hash, expira_en) VALUES ($1, $2)', [
    hashCode(codigo),
    expira_en,
  ]);
  return { codigo, expira_en };
}

/** Uses a code: the chat becomes a staff chat. false = unknown, used or expired code. */
export async function linkStaffChat(
  db: Db,
  input: { codigo: string; chatId: number; nombre: string },
  now: Date,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE staff_link_codes SET usado_en = $2, chat_id = $3
        WHERE codigo_hash = $1 AND usado_en IS NULL AND expira_en > $2 RETURNING 1`,
      [hashCode(input.codigo), now, input.chatId],
    );
    if (!rows[0]) return false;
    await tx.query(
      `INSERT INTO staff_chats (chat_id, nombre, vinculado_en) VALUES ($1, $2, $3)
       ON CONFLICT (chat_id) DO UPDATE SET nombre = EXCLUDED.nombre, vinculado_en = EXCLUDED.vinculado_en`,
      [input.chatId, input.nombre, now],
    );
    return true;
  });
}

export async function listStaffChats(
  q: Queryable,
): Promise<{ chat_id: number; nombre: string; vinculado_en: Date }[]> {
  const { rows } = await q.query<{ chat_id: number; nombre: string; vinculado_en: Date }>(
    'SELECT chat_id, nombre, vinculado_en FROM staff_chats ORDER BY vinculado_en',
  );
  return rows;
}

export async function unlinkStaffChat(q: Queryable, chatId: number): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM staff_chats WHERE chat_id = $1', [chatId]);
  return rowCount > 0;
}
