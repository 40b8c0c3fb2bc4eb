import { analyzeAfterBatch, type Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import {
  compose,
  type EngineSettings,
  enqueueFrom,
  getCampaign,
  loadChannelTexts,
  loadComposeClients,
  loadTemplates,
  type NotificationType,
} from '../notifications/index.js';
import { channelNames } from '../vocabulary.js';
import { resolveTemplate } from '../whatsapp/templates.js';
import { inviteLink, newInvitationToken, type UnlinkedFilters } from './invitations.js';

/**
 * Invitations through every channel (issue 11 §5): clients without Telegram get their one-time
 * bot link by SMS, e-mail or WhatsApp template, in bulk through the campaign machinery (a
 * `campaigns` row bound to the channel; progress and cancellation as for any mass send).
 *
 * Terminology: an *invitation* (`bot_invitations`) is a client's one-time right to link a chat;
 * its *channel link* (`invitation_links`) is the same invitation carried on one channel, with a
 * start token of its own so the /start says which channel brought the client. A notice of kind
 * `invitacion` carries `datos` { canal, invitacion_id, enlace_id, enlace }: the link is never
 * empty, and the send-time re-check (migration 023) drops it when the client linked meanwhile,
 * the invitation is no longer active, or the channel can no longer reach the client.
 *
 * Funnel per channel: sent (the notice left) → opened the bot (first /start with that channel's
 * token) → linked (the invitation was spent by the chat that opened that channel's link).
 */

export const invitationChannels = ['sms', 'email', 'whatsapp'] as const;
export type InvitationChannel = (typeof invitationChannels)[number];

export interface InvitationSendInput {
  canal: InvitationChannel;
  filtros: UnlinkedFilters;
  /** An explicit selection (client ids); undefined = every unlinked client of the filters. */
  clienteIds?: number[] | undefined;
  nombre?: string | undefined;
}

export interface InvitationAudience {
  /** Unlinked clients of the selection. */
  sin_telegram: number;
  /** Those the chosen channel can reach now (and not already waiting for an invitation on it). */
  audiencia: number;
  /** The others, by reason (sin_celular, sin_email, sin_consentimiento, canal_no_configurado…). */
  excluidos: Record<string, number>;
  /** What each channel could reach in this selection (to compare before choosing). */
  por_canal: Record<InvitationChannel, number>;
}

/**
 * The selection as a subquery: unlinked clients of the filters with their channel reasons
 * (`teltec_channel_reasons`, the one home of "can this channel reach this client", service
 * category) and whether an invitation on the channel is already queued. Parameters are appended.
 */
function selectionSql(input: Omit<InvitationSendInput, 'nombre'>, now: Date, params: unknown[]): string {
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const f = input.filtros;
  const where = ['c.chat_id IS NULL'];
  if (f.sector) where.push(`lower(c.sector) = lower(${add(f.sector)})`);
  if (f.plan_id !== undefined) where.push(`c.plan_id = ${add(f.plan_id)}`);
  where.push(f.estado ? `c.estado = ${add(f.estado)}` : `c.estado <> 'retirado'`);
  if (input.clienteIds) where.push(`c.id = ANY(${add(input.clienteIds)}::int[])`);
  const at = add(now);
  const canal = add(input.canal);
  return `SELECT c.id, r.reasons, r.reasons ->> ${canal} AS why,
                 EXISTS (SELECT 1 FROM notifications n
                          WHERE n.client_id = c.id AND n.tipo = 'invitacion' AND n.estado = 'pendiente'
                            -- Always true of an invitation; it lets the planner read the client
                            -- index, which leaves out only generated notices (migration 033).
                            AND NOT n.clave_generada
                            AND n.datos ->> 'canal' = ${canal}) AS queued
            FROM clients c
           -- The enabled channels read once, and each client's reasons once (OFFSET 0: otherwise
           -- the planner copies the call into every count that reads them).
           CROSS JOIN (SELECT teltec_enabled_channels() AS enabled OFFSET 0) ch
           CROSS JOIN LATERAL (
             SELECT teltec_channel_reasons(c, ${at}::timestamptz, false, ch.enabled) AS reasons OFFSET 0) r
           WHERE ${where.join(' AND ')}`;
}

export async function countInvitationAudience(
  db: Queryable,
  input: Omit<InvitationSendInput, 'nombre'>,
  now: Date,
): Promise<InvitationAudience> {
  const params: unknown[] = [];
  const m = selectionSql(input, now, params);
  const { rows } = await db.query<{
    why: string | null;
    queued: boolean;
    n: number;
    sms: number;
    email: number;
    whatsapp: number;
  }>(
    `SELECT m.why, m.queued, count(*)::int AS n,
            count(*) FILTER (WHERE m.reasons -> 'sms' = 'null'::jsonb)::int AS sms,
            count(*) FILTER (WHERE m.reasons -> 'email' = 'null'::jsonb)::int AS email,
            count(*) FILTER (WHERE m.reasons -> 'whatsapp' = 'null'::jsonb)::int AS whatsapp
       FROM (${m}) m GROUP BY m.why, m.queued`,
    params,
  );
  const out: InvitationAudience = {
    sin_telegram: 0,
    audiencia: 0,
    excluidos: {},
    por_canal: { sms: 0, email: 0, whatsapp: 0 },
  };
  for (const r of rows) {
    out.sin_telegram += r.n;
    for (const c of invitationChannels) out.por_canal[c] += r[c];
    const key = r.why ?? (r.queued ? 'ya_en_cola' : null);
    if (key === null) out.audiencia += r.n;
    else out.excluidos[key] = (out.excluidos[key] ?? 0) + r.n;
  }
  return out;
}

/** How an invitation reads on its channel, for the preview. */
export type InvitationSample = {
  cliente_id: number;
  nombre: string;
  enlace: string;
  /** true: the client has no link on this channel yet; the real one is created when sending. */
  enlace_de_ejemplo: boolean;
  motivo: string | null;
} & (
  | { canal: 'sms'; texto: string; longitud: number }
  | { canal: 'email'; asunto: string; texto: string; html: string }
  | { canal: 'whatsapp'; plantilla: string | null; parametros: string[]; texto: string }
);

export interface InvitationRenderContext {
  botUsername: string;
  settings: EngineSettings;
  today: string;
  now: Date;
}

/** The first clients of the audience, rendered as they will receive the invitation (nothing is created). */
async function renderSamples(
  db: Queryable,
  input: Omit<InvitationSendInput, 'nombre'>,
  ctx: InvitationRenderContext,
  limit: number,
): Promise<InvitationSample[]> {
  const params: unknown[] = [];
  const m = selectionSql(input, ctx.now, params);
  params.push(input.canal, ctx.now);
  const canal = `$${params.length - 1}::text`;
  const now = `$${params.length}::timestamptz`;
  const { rows } = await db.query<{ id: number; token: string | null }>(
    `SELECT m.id, (SELECT l.token FROM invitation_links l JOIN bot_invitations i ON i.id = l.invitation_id
                    WHERE i.client_id = m.id AND l.canal = ${canal} AND i.used_at IS NULL
                      AND i.revoked_at IS NULL AND i.expires_at > ${now}
                    ORDER BY i.created_at DESC LIMIT 1) AS token
       FROM (${m}) m WHERE m.why IS NULL AND NOT m.queued ORDER BY m.id LIMIT ${limit}`,
    params,
  );
  const clients = await loadComposeClients(
    db,
    rows.map((r) => r.id),
    ctx.settings,
    ctx.today,
  );
  const templates = await loadTemplates(db);
  const channelTexts = await loadChannelTexts(db);
  const out: InvitationSample[] = [];
  for (const r of rows) {
    const c = clients.get(r.id);
    if (!c) continue;
    const enlace = inviteLink(ctx.botUsername, r.token ?? SAMPLE_TOKEN);
    const base = { cliente_id: r.id, nombre: c.nombre ?? '', enlace, enlace_de_ejemplo: r.token === null };
    const notice = { tipo: 'invitacion' as NotificationType, datos: { enlace } };
    const cctx = { templates, channelTexts, today: ctx.today, settings: ctx.settings };
    if (input.canal === 'whatsapp') {
      const plain = compose(notice, c, cctx, 'texto');
      const values = { nombre: c.nombre ?? '', empresa: ctx.settings.company.nombre, enlace };
      const t = await resolveTemplate(db, 'invitacion', values);
      out.push({
        ...base,
        canal: 'whatsapp',
        plantilla: t.ok ? t.template.name : null,
        parametros: t.ok ? t.template.params : [],
        texto: plain.ok && plain.channel === 'texto' ? plain.text : '',
        motivo: t.ok ? null : t.detalle,
      });
      continue;
    }
    const composed = compose(notice, c, cctx, input.canal);
    if (!composed.ok) {
      out.push(
        input.canal === 'sms'
          ? { ...base, canal: 'sms', texto: '', longitud: 0, motivo: composed.detalle }
          : { ...base, canal: 'email', asunto: '', texto: '', html: '', motivo: composed.detalle },
      );
    } else if (composed.channel === 'sms') {
      out.push({ ...base, canal: 'sms', texto: composed.text, longitud: composed.length, motivo: null });
    } else if (composed.channel === 'email') {
      out.push({
        ...base,
        canal: 'email',
        asunto: composed.subject,
        texto: composed.text,
        html: composed.html,
        motivo: null,
      });
    }
  }
  return out;
}

/** A token of a real one's length, for preview samples of clients without a channel link yet. */
const SAMPLE_TOKEN = 'EnlaceDeEjemplo0000000';

export const INVITATION_PREVIEW_SAMPLES = 3;

/** Audience and rendered samples, without creating anything (the form's «Vista previa»). */
export async function previewInvitationSend(
  db: Queryable,
  input: Omit<InvitationSendInput, 'nombre'>,
  ctx: InvitationRenderContext,
) {
  const counts = await countInvitationAudience(db, input, ctx.now);
  const muestra = await renderSamples(db, input, ctx, INVITATION_PREVIEW_SAMPLES);
  return { canal: input.canal, ...counts, muestra };
}

/**
 * Creates the send in the caller's transaction: each client of the audience gets an active
 * invitation (the one it has, or a new one) and its link on the channel, then one outbox row each
 * (one INSERT … SELECT, dedupe key per campaign and client: a client is invited once per send).
 * Refuses an empty audience.
 */
export async function createInvitationSend(
  tx: Queryable,
  input: InvitationSendInput,
  at: {
    now: Date;
    today: string;
    botUsername: string;
    ttlDays: number;
    actor?: string;
    idempotencyKey?: string;
  },
) {
  const counts = await countInvitationAudience(tx, input, at.now);
  if (counts.audiencia === 0) {
    throw new AppError(
      'AUDIENCIA_VACIA',
      `Ningún cliente sin Telegram de esta selección puede recibir la invitación por ${channelNames.label(input.canal)}: no se creó el envío.`,
      { ...counts.excluidos, sin_telegram: counts.sin_telegram },
    );
  }
  const params: unknown[] = [];
  const m = selectionSql(input, at.now, params);
  const audience = await tx.query<{ id: number }>(
    `SELECT m.id FROM (${m}) m WHERE m.why IS NULL AND NOT m.queued ORDER BY m.id`,
    params,
  );
  const ids = audience.rows.map((r) => r.id);
  // Serialise with the invitation routes (they lock the client row before creating one).
  await tx.query('SELECT id FROM clients WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE', [ids]);
  const ttlMs = at.ttlDays * 86_400_000;
  // Every client keeps the active invitation it has (a printed QR stays valid); the others get one.
  const missing = await tx.query<{ id: number }>(
    `SELECT c.id FROM unnest($1::int[]) AS c(id)
      WHERE NOT EXISTS (SELECT 1 FROM bot_invitations i WHERE i.client_id = c.id AND i.used_at IS NULL
                          AND i.revoked_at IS NULL AND i.expires_at > $2)`,
    [ids, at.now],
  );
  if (missing.rows.length > 0) {
    const newIds = missing.rows.map((r) => r.id);
    await tx.query(
      `INSERT INTO bot_invitations (client_id, token, created_at, expires_at, created_by)
       SELECT t.client_id, t.token, $3, $4, $5 FROM unnest($1::int[], $2::text[]) AS t(client_id, token)`,
      [
        newIds,
        newIds.map(() => newInvitationToken()),
        at.now,
        new Date(at.now.getTime() + ttlMs),
        at.actor ?? null,
      ],
    );
  }
  // The invitation each client is invited with: its most recent active one.
  const active = await tx.query<{ client_id: number; invitation_id: number }>(
    `SELECT DISTINCT ON (i.client_id) i.client_id, i.id AS invitation_id
       FROM bot_invitations i
      WHERE i.client_id = ANY($1::int[]) AND i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $2
      ORDER BY i.client_id, i.created_at DESC, i.id DESC`,
    [ids, at.now],
  );
  const invitationIds = active.rows.map((r) => r.invitation_id);
  await tx.query(
    `INSERT INTO invitation_links (invitation_id, canal, token, created_at)
     SELECT t.invitation_id, $3, t.token, $4 FROM unnest($1::int[], $2::text[]) AS t(invitation_id, token)
     ON CONFLICT (invitation_id, canal) DO NOTHING`,
    [invitationIds, invitationIds.map(() => newInvitationToken()), input.canal, at.now],
  );
  const nombre = input.nombre?.trim() || `Invitaciones por ${channelNames.label(input.canal)} ${at.today}`;
  const excluidos = { ...counts.excluidos, sin_telegram: counts.sin_telegram };
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO campaigns (nombre, tipo, canal, filtros, urgente, total, idempotency_key, created_by, created_at,
                            excluidos)
     VALUES ($1, 'invitacion', $2, $3, false, 0, $4, $5, $6, $7) RETURNING id`,
    [
      nombre,
      input.canal,
      JSON.stringify({ ...input.filtros, ...(input.clienteIds && { cliente_ids: input.clienteIds }) }),
      at.idempotencyKey ?? null,
      at.actor ?? null,
      at.now,
      JSON.stringify(excluidos),
    ],
  );
  const id = rows[0]!.id;
  const links = await tx.query<{ client_id: number; invitation_id: number; link_id: string; token: string }>(
    `SELECT i.client_id, i.id AS invitation_id, l.id AS link_id, l.token
       FROM bot_invitations i JOIN invitation_links l ON l.invitation_id = i.id AND l.canal = $2
      WHERE i.id = ANY($1::int[]) ORDER BY i.client_id`,
    [invitationIds, input.canal],
  );
  const L = links.rows;
  const [inserted] = await enqueueFrom(tx, {
    source: `SELECT t.client_id, 'invitacion'::text AS tipo, $1::int AS campaign_id, false AS urgente,
                    'invitacion:' || $1::int || ':' || t.client_id AS dedupe_key,
                    jsonb_build_object('canal', $2::text, 'invitacion_id', t.invitation_id, 'enlace_id', t.link_id,
                                       'enlace', t.enlace) AS datos
               FROM unnest($3::int[], $4::int[], $5::bigint[], $6::text[]) AS t(client_id, invitation_id, link_id, enlace)
              ORDER BY t.client_id`,
    params: [
      id,
      input.canal,
      L.map((r) => r.client_id),
      L.map((r) => r.invitation_id),
      L.map((r) => Number(r.link_id)),
      L.map((r) => inviteLink(at.botUsername, r.token)),
      at.now,
    ],
    columns: ['client_id', 'tipo', 'campaign_id', 'urgente', 'dedupe_key', 'datos'],
    now: { param: 7 },
  });
  await tx.query('UPDATE campaigns SET total = $2 WHERE id = $1', [id, inserted?.creadas ?? 0]);
  await analyzeAfterBatch(tx, 'notifications', inserted?.creadas ?? 0);
  return { ...(await getCampaign(tx, id))!, canal: input.canal };
}

/** An invitation send (a campaign of kind `invitacion`), or undefined. */
export async function getInvitationSend(db: Queryable, id: number) {
  const { rows } = await db.query<{ canal: InvitationChannel }>(
    `SELECT canal FROM campaigns WHERE id = $1 AND tipo = 'invitacion'`,
    [id],
  );
  if (!rows[0]) return undefined;
  const view = await getCampaign(db, id);
  return view && { ...view, canal: rows[0].canal };
}

/** The invitation sends, most recent first. */
export async function listInvitationSends(db: Queryable, limit: number) {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM campaigns WHERE tipo = 'invitacion' ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  const out = [];
  for (const r of rows) {
    const s = await getInvitationSend(db, r.id);
    if (s) out.push(s);
  }
  return out;
}

export interface FunnelStep {
  canal: InvitationChannel;
  enviadas: number;
  abrieron_el_bot: number;
  vinculados: number;
  tasa_apertura: number | null;
  tasa_vinculacion: number | null;
}

const pct = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 1000) / 10);

/**
 * Sent → opened the bot → linked, per channel (optionally for one send). Sent: invitation notices
 * that left (enviado, entregado, leído). Opened: channel links opened by a /start. Linked: the
 * invitation was spent by the chat that opened that channel's link.
 */
export async function invitationFunnel(db: Queryable, campaignId?: number): Promise<FunnelStep[]> {
  const { rows } = await db.query<{
    canal: InvitationChannel;
    enviadas: number;
    abiertas: number;
    vinculados: number;
  }>(
    `WITH sent AS (
       SELECT n.datos ->> 'canal' AS canal, (n.datos ->> 'enlace_id')::bigint AS enlace_id
         FROM notifications n
        WHERE n.tipo = 'invitacion' AND n.estado IN ('enviado', 'entregado', 'leido')
          AND ($1::int IS NULL OR n.campaign_id = $1)
     ), links AS (
       SELECT DISTINCT l.id, l.canal, l.opened_at, l.opened_chat_id, i.used_at, i.used_chat_id
         FROM sent s JOIN invitation_links l ON l.id = s.enlace_id
         JOIN bot_invitations i ON i.id = l.invitation_id
     )
     SELECT c.canal,
            (SELECT count(*) FROM sent s WHERE s.canal = c.canal)::int AS enviadas,
            (SELECT count(*) FROM links l WHERE l.canal = c.canal AND l.opened_at IS NOT NULL)::int AS abiertas,
            (SELECT count(*) FROM links l WHERE l.canal = c.canal AND l.opened_at IS NOT NULL
                AND l.used_at IS NOT NULL AND l.used_chat_id = l.opened_chat_id)::int AS vinculados
       FROM unnest($2::text[]) AS c(canal)`,
    [campaignId ?? null, [...invitationChannels]],
  );
  return rows.map((r) => ({
    canal: r.canal,
    enviadas: r.enviadas,
    abrieron_el_bot: r.abiertas,
    vinculados: r.vinculados,
    tasa_apertura: pct(r.abiertas, r.enviadas),
    tasa_vinculacion: pct(r.vinculados, r.enviadas),
  }));
}
