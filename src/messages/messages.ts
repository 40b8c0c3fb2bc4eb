import { CHANNEL_NAMES, type ChannelName } from '../channels/types.js';
import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { formatDateTime } from '../notifications/format.js';
import { enqueue } from '../notifications/outbox.js';
import { notificationReasons } from '../vocabulary.js';

/**
 * The "Mensajes" inbox (issue 13 §8): free text a client writes that no command or flow took
 * ("no tengo internet desde ayer") is stored here, staff read it in the admin page and answer
 * through the client's channel. Incoming rows are `nuevo` until answered (`respondido`) or
 * archived; an answer is an outgoing row plus one outbox row (the outbox is the only door to
 * `notifications`), so it is paced, retried and shown like any other notice.
 *
 * Channels: a message that came by Telegram is answered on Telegram; one that came by WhatsApp
 * (stored by the WhatsApp inbound hook with `canal = 'whatsapp'`) on WhatsApp inside the 24-hour
 * window. `replyChannel` below is the one place that decides how an answer travels.
 */

/** After this long without writing, the next message of a chat is acknowledged again. */
export const ACK_AGAIN_AFTER_MS = 30 * 60_000;

export interface IncomingMessage {
  /** The client linked to the chat (null: a chat not linked to anybody). */
  clientId: number | null;
  chatId: number | null;
  canal: string;
  texto: string;
  /** Whether the chat's link was verified (null: not linked). */
  verified: boolean | null;
  /**
   * What brought it, unique per provider ('telegram:<bot id>:<update id>', a WhatsApp message id):
   * a redelivered update stores nothing twice.
   */
  origen: string | null;
  now: Date;
}

/**
 * Stores an incoming message. Returns its id and whether the sender should be told it reached
 * the provider (not for every message of a burst: once per `ACK_AGAIN_AFTER_MS` of silence);
 * null when this update was stored before.
 */
export async function recordIncoming(
  db: Queryable,
  m: IncomingMessage,
): Promise<{ id: number; acknowledge: boolean } | null> {
  const { rows } = await db.query<{ id: number; acknowledge: boolean }>(
    `WITH prev AS (
       SELECT max(created_at) AS at FROM client_messages
        WHERE direccion = 'entrante'
          AND (chat_id = $2::bigint OR ($2::bigint IS NULL AND client_id = $1::int AND canal = $3))
     ), ins AS (
       INSERT INTO client_messages (client_id, chat_id, canal, direccion, texto, estado, vinculo_verificado,
                                    origen, created_at)
       VALUES ($1, $2, $3, 'entrante', $4, 'nuevo', $5, $6, $7)
       ON CONFLICT (origen) DO NOTHING
       RETURNING id
     )
     SELECT ins.id, (prev.at IS NULL OR prev.at < $7::timestamptz - $8 * interval '1 millisecond') AS acknowledge
       FROM ins, prev`,
    // PostgreSQL text cannot hold NUL: a client's (or a fuzzer's) \0 is dropped, the rest kept.
    [
      m.clientId,
      m.chatId,
      m.canal,
      m.texto.replace(/\0/g, ''),
      m.verified,
      m.origen,
      m.now,
      ACK_AGAIN_AFTER_MS,
    ],
  );
  const r = rows[0];
  return r ? { id: Number(r.id), acknowledge: r.acknowledge } : null;
}

export interface MessageReply {
  id: number;
  texto: string;
  autor: string | null;
  creado_en: string;
  /** The outbox row that carries it, and where it is. */
  notificacion_id: number | null;
  notificacion_estado: string | null;
}

export interface InboxMessage {
  id: number;
  cliente_id: number | null;
  cliente: string | null;
  cedula: string | null;
  canal: string;
  chat_id: number | null;
  texto: string;
  estado: 'nuevo' | 'respondido' | 'archivado';
  /** The link was not verified when it came: whoever holds the chat may not be the client. */
  vinculo_verificado: boolean | null;
  creado_en: string;
  respuestas: MessageReply[];
}

interface InboxRow {
  id: number | string;
  client_id: number | null;
  nombre: string | null;
  cedula: string | null;
  canal: string;
  chat_id: number | string | null;
  texto: string;
  estado: InboxMessage['estado'];
  vinculo_verificado: boolean | null;
  created_at: Date;
  respuestas: {
    id: number;
    texto: string;
    autor: string | null;
    created_at: string;
    notification_id: number | null;
    notif_estado: string | null;
  }[];
}

/** The inbox, newest first: incoming messages with their answers. */
export async function listMessages(
  db: Queryable,
  q: {
    estado?: InboxMessage['estado'] | undefined;
    clientId?: number | undefined;
    limit: number;
    offset: number;
  },
): Promise<{ mensajes: InboxMessage[]; total: number; nuevos: number }> {
  // The page first (newest first), then its clients and answers; the totals counted apart. A
  // window count over the page's query built every incoming message with its answers to keep 50.
  const filters = `m.direccion = 'entrante'
        AND ($1::text IS NULL OR m.estado = $1) AND ($2::int IS NULL OR m.client_id = $2)`;
  const { rows } = await db.query<InboxRow>(
    `WITH page AS (
       SELECT m.* FROM client_messages m
        WHERE ${filters}
        ORDER BY m.created_at DESC, m.id DESC
        LIMIT $3 OFFSET $4
     )
     SELECT m.id, m.client_id, c.nombre, c.cedula, m.canal, m.chat_id, m.texto, m.estado, m.vinculo_verificado,
            m.created_at,
            COALESCE((SELECT json_agg(json_build_object(
                        'id', r.id, 'texto', r.texto, 'autor', r.autor, 'created_at', r.created_at,
                        'notification_id', r.notification_id, 'notif_estado', n.estado) ORDER BY r.id)
                        FROM client_messages r LEFT JOIN notifications n ON n.id = r.notification_id
                       WHERE r.responde_a = m.id), '[]'::json) AS respuestas
       FROM page m
       LEFT JOIN clients c ON c.id = m.client_id
      ORDER BY m.created_at DESC, m.id DESC`,
    [q.estado ?? null, q.clientId ?? null, q.limit, q.offset],
  );
  const counts = await db.query<{ total: number; nuevos: number }>(
    `SELECT (SELECT count(*)::int FROM client_messages m WHERE ${filters}) AS total,
            (SELECT count(*)::int FROM client_messages WHERE estado = 'nuevo') AS nuevos`,
    [q.estado ?? null, q.clientId ?? null],
  );
  return {
    total: counts.rows[0]?.total ?? 0,
    nuevos: counts.rows[0]?.nuevos ?? 0,
    mensajes: rows.map((r) => ({
      id: Number(r.id),
      cliente_id: r.client_id,
      cliente: r.nombre,
      cedula: r.cedula,
      canal: r.canal,
      chat_id: r.chat_id === null ? null : Number(r.chat_id),
      texto: r.texto,
      estado: r.estado,
      vinculo_verificado: r.vinculo_verificado,
      creado_en: r.created_at.toISOString(),
      respuestas: r.respuestas.map((a) => ({
        id: Number(a.id),
        texto: a.texto,
        autor: a.autor,
        creado_en: new Date(a.created_at).toISOString(),
        notificacion_id: a.notification_id === null ? null : Number(a.notification_id),
        notificacion_estado: a.notif_estado,
      })),
    })),
  };
}

/** Where an answer goes. */
interface ReplyTarget {
  canal: string;
  clientId: number | null;
  /** The chat for a sender linked to no client (the outbox sends to the row's chat). */
  chatId: number | null;
}

/**
 * How an answer travels — the one place that decides it. Telegram: through the outbox as a
 * plain-text manual message. WhatsApp: through the outbox on WhatsApp alone, as free text, only
 * inside the client's 24-hour window (the client wrote in the last 24 h); outside it WhatsApp only
 * takes approved templates, so the answer is refused with the time the window closed. Returns the
 * outbox row's channel data (the channels the row must not take).
 */
async function replyChannel(
  tx: Queryable,
  t: ReplyTarget,
  now: Date,
  timeZone: string,
): Promise<{ canales_descartados?: ChannelName[] }> {
  if (t.canal === 'telegram') return {};
  if (t.canal !== 'whatsapp' || t.clientId === null) {
    throw new AppError(
      'CANAL_NO_DISPONIBLE',
      `Este mensaje llegó por ${t.canal}: todavía no se puede responder por ese canal desde la página. ` +
        'Responda por Telegram (POST /api/clientes/{id}/mensajes) o por teléfono.',
    );
  }
  const { rows } = await tx.query<{ hasta: Date | null; why: string | null }>(
    `SELECT c.whatsapp_ventana_hasta AS hasta, teltec_channel_reasons(c, $2::timestamptz, false)->>'whatsapp' AS why
       FROM clients c WHERE c.id = $1`,
    [t.clientId, now],
  );
  const c = rows[0];
  if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${t.clientId}.`);
  if (c.why !== null) {
    throw new AppError(
      'CANAL_NO_DISPONIBLE',
      `No se puede responder por WhatsApp: ${
        c.why === 'sin_whatsapp'
          ? 'el cliente no tiene número de WhatsApp registrado'
          : notificationReasons.label(c.why).toLowerCase()
      }. ` + 'Responda por otro canal o por teléfono.',
    );
  }
  if (c.hasta === null || new Date(c.hasta).getTime() <= now.getTime()) {
    const when = c.hasta
      ? `se cerró el ${formatDateTime(new Date(c.hasta), timeZone)} (24 horas después del último mensaje del cliente)`
      : 'no está abierta (el cliente no ha escrito por WhatsApp)';
    throw new AppError(
      'WHATSAPP_VENTANA_CERRADA',
      `La ventana de 24 horas de WhatsApp de este cliente ${when}: fuera de ella WhatsApp solo admite ` +
        'plantillas aprobadas. Llámelo, o responda cuando vuelva a escribir.',
    );
  }
  // The answer goes on WhatsApp or not at all: every other channel is ruled out for this row.
  return { canales_descartados: CHANNEL_NAMES.filter((x) => x !== 'whatsapp') };
}

/**
 * Staff answer: to one incoming message (`messageId`) or to a client (`clientId`). Queues the text
 * through the outbox (urgent: somebody is waiting for it) and marks the client's or chat's new
 * messages answered. MUST run in a transaction. Returns the outgoing message and its outbox row.
 */
export async function replyToMessage(
  tx: Queryable,
  r: {
    messageId?: number;
    clientId?: number;
    texto: string;
    autor: string | null;
    now: Date;
    /** The provider's zone (the closed window's time in the error); default America/Guayaquil. */
    timeZone?: string;
  },
): Promise<{ id: number; notificacion_id: number }> {
  let target: ReplyTarget;
  let answers: number | null = null;
  if (r.messageId !== undefined) {
    const { rows } = await tx.query<{ canal: string; client_id: number | null; chat_id: string | null }>(
      `SELECT canal, client_id, chat_id FROM client_messages WHERE id = $1 AND direccion = 'entrante' FOR UPDATE`,
      [r.messageId],
    );
    const m = rows[0];
    if (!m) throw new AppError('NO_ENCONTRADO', `No existe el mensaje ${r.messageId}.`);
    target = { canal: m.canal, clientId: m.client_id, chatId: m.chat_id === null ? null : Number(m.chat_id) };
    answers = r.messageId;
  } else {
    // Writing to a client: their Telegram chat; a client without one who has written to us on
    // WhatsApp gets it there (inside the window; outside it, the 409 says when it closed).
    const { rows } = await tx.query<{ wa: boolean }>(
      `SELECT chat_id IS NULL AND whatsapp IS NOT NULL AND whatsapp_ventana_hasta IS NOT NULL AS wa
         FROM clients WHERE id = $1`,
      [r.clientId ?? null],
    );
    const canal = rows[0]?.wa ? 'whatsapp' : 'telegram';
    target = { canal, clientId: r.clientId ?? null, chatId: null };
  }
  const channel = await replyChannel(tx, target, r.now, r.timeZone ?? 'America/Guayaquil');
  if (target.canal === 'whatsapp') {
    // Checked by replyChannel: the number, the consent and the open window.
  } else if (target.clientId !== null) {
    const { rows } = await tx.query<{ chat_id: string | null; telegram_blocked: boolean }>(
      'SELECT chat_id, telegram_blocked FROM clients WHERE id = $1',
      [target.clientId],
    );
    const c = rows[0];
    if (!c) throw new AppError('NO_ENCONTRADO', `No existe el cliente ${target.clientId}.`);
    if (c.chat_id === null) throw new AppError('CLIENTE_SIN_TELEGRAM');
    if (c.telegram_blocked) throw new AppError('CHAT_NO_DISPONIBLE');
  } else if (target.chatId === null) {
    throw new AppError('CHAT_NO_DISPONIBLE');
  }
  const out = await tx.query<{ id: string }>(
    `INSERT INTO client_messages (client_id, chat_id, canal, direccion, texto, responde_a, autor, created_at)
     VALUES ($1, $2, $3, 'saliente', $4, $5, $6, $7) RETURNING id`,
    [target.clientId, target.chatId, target.canal, r.texto, answers, r.autor, r.now],
  );
  const id = Number(out.rows[0]!.id);
  const [notificationId] = await enqueue(
    tx,
    [
      {
        client_id: target.clientId,
        chat_id: target.clientId === null ? target.chatId : null,
        tipo: 'manual',
        mensaje: r.texto,
        urgente: true,
        dedupe_key: `respuesta:${id}`,
        datos: { origen: 'mensajes', mensaje_id: id, ...channel },
      },
    ],
    r.now,
  );
  await tx.query('UPDATE client_messages SET notification_id = $2 WHERE id = $1', [id, notificationId]);
  // Answering the conversation answers every new message of that client (or chat) so far.
  await tx.query(
    `UPDATE client_messages SET estado = 'respondido'
      WHERE estado = 'nuevo' AND created_at <= $3
        AND (id = $4::bigint OR ($1::int IS NOT NULL AND client_id = $1) OR ($1::int IS NULL AND chat_id = $2::bigint))`,
    [target.clientId, target.chatId, r.now, answers],
  );
  return { id, notificacion_id: notificationId! };
}

/** Archives an incoming message without answering it. False if there is no such message. */
export async function archiveMessage(db: Queryable, id: number): Promise<boolean> {
  const res = await db.query(
    `UPDATE client_messages SET estado = 'archivado' WHERE id = $1 AND direccion = 'entrante'`,
    [id],
  );
  return res.rowCount > 0;
}
