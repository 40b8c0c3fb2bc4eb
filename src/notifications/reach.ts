import { CHANNEL_NAMES, type ChannelName } from '../channels/types.js';
import type { Queryable } from '../db/index.js';

/**
 * Reach (issue 10 §10, issue 11 §6): which clients a notice can get to today, by channel, and what
 * the paid channels cost this month. Set-based: one statement each, however many clients.
 */

export interface Reach {
  total_clientes: number;
  /** The channels this deployment sends on (settings 'canales.activos'); the others count 0. */
  canales_activos: ChannelName[];
  telegram: number;
  whatsapp: number;
  sms: number;
  email: number;
  /** On at least one configured channel. */
  alguno: number;
  /** On both Telegram and WhatsApp: WhatsApp is their fallback. */
  ambos: number;
  /** On none: the call list. */
  ninguno: number;
}

/**
 * Clients by the channels that reach them for service notices now. The rule per channel is the
 * re-check's (`teltec_channel_reaches`, migration 034, the parts of `teltec_reachable`): Telegram
 * linked and not blocked; WhatsApp with a number, service consent and no unexpired unreachable
 * mark; SMS a mobile, e-mail an address, neither marked unreachable nor refused; a channel not
 * configured here reaches nobody. The enabled channels are read once, and each client's four
 * answers once (OFFSET 0: otherwise the planner copies them into each count that reads them).
 */
export async function channelReach(db: Queryable, now: Date): Promise<Reach> {
  const { rows } = await db.query<{
    total: number;
    telegram: number;
    whatsapp: number;
    sms: number;
    email: number;
    ambos: number;
    alguno: number;
    activos: string[] | null;
  }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE r.tg)::int AS telegram,
            count(*) FILTER (WHERE r.wa)::int AS whatsapp,
            count(*) FILTER (WHERE r.sms)::int AS sms,
            count(*) FILTER (WHERE r.email)::int AS email,
            count(*) FILTER (WHERE r.tg AND r.wa)::int AS ambos,
            count(*) FILTER (WHERE r.tg OR r.wa OR r.sms OR r.email)::int AS alguno,
            (SELECT teltec_enabled_channels()) AS activos
       FROM clients c
      CROSS JOIN (SELECT teltec_enabled_channels() AS enabled OFFSET 0) ch
      CROSS JOIN LATERAL (
        SELECT teltec_channel_reaches(c, $1::timestamptz, false, ch.enabled, 'telegram') AS tg,
               teltec_channel_reaches(c, $1::timestamptz, false, ch.enabled, 'whatsapp') AS wa,
               teltec_channel_reaches(c, $1::timestamptz, false, ch.enabled, 'sms') AS sms,
               teltec_channel_reaches(c, $1::timestamptz, false, ch.enabled, 'email') AS email
         OFFSET 0) r`,
    [now],
  );
  const r = rows[0]!;
  // Without the row (parts built by hand) every channel counts, as in teltec_channel_enabled.
  const activos = CHANNEL_NAMES.filter((c) => r.activos === null || r.activos.includes(c));
  return {
    total_clientes: r.total,
    canales_activos: activos,
    telegram: r.telegram,
    whatsapp: r.whatsapp,
    sms: r.sms,
    email: r.email,
    alguno: r.alguno,
    ambos: r.ambos,
    ninguno: r.total - r.alguno,
  };
}

/**
 * Meta's pricing categories. A WhatsApp template is charged as marketing when the notice is of a
 * marketing kind (MARKETING_TYPES: what needs marketing consent), when its campaign is, or when
 * the template itself is in Meta's MARKETING category (Meta bills by the template's category, and
 * may re-categorise a utility template that sells).
 */
export type PriceCategory = 'utility' | 'marketing';
export const MARKETING_TYPES = ['oferta'] as const;

export interface MonthBounds {
  /** 'YYYY-MM' in the provider's time zone, and its bounds as instants. */
  mes: string;
  desde: string;
  hasta: string;
}

export interface WhatsAppCost extends MonthBounds {
  por_categoria: { categoria: PriceCategory; entregados: number; precio: number; costo: number }[];
  total: number;
}

export interface ChannelCost extends MonthBounds {
  por_canal: {
    canal: 'whatsapp' | 'sms' | 'email';
    /** WhatsApp: templates delivered; SMS and e-mail: messages the gateway / server accepted. */
    mensajes: number;
    costo: number;
    /** SMS and e-mail: the price per message; WhatsApp: by category. */
    precio: number | null;
    por_categoria: WhatsAppCost['por_categoria'] | null;
  }[];
  total: number;
}

export interface Prices {
  whatsapp: Record<PriceCategory, number>;
  sms: number;
  email: number;
}

/**
 * The month's cost by channel, one statement:
 * - WhatsApp: templates delivered (or read) this month × the price of their category. Free text
 *   inside the 24-hour window costs nothing; a template only accepted (`enviado`) is not charged yet.
 * - SMS and e-mail: messages the gateway or the SMTP server accepted this month × SMS_PRECIO /
 *   EMAIL_PRECIO (they charge per message sent, delivered or not).
 * Telegram is free and not listed.
 */
export async function monthCostByChannel(
  db: Queryable,
  q: { now: Date; timeZone: string; prices: Prices },
): Promise<ChannelCost> {
  const { rows } = await db.query<{
    desde: Date;
    hasta: Date;
    mes: string;
    wa_marketing: number;
    wa_utility: number;
    sms: number;
    email: number;
  }>(
    `WITH m AS (
       SELECT date_trunc('month', $1::timestamptz AT TIME ZONE $2) AS start_local
     ), b AS (
       SELECT start_local AT TIME ZONE $2 AS desde,
              (start_local + interval '1 month') AT TIME ZONE $2 AS hasta,
              to_char(start_local, 'YYYY-MM') AS mes
         FROM m
     ), e AS (
       SELECT e.canal,
              CASE WHEN e.canal = 'whatsapp' THEN COALESCE(e.entregado_at, e.leido_at) ELSE e.enviado_at END AS at,
              e.canal = 'whatsapp' AND (
                n.tipo = ANY($3::text[]) OR COALESCE(cp.tipo = ANY($3::text[]), false)
                OR EXISTS (SELECT 1 FROM whatsapp_templates t
                            WHERE t.nombre = e.plantilla AND upper(t.categoria) = 'MARKETING')
              ) AS marketing
         FROM notification_envios e
         -- A message is delivered within its 30-day time to live: older attempts cannot count.
         JOIN b ON e.created_at < b.hasta AND e.created_at >= b.desde - interval '31 days'
         JOIN notifications n ON n.id = e.notification_id
         LEFT JOIN campaigns cp ON cp.id = n.campaign_id
        WHERE (e.canal = 'whatsapp' AND e.plantilla IS NOT NULL AND e.estado IN ('entregado', 'leido'))
           OR (e.canal IN ('sms', 'email') AND e.enviado_at IS NOT NULL)
     )
     SELECT b.desde, b.hasta, b.mes,
            count(e.at) FILTER (WHERE e.canal = 'whatsapp' AND e.marketing)::int AS wa_marketing,
            count(e.at) FILTER (WHERE e.canal = 'whatsapp' AND NOT e.marketing)::int AS wa_utility,
            count(e.at) FILTER (WHERE e.canal = 'sms')::int AS sms,
            count(e.at) FILTER (WHERE e.canal = 'email')::int AS email
       FROM b
       LEFT JOIN e ON e.at >= b.desde AND e.at < b.hasta
      GROUP BY b.desde, b.hasta, b.mes`,
    [q.now, q.timeZone, [...MARKETING_TYPES]],
  );
  const r = rows[0]!;
  const wa = q.prices.whatsapp;
  const por_categoria = [
    { categoria: 'utility' as const, entregados: r.wa_utility, precio: wa.utility },
    { categoria: 'marketing' as const, entregados: r.wa_marketing, precio: wa.marketing },
  ].map((x) => ({ ...x, costo: round2(x.entregados * x.precio) }));
  const waCost = r.wa_utility * wa.utility + r.wa_marketing * wa.marketing;
  const por_canal: ChannelCost['por_canal'] = [
    {
      canal: 'whatsapp',
      mensajes: r.wa_utility + r.wa_marketing,
      costo: round2(waCost),
      precio: null,
      por_categoria,
    },
    {
      canal: 'sms',
      mensajes: r.sms,
      costo: round2(r.sms * q.prices.sms),
      precio: q.prices.sms,
      por_categoria: null,
    },
    {
      canal: 'email',
      mensajes: r.email,
      costo: round2(r.email * q.prices.email),
      precio: q.prices.email,
      por_categoria: null,
    },
  ];
  return {
    mes: r.mes,
    desde: new Date(r.desde).toISOString(),
    hasta: new Date(r.hasta).toISOString(),
    por_canal,
    total: round2(waCost + r.sms * q.prices.sms + r.email * q.prices.email),
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** One client's channel as staff see it (issue 11 §6): set up, reachable now, and why not. */
export interface ClientChannel {
  canal: ChannelName;
  /** This deployment sends on it (settings 'canales.activos'). */
  configurado: boolean;
  /** The client's chat id, WhatsApp number, mobile or address; null = none on file. */
  destino: string | null;
  /** A service notice can go this way now (the re-check's rule). */
  alcanzable: boolean;
  /** Why not (the re-check's reason: sin_telegram, blocked, sin_consentimiento, sms_inalcanzable…). */
  motivo: string | null;
  /** An offer can go this way now (marketing consent, Telegram offers on…). */
  marketing: boolean;
  /** The channel said this destination does not work: its reason and until when (null = no end). */
  inalcanzable: { motivo: string; hasta: string | null; vigente: boolean } | null;
  /** The latest ledger row per category; null = none recorded (Telegram: the link is the consent). */
  consentimiento: { servicio: boolean | null; marketing: boolean | null };
  preferido: boolean;
}

/**
 * A client's four channels with their state, from existing data: the link and unreachable marks on
 * the client, the consent ledger and the re-check's reasons (service and marketing). Null when the
 * client does not exist.
 */
export async function clientChannels(
  db: Queryable,
  clientId: number,
  now: Date,
): Promise<{ preferido: ChannelName | null; canales: ClientChannel[] } | null> {
  const { rows } = await db.query<{
    canal_preferido: ChannelName | null;
    chat_id: string | null;
    telegram_blocked: boolean;
    telegram_unreachable: string | null;
    whatsapp: string | null;
    whatsapp_inalcanzable: string | null;
    whatsapp_inalcanzable_hasta: Date | null;
    telefono_norm: string | null;
    sms_inalcanzable: string | null;
    sms_inalcanzable_hasta: Date | null;
    email: string | null;
    email_inalcanzable: string | null;
    email_inalcanzable_hasta: Date | null;
    servicio: Record<string, string | null>;
    mkt: Record<string, string | null>;
    consents: Record<string, boolean> | null;
    activos: string[] | null;
  }>(
    `SELECT c.canal_preferido, c.chat_id::text AS chat_id, c.telegram_blocked, c.telegram_unreachable,
            c.whatsapp, c.whatsapp_inalcanzable, c.whatsapp_inalcanzable_hasta,
            c.telefono_norm, c.sms_inalcanzable, c.sms_inalcanzable_hasta,
            c.email, c.email_inalcanzable, c.email_inalcanzable_hasta,
            teltec_channel_reasons(c, $2::timestamptz, false) AS servicio,
            teltec_channel_reasons(c, $2::timestamptz, true) AS mkt,
            (SELECT jsonb_object_agg(k.canal || ':' || k.categoria, k.otorgado)
               FROM (SELECT DISTINCT ON (canal, categoria) canal, categoria, otorgado
                       FROM consents WHERE client_id = c.id
                      ORDER BY canal, categoria, created_at DESC, id DESC) k) AS consents,
            (SELECT s.value FROM settings s WHERE s.key = 'canales.activos') AS activos
       FROM clients c WHERE c.id = $1`,
    [clientId, now],
  );
  const r = rows[0];
  if (!r) return null;
  const mark = (motivo: string | null, hasta: Date | null) =>
    motivo === null
      ? null
      : {
          motivo,
          hasta: hasta ? new Date(hasta).toISOString() : null,
          vigente: hasta === null || new Date(hasta) > now,
        };
  const facts: Record<ChannelName, { destino: string | null; inalcanzable: ClientChannel['inalcanzable'] }> =
    {
      telegram: {
        destino: r.chat_id,
        inalcanzable: r.telegram_blocked ? mark('blocked', null) : mark(r.telegram_unreachable, null),
      },
      whatsapp: {
        destino: r.whatsapp,
        inalcanzable: mark(r.whatsapp_inalcanzable, r.whatsapp_inalcanzable_hasta),
      },
      sms: { destino: r.telefono_norm, inalcanzable: mark(r.sms_inalcanzable, r.sms_inalcanzable_hasta) },
      email: { destino: r.email, inalcanzable: mark(r.email_inalcanzable, r.email_inalcanzable_hasta) },
    };
  const consent = (canal: ChannelName, categoria: string): boolean | null =>
    r.consents?.[`${canal}:${categoria}`] ?? null;
  return {
    preferido: r.canal_preferido,
    canales: CHANNEL_NAMES.map((canal) => ({
      canal,
      configurado: r.activos === null || r.activos.includes(canal),
      destino: facts[canal].destino,
      alcanzable: r.servicio[canal] === null,
      motivo: r.servicio[canal] ?? null,
      marketing: r.mkt[canal] === null,
      inalcanzable: facts[canal].inalcanzable,
      consentimiento: { servicio: consent(canal, 'servicio'), marketing: consent(canal, 'marketing') },
      preferido: r.canal_preferido === canal,
    })),
  };
}
