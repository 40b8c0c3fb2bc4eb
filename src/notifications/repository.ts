import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { describePath, type PathStep } from './fallback-policy.js';
import { cancel, listEnvios, requeueFailed } from './outbox.js';
import type { NotificationState } from './types.js';

/** A notification as the API shows it (seed field names). */
export interface NotificationView {
  id: number;
  cliente_id: number | null;
  cliente_nombre: string | null;
  tipo: string;
  canal: string;
  mensaje: string | null;
  estado: string;
  urgente: boolean;
  intentos: number;
  proximo_intento: string;
  ultimo_error: string | null;
  motivo: string | null;
  telegram_message_id: number | null;
  campana_id: number | null;
  ciclo: string | null;
  paso: number | null;
  creado_en: string;
  enviado_en: string | null;
  /** The channel reported delivery / reading (best attempt). */
  entregado_en?: string | null;
  leido_en?: string | null;
  /** Its attempts, one per try on a channel (GET /api/notificaciones/{id}/ only). */
  envios?: EnvioApiView[];
}

/** One attempt of a notice as the API shows it. */
export interface EnvioApiView {
  id: number;
  canal: string;
  estado: string;
  destino: string | null;
  proveedor_id: string | null;
  plantilla: string | null;
  error_codigo: string | null;
  error: string | null;
  creado_en: string;
  enviado_en: string | null;
  entregado_en: string | null;
  leido_en: string | null;
  fallido_en: string | null;
}

/** Sent = the provider accepted it: `enviado` and the delivery states after it. */
export const SENT_STATES_SQL = `('enviado', 'entregado', 'leido')`;

export interface NotificationFilters {
  estado?: NotificationState;
  tipo?: string;
  cliente_id?: number;
  campana_id?: number;
  motivo?: string;
  /** Local dates (inclusive) on created_at. */
  desde?: string;
  hasta?: string;
  pagina: number;
  por_pagina: number;
}

type Row = Record<string, unknown>;

function toView(r: Row): NotificationView {
  return {
    id: r['id'] as number,
    cliente_id: r['client_id'] as number | null,
    cliente_nombre: r['cliente_nombre'] as string | null,
    tipo: r['tipo'] as string,
    canal: r['canal'] as string,
    mensaje: r['mensaje'] as string | null,
    estado: r['estado'] as string,
    urgente: r['urgente'] as boolean,
    intentos: r['intentos'] as number,
    proximo_intento: (r['proximo_intento'] as Date).toISOString(),
    ultimo_error: r['ultimo_error'] as string | null,
    motivo: r['motivo'] as string | null,
    telegram_message_id: r['telegram_message_id'] as number | null,
    campana_id: r['campaign_id'] as number | null,
    ciclo: r['ciclo'] as string | null,
    paso: r['paso'] as number | null,
    creado_en: (r['created_at'] as Date).toISOString(),
    enviado_en: (r['sent_at'] as Date | null)?.toISOString() ?? null,
    entregado_en: (r['entregado_at'] as Date | null | undefined)?.toISOString() ?? null,
    leido_en: (r['leido_at'] as Date | null | undefined)?.toISOString() ?? null,
  };
}

export async function listNotifications(
  db: Queryable,
  f: NotificationFilters,
  timeZone: string,
): Promise<{ notificaciones: NotificationView[]; total: number }> {
  const where = `($1::text IS NULL OR n.estado = $1) AND ($2::text IS NULL OR n.tipo = $2)
        AND ($3::int IS NULL OR n.id = ANY (ARRAY(SELECT teltec_client_notice_ids($3))))
        AND ($4::int IS NULL OR n.campaign_id = $4)
        AND ($5::text IS NULL OR n.motivo = $5)
        AND ($6::date IS NULL OR n.created_at >= ($6::date::timestamp AT TIME ZONE $7))
        AND ($8::date IS NULL OR n.created_at < (($8::date + 1)::timestamp AT TIME ZONE $7))`;
  const filters = [
    f.estado ?? null,
    f.tipo ?? null,
    f.cliente_id ?? null,
    f.campana_id ?? null,
    f.motivo ?? null,
    f.desde ?? null,
    timeZone,
    f.hasta ?? null,
  ];
  // The total counted apart, then the page, newest first, by primary key. A window count over the
  // page's query built every matching notice with its client's name to keep 50 (0.9 s for an
  // unfiltered list of 300,000 notices on PGlite, which answered nothing else meanwhile). With
  // dates, the count also gives the span of ids they cover: the page then reads that span rather
  // than walk the key down from the newest notice to the day asked for (notices are created in id
  // order, mostly; the span is exact either way).
  const byDate = f.desde !== undefined || f.hasta !== undefined;
  const count = await db.query<{ total: number; lo: string | null; hi: string | null }>(
    `SELECT count(*)::int AS total${byDate ? ', min(n.id) AS lo, max(n.id) AS hi' : ''}
       FROM notifications n WHERE ${where}`,
    filters,
  );
  const { total = 0, lo = null, hi = null } = count.rows[0] ?? {};
  if (total === 0) return { total: 0, notificaciones: [] };
  const { rows } = await db.query<Row>(
    `SELECT n.*, c.nombre AS cliente_nombre
       FROM notifications n LEFT JOIN clients c ON c.id = n.client_id
      WHERE ($9::bigint IS NULL OR n.id BETWEEN $9 AND $10) AND ${where}
      ORDER BY n.id DESC LIMIT $11 OFFSET $12`,
    [...filters, lo, hi, f.por_pagina, (f.pagina - 1) * f.por_pagina],
  );
  return { total, notificaciones: rows.map(toView) };
}

export async function getNotification(db: Queryable, id: number): Promise<NotificationView> {
  const { rows } = await db.query<Row>(
    `SELECT n.*, c.nombre AS cliente_nombre FROM notifications n LEFT JOIN clients c ON c.id = n.client_id
      WHERE n.id = $1`,
    [id],
  );
  if (!rows[0]) throw new AppError('NO_ENCONTRADO', `No existe la notificación ${id}.`);
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const envios = ((await listEnvios(db, [id])).get(id) ?? []).map((e) => ({
    id: e.id,
    canal: e.canal,
    estado: e.estado,
    destino: e.destino,
    proveedor_id: e.proveedor_id,
    plantilla: e.plantilla,
    error_codigo: e.error_codigo,
    error: e.error,
    creado_en: e.created_at.toISOString(),
    enviado_en: iso(e.enviado_at),
    entregado_en: iso(e.entregado_at),
    leido_en: iso(e.leido_at),
    fallido_en: iso(e.fallido_at),
  }));
  return { ...toView(rows[0]), envios };
}

/**
 * The notice's path over its attempts, for staff: "Telegram: bloqueado → SMS: entregado 08:03"
 * (null before any attempt).
 */
export async function notificationPath(db: Queryable, id: number, timeZone: string): Promise<string | null> {
  const { rows } = await db.query<PathStep>(
    `SELECT canal, estado, error_codigo, enviado_at, entregado_at, leido_at, fallido_at
       FROM notification_envios WHERE notification_id = $1 ORDER BY id`,
    [id],
  );
  return rows.length ? describePath(rows, timeZone) : null;
}

/** A failed notification goes back to the queue with a fresh attempt budget. */
export async function retryNotification(db: Queryable, id: number, now: Date): Promise<NotificationView> {
  if (!(await requeueFailed(db, id, now))) {
    const current = await getNotification(db, id);
    throw new AppError(
      'NOTIFICACION_ESTADO',
      `Solo se reintenta una notificación fallida; la ${id} está ${current.estado}.`,
    );
  }
  return getNotification(db, id);
}

/** A pending notification is closed without sending (`cancelado`, reason `cancelada_por_usuario`). */
export async function cancelNotification(db: Queryable, id: number, now: Date): Promise<NotificationView> {
  if ((await cancel(db, { id }, 'cancelada_por_usuario', now)) === 0) {
    const current = await getNotification(db, id);
    throw new AppError(
      'NOTIFICACION_ESTADO',
      `Solo se cancela una notificación pendiente; la ${id} está ${current.estado}.`,
    );
  }
  return getNotification(db, id);
}

export interface ChannelStats {
  enviadas: number;
  entregadas: number | null;
  leidas: number | null;
  fallidas: number;
  /** Sent / (sent + failed), in %. */
  tasa_envio: number | null;
  /** Delivered / sent, in %, where the channel reports delivery. */
  tasa_entrega: number | null;
  /** Read / sent, in %, where the channel reports reads (WhatsApp; not SMS or e-mail). */
  tasa_lectura: number | null;
}

export interface NotificationStats {
  por_tipo: Record<string, StateCounts>;
  por_dia: { fecha: string; creadas: number; enviadas: number; fallidas: number }[];
  /** Sent / (sent + failed), in %, over the period; null when nothing finished. */
  tasa_entrega: number | null;
  /**
   * By channel over the period. `entregadas`, `leidas` and their rates (of the sent ones) only for a
   * channel that reports delivery; null otherwise ("enviado" is not "entregado").
   */
  por_canal: Record<string, ChannelStats>;
  fallos_por_motivo: { motivo: string; total: number }[];
  cancelaciones_por_motivo: { motivo: string; total: number }[];
  desde: string;
  hasta: string;
}

export interface StateCounts {
  pendientes: number;
  enviadas: number;
  fallidas: number;
  canceladas: number;
}

/** Every notice counted by type and state (one scan of the outbox). */
export async function countsByType(db: Queryable): Promise<Record<string, StateCounts>> {
  const { rows } = await db.query<StateCounts & { tipo: string }>(
    `SELECT tipo, count(*) FILTER (WHERE estado = 'pendiente')::int AS pendientes,
            count(*) FILTER (WHERE estado IN ${SENT_STATES_SQL})::int AS enviadas,
            count(*) FILTER (WHERE estado = 'fallido')::int AS fallidas,
            count(*) FILTER (WHERE estado = 'cancelado')::int AS canceladas
       FROM notifications GROUP BY tipo ORDER BY tipo`,
  );
  return Object.fromEntries(rows.map(({ tipo, ...counts }) => [tipo, counts]));
}

/** Counts by type, by local day over [desde, hasta], delivery rate and failures by reason. */
export async function notificationStats(
  db: Queryable,
  q: { desde: string; hasta: string; timeZone: string },
): Promise<NotificationStats> {
  const range = [q.desde, q.hasta, q.timeZone];
  const since = `($1::date::timestamp AT TIME ZONE $3)`;
  const until = `(($2::date + 1)::timestamp AT TIME ZONE $3)`;
  const porTipo = await countsByType(db);
  const byDay = await db.query<{ fecha: string; creadas: number; enviadas: number; fallidas: number }>(
    `WITH days AS (
       SELECT d::date AS fecha FROM generate_series($1::date, $2::date, interval '1 day') d
     ), created AS (
       SELECT (created_at AT TIME ZONE $3)::date AS fecha, count(*) AS n FROM notifications
        WHERE created_at >= ${since} AND created_at < ${until} GROUP BY 1
     ), sent AS (
       SELECT (sent_at AT TIME ZONE $3)::date AS fecha, count(*) AS n FROM notifications
        WHERE sent_at >= ${since} AND sent_at < ${until} AND estado IN ${SENT_STATES_SQL} GROUP BY 1
     ), failed AS (
       SELECT (updated_at AT TIME ZONE $3)::date AS fecha, count(*) AS n FROM notifications
        WHERE estado = 'fallido' AND updated_at >= ${since} AND updated_at < ${until} GROUP BY 1
     )
     SELECT days.fecha::text AS fecha, coalesce(created.n, 0)::int AS creadas,
            coalesce(sent.n, 0)::int AS enviadas, coalesce(failed.n, 0)::int AS fallidas
       FROM days LEFT JOIN created USING (fecha) LEFT JOIN sent USING (fecha) LEFT JOIN failed USING (fecha)
      ORDER BY days.fecha`,
    range,
  );
  const reasons = await db.query<{ estado: string; motivo: string; total: number }>(
    `SELECT estado, coalesce(motivo, 'sin_motivo') AS motivo, count(*)::int AS total FROM notifications
      WHERE estado IN ('fallido', 'cancelado') AND updated_at >= ${since} AND updated_at < ${until}
      GROUP BY 1, 2 ORDER BY total DESC, motivo`,
    range,
  );
  // By channel (the channel of the notice's latest attempt), over the notices sent or failed in
  // the period. Delivery and read rates only where the channel reports them (some attempt on it in
  // the period has a delivery / read time): elsewhere "enviado" never counts as delivered, and an
  // SMS gateway's delivery reports never make a 0 % read rate.
  const byChannel = await db.query<{
    canal: string;
    enviadas: number;
    entregadas: number;
    leidas: number;
    fallidas: number;
    informa_entrega: boolean;
    informa_lectura: boolean;
  }>(
    `WITH n AS (
       SELECT n.id, n.canal, n.estado FROM notifications n
        WHERE (n.estado IN ${SENT_STATES_SQL} AND n.sent_at >= ${since} AND n.sent_at < ${until})
           OR (n.estado = 'fallido' AND n.updated_at >= ${since} AND n.updated_at < ${until})
     )
     SELECT n.canal,
            count(*) FILTER (WHERE n.estado IN ${SENT_STATES_SQL})::int AS enviadas,
            count(*) FILTER (WHERE n.estado IN ('entregado', 'leido'))::int AS entregadas,
            count(*) FILTER (WHERE n.estado = 'leido')::int AS leidas,
            count(*) FILTER (WHERE n.estado = 'fallido')::int AS fallidas,
            EXISTS (SELECT 1 FROM notification_envios e
                     WHERE e.canal = n.canal AND e.entregado_at IS NOT NULL
                       AND e.created_at >= ${since} - interval '7 days' AND e.created_at < ${until}) AS informa_entrega,
            EXISTS (SELECT 1 FROM notification_envios e
                     WHERE e.canal = n.canal AND e.leido_at IS NOT NULL
                       AND e.created_at >= ${since} - interval '7 days' AND e.created_at < ${until}) AS informa_lectura
       FROM n GROUP BY n.canal ORDER BY n.canal`,
    range,
  );
  const pct = (a: number, b: number) => (b ? Math.round((a / b) * 10000) / 100 : null);
  const sent = byDay.rows.reduce((a, r) => a + r.enviadas, 0);
  const failed = byDay.rows.reduce((a, r) => a + r.fallidas, 0);
  return {
    por_tipo: porTipo,
    por_dia: byDay.rows,
    tasa_entrega: sent + failed ? Math.round((sent / (sent + failed)) * 10000) / 100 : null,
    por_canal: Object.fromEntries(
      byChannel.rows.map((r) => [
        r.canal,
        {
          enviadas: r.enviadas,
          entregadas: r.informa_entrega ? r.entregadas : null,
          leidas: r.informa_lectura ? r.leidas : null,
          fallidas: r.fallidas,
          tasa_envio: pct(r.enviadas, r.enviadas + r.fallidas),
          tasa_entrega: r.informa_entrega ? pct(r.entregadas, r.enviadas) : null,
          tasa_lectura: r.informa_lectura ? pct(r.leidas, r.enviadas) : null,
        },
      ]),
    ),
    fallos_por_motivo: reasons.rows
      .filter((r) => r.estado === 'fallido')
      .map(({ motivo, total }) => ({ motivo, total })),
    cancelaciones_por_motivo: reasons.rows
      .filter((r) => r.estado === 'cancelado')
      .map(({ motivo, total }) => ({ motivo, total })),
    desde: q.desde,
    hasta: q.hasta,
  };
}
