import type { Queryable } from '../db/index.js';

/**
 * Reach (issue 10 §10): which clients a notice can get to today, by channel, and what WhatsApp
 * costs this month. Set-based: one statement each, however many clients.
 */

export interface Reach {
  total_clientes: number;
  telegram: number;
  whatsapp: number;
  /** On Telegram or WhatsApp. */
  alguno: number;
  /** On both: WhatsApp is their fallback. */
  ambos: number;
  /** Neither: the call list. */
  ninguno: number;
}

/**
 * Clients by the channels that reach them for service notices now. The rule per channel is the
 * re-check's (`teltec_channel_reasons`, migration 013): Telegram linked and not blocked; WhatsApp
 * with a number, service consent and no unexpired unreachable mark.
 */
export async function channelReach(db: Queryable, now: Date): Promise<Reach> {
  const { rows } = await db.query<{ total: number; telegram: number; whatsapp: number; ambos: number }>(
    `SELECT count(*)::int AS total,
            count(*) FILTER (WHERE r.tg)::int AS telegram,
            count(*) FILTER (WHERE r.wa)::int AS whatsapp,
            count(*) FILTER (WHERE r.tg AND r.wa)::int AS ambos
       FROM clients c
      CROSS JOIN LATERAL (SELECT teltec_channel_reasons(c, $1::timestamptz, false) AS why) k
      CROSS JOIN LATERAL (SELECT k.why->>'telegram' IS NULL AS tg, k.why->>'whatsapp' IS NULL AS wa) r`,
    [now],
  );
  const r = rows[0]!;
  const alguno = r.telegram + r.whatsapp - r.ambos;
  return {
    total_clientes: r.total,
    telegram: r.telegram,
    whatsapp: r.whatsapp,
    alguno,
    ambos: r.ambos,
    ninguno: r.total - alguno,
  };
}

/** Meta's pricing categories; which notice types go as MARKETING templates (offers). */
export type PriceCategory = 'utility' | 'marketing';
export const MARKETING_TYPES = ['oferta'] as const;

export interface WhatsAppCost {
  /** 'YYYY-MM' in the provider's time zone, and its bounds as instants. */
  mes: string;
  desde: string;
  hasta: string;
  por_categoria: { categoria: PriceCategory; entregados: number; precio: number; costo: number }[];
  total: number;
}

/**
 * The month's WhatsApp cost estimate: templates delivered (or read) this month × the price of
 * their category. Free text inside the 24-hour window costs nothing and is not counted; a
 * template that was only accepted (`enviado`) is not charged yet.
 */
export async function whatsappMonthCost(
  db: Queryable,
  q: { now: Date; timeZone: string; prices: Record<PriceCategory, number> },
): Promise<WhatsAppCost> {
  const { rows } = await db.query<{
    desde: Date;
    hasta: Date;
    mes: string;
    marketing: number;
    utility: number;
  }>(
    `WITH m AS (
       SELECT date_trunc('month', $1::timestamptz AT TIME ZONE $2) AS start_local
     ), b AS (
       SELECT start_local AT TIME ZONE $2 AS desde,
              (start_local + interval '1 month') AT TIME ZONE $2 AS hasta,
              to_char(start_local, 'YYYY-MM') AS mes
         FROM m
     )
     SELECT b.desde, b.hasta, b.mes,
            count(e.id) FILTER (WHERE n.tipo = ANY($3::text[]))::int AS marketing,
            count(e.id) FILTER (WHERE NOT (n.tipo = ANY($3::text[])))::int AS utility
       FROM b
       LEFT JOIN notification_envios e
              ON e.canal = 'whatsapp' AND e.plantilla IS NOT NULL AND e.estado IN ('entregado', 'leido')
             AND COALESCE(e.entregado_at, e.leido_at) >= b.desde AND COALESCE(e.entregado_at, e.leido_at) < b.hasta
       LEFT JOIN notifications n ON n.id = e.notification_id
      GROUP BY b.desde, b.hasta, b.mes`,
    [q.now, q.timeZone, [...MARKETING_TYPES]],
  );
  const r = rows[0]!;
  const line = (categoria: PriceCategory, entregados: number) => ({
    categoria,
    entregados,
    precio: q.prices[categoria],
    costo: round2(entregados * q.prices[categoria]),
  });
  const por_categoria = [line('utility', r.utility), line('marketing', r.marketing)];
  return {
    mes: r.mes,
    desde: new Date(r.desde).toISOString(),
    hasta: new Date(r.hasta).toISOString(),
    por_categoria,
    total: round2(r.utility * q.prices.utility + r.marketing * q.prices.marketing),
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
