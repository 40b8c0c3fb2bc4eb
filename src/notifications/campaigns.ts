import { analyzeAfterBatch, type Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { TELEGRAM_MAX_CHARS } from '../telegram/html.js';
import { type ComposeRefusal, compose, loadComposeClients } from './compose.js';
import { REACHABLE_SQL } from './generator.js';
import { cancel, enqueueFrom } from './outbox.js';
import { loadTemplates, type TemplateSet } from './templates.js';
import type { CampaignType, EngineSettings, NotificationType } from './types.js';

/**
 * Campaigns (mass sends): one outbox row per matching linked client, created by one
 * INSERT … SELECT. The text is rendered per client when sent (from the campaign's message or
 * template), so the campaign stores it once. Cancelling closes every row not yet sent.
 */

export type CampaignFilters = {
  plan?: string;
  plan_id?: number;
  sector?: string;
  estado?: 'activo' | 'suspendido' | 'retirado';
  estado_pago?: 'sin_fecha' | 'al_dia' | 'por_vencer' | 'vencido';
};

export interface CampaignInput {
  nombre?: string;
  tipo: CampaignType;
  mensaje?: string;
  /** A template type whose (per-plan) text is used; `{mensaje}` in it is `mensaje`. */
  plantilla?: NotificationType;
  filtros: CampaignFilters;
  urgente: boolean;
}

export interface AudienceCounts {
  audiencia: number;
  excluidos: { sin_telegram: number; bloqueados: number; por_preferencia: number };
}

export interface CampaignView {
  id: number;
  nombre: string;
  tipo: string;
  mensaje: string | null;
  plantilla: string | null;
  filtros: CampaignFilters;
  urgente: boolean;
  estado: 'en_curso' | 'completada' | 'cancelada';
  total: number;
  progreso: { pendientes: number; enviadas: number; fallidas: number; canceladas: number };
  excluidos: AudienceCounts['excluidos'];
  creado_por: string | null;
  creado_en: string;
  cancelado_en: string | null;
}

/** The matching clients as a subquery `m`; parameters are appended to `params`. */
function audienceSql(
  f: CampaignFilters,
  tipo: CampaignType,
  s: EngineSettings,
  today: string,
  params: unknown[],
) {
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.plan_id !== undefined) where.push(`c.plan_id = ${add(f.plan_id)}`);
  if (f.plan) where.push(`lower(p.nombre) = lower(${add(f.plan)})`);
  if (f.sector) where.push(`lower(c.sector) = lower(${add(f.sector)})`);
  where.push(f.estado ? `c.estado = ${add(f.estado)}` : `c.estado <> 'retirado'`);
  if (f.estado_pago) {
    where.push(
      `teltec_payment_state(teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, ${add(s.cycleDays)}),
         ${add(today)}::date, ${add(s.reminderDaysBefore)}) = ${add(f.estado_pago)}`,
    );
  }
  const wants =
    tipo === 'oferta' ? 'c.pref_ofertas' : tipo === 'mantenimiento' ? 'c.pref_mantenimiento' : 'true';
  return `SELECT c.id, c.nombre, c.plan_id, p.nombre AS plan, p.precio, p.velocidad_mbps AS velocidad,
                 c.fecha_ultimo_pago, c.dia_pago, ${REACHABLE_SQL} AS reachable, c.chat_id IS NULL AS no_chat,
                 ${wants} AS wants
            FROM clients c LEFT JOIN plans p ON p.id = c.plan_id
           WHERE ${where.join(' AND ')}`;
}

export async function countAudience(
  db: Queryable,
  input: Pick<CampaignInput, 'filtros' | 'tipo'>,
  s: EngineSettings,
  today: string,
): Promise<AudienceCounts> {
  const params: unknown[] = [];
  const m = audienceSql(input.filtros, input.tipo, s, today, params);
  const { rows } = await db.query<{ ok: number; no_chat: number; blocked: number; opted_out: number }>(
    `SELECT count(*) FILTER (WHERE reachable AND wants)::int AS ok,
            count(*) FILTER (WHERE no_chat)::int AS no_chat,
            count(*) FILTER (WHERE NOT no_chat AND NOT reachable)::int AS blocked,
            count(*) FILTER (WHERE reachable AND NOT wants)::int AS opted_out
       FROM (${m}) m`,
    params,
  );
  const r = rows[0]!;
  return {
    audiencia: r.ok,
    excluidos: { sin_telegram: r.no_chat, bloqueados: r.blocked, por_preferencia: r.opted_out },
  };
}

/** How many rendered examples a preview shows (the admin page shows them all). */
export const PREVIEW_SAMPLES = 3;

/** The refusal of a composed text, as the API's error (422 with the reason). */
export function composeError(r: ComposeRefusal): AppError {
  if (r.motivo === 'mensaje_demasiado_largo') {
    return new AppError('MENSAJE_DEMASIADO_LARGO', r.detalle, { motivo: r.motivo });
  }
  if (r.motivo === 'datos_incompletos') {
    return new AppError('DATOS_INCOMPLETOS', r.detalle, { motivo: r.motivo, faltan: r.faltan });
  }
  return new AppError('MENSAJE_INVALIDO', r.detalle, { motivo: r.motivo });
}

/**
 * Refuses a campaign whose text cannot be sent: staff text that is not valid Telegram HTML
 * (validated like templates), a template whose {mensaje} would stay empty, or a text too long for
 * Telegram with long real data. Composed through the one door, with a worst-case client.
 */
function checkText(input: CampaignInput, s: EngineSettings, templates: TemplateSet, today: string): void {
  if (!input.plantilla && !input.mensaje?.trim()) {
    throw new AppError('MENSAJE_INVALIDO', 'Escriba el mensaje o use la plantilla guardada.');
  }
  const r = compose(
    { tipo: input.tipo, texto: input.mensaje?.trim() || null, plantilla: input.plantilla ?? null },
    {
      nombre: 'N'.repeat(120),
      plan_id: null,
      plan: 'P'.repeat(60),
      precio: 99_999.99,
      velocidad: 1000,
      vencimiento: today,
      monto_adeudado: 99_999.99,
    },
    { templates, today, settings: s },
  );
  if (!r.ok) {
    if (r.motivo === 'mensaje_demasiado_largo') {
      throw new AppError(
        'MENSAJE_DEMASIADO_LARGO',
        `${r.detalle.replace(/: acórtelo\.$/, '')} con datos largos: acórtelo o divídalo en varios envíos.`,
        { maximo: TELEGRAM_MAX_CHARS },
      );
    }
    throw composeError(r);
  }
}

/** The first recipients of a campaign (input) rendered as they will receive it. */
async function renderSamples(
  db: Queryable,
  ids: number[],
  input: Pick<CampaignInput, 'tipo' | 'mensaje' | 'plantilla'>,
  s: EngineSettings,
  today: string,
  templates: TemplateSet,
  /** The rows' own data (an invitation's link), by client. */
  datos?: Map<number, Record<string, unknown>>,
) {
  const clients = await loadComposeClients(db, ids, s, today);
  return ids.flatMap((id) => {
    const c = clients.get(id);
    if (!c) return [];
    const d = datos?.get(id);
    const r = compose(
      {
        tipo: input.tipo as NotificationType,
        texto: input.mensaje?.trim() || null,
        plantilla: input.plantilla ?? null,
        ...(d && { datos: d }),
      },
      c,
      { templates, today, settings: s },
    );
    return [
      r.ok && r.channel === 'telegram'
        ? { cliente_id: id, nombre: c.nombre ?? '', texto: r.text, longitud: r.length, motivo: null }
        : {
            cliente_id: id,
            nombre: c.nombre ?? '',
            texto: '',
            longitud: 0,
            motivo: r.ok ? null : `${r.motivo}: ${r.detalle}`,
          },
    ];
  });
}

/** Audience and a rendered sample (PREVIEW_SAMPLES clients), without creating anything (vista_previa). */
export async function previewCampaign(db: Queryable, input: CampaignInput, s: EngineSettings, today: string) {
  const templates = await loadTemplates(db);
  checkText(input, s, templates, today);
  const counts = await countAudience(db, input, s, today);
  const params: unknown[] = [];
  const m = audienceSql(input.filtros, input.tipo, s, today, params);
  const { rows } = await db.query<{ id: number }>(
    `SELECT m.id FROM (${m}) m WHERE m.reachable AND m.wants ORDER BY m.id LIMIT ${PREVIEW_SAMPLES}`,
    params,
  );
  const muestra = await renderSamples(
    db,
    rows.map((r) => r.id),
    input,
    s,
    today,
    templates,
  );
  return { ...counts, muestra };
}

/** A campaign's text rendered for its first recipients (the detail page shows this, not the source). */
export async function campaignSample(db: Queryable, id: number, s: EngineSettings, today: string) {
  const { rows } = await db.query<{
    tipo: CampaignType;
    mensaje: string | null;
    plantilla: NotificationType | null;
  }>('SELECT tipo, mensaje, plantilla FROM campaigns WHERE id = $1', [id]);
  const c = rows[0];
  if (!c) return [];
  const ids = await db.query<{ client_id: number; datos: Record<string, unknown> | null }>(
    `SELECT client_id, datos FROM notifications WHERE campaign_id = $1 AND client_id IS NOT NULL
      ORDER BY id LIMIT ${PREVIEW_SAMPLES}`,
    [id],
  );
  return renderSamples(
    db,
    ids.rows.map((r) => r.client_id),
    { tipo: c.tipo, mensaje: c.mensaje ?? undefined, plantilla: c.plantilla ?? undefined },
    s,
    today,
    await loadTemplates(db),
    // Invitation sends: each row carries its client's link.
    new Map(ids.rows.flatMap((r) => (r.datos ? [[r.client_id, r.datos] as const] : []))),
  );
}

/**
 * Creates the campaign and its rows in the caller's transaction (one INSERT … SELECT).
 * Refuses an empty audience rather than creating a campaign that sends nothing.
 */
export async function createCampaign(
  tx: Queryable,
  input: CampaignInput,
  s: EngineSettings,
  at: { today: string; now: Date; actor?: string; idempotencyKey?: string },
): Promise<CampaignView> {
  checkText(input, s, await loadTemplates(tx), at.today);
  const counts = await countAudience(tx, input, s, at.today);
  if (counts.audiencia === 0) throw new AppError('AUDIENCIA_VACIA', undefined, counts);
  const nombre = input.nombre?.trim() || `${input.tipo} ${at.today}`;
  const { rows } = await tx.query<{ id: number }>(
    `INSERT INTO campaigns (nombre, tipo, mensaje, plantilla, filtros, urgente, total, idempotency_key,
                            created_by, created_at, excluidos)
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10) RETURNING id`,
    [
      nombre,
      input.tipo,
      input.mensaje ?? null,
      input.plantilla ?? null,
      JSON.stringify(input.filtros),
      input.urgente,
      at.idempotencyKey ?? null,
      at.actor ?? null,
      at.now,
      JSON.stringify(counts.excluidos),
    ],
  );
  const id = rows[0]!.id;
  const params: unknown[] = [id, input.tipo, input.urgente, at.now];
  const m = audienceSql(input.filtros, input.tipo, s, at.today, params);
  const [inserted] = await enqueueFrom(tx, {
    source: `SELECT m.id AS client_id, $2::text AS tipo, $1::int AS campaign_id, $3::boolean AS urgente,
                    'campana:' || $1::int || ':' || m.id AS dedupe_key
               FROM (${m}) m WHERE m.reachable AND m.wants ORDER BY m.id`,
    params,
    columns: ['client_id', 'tipo', 'campaign_id', 'urgente', 'dedupe_key'],
    now: { param: 4 },
  });
  await tx.query('UPDATE campaigns SET total = $2 WHERE id = $1', [id, inserted?.creadas ?? 0]);
  await analyzeAfterBatch(tx, 'notifications', inserted?.creadas ?? 0);
  return (await getCampaign(tx, id))!;
}

interface CampaignRow {
  id: number;
  nombre: string;
  tipo: string;
  mensaje: string | null;
  plantilla: string | null;
  filtros: CampaignFilters;
  urgente: boolean;
  estado: CampaignView['estado'];
  total: number;
  excluidos: AudienceCounts['excluidos'];
  created_by: string | null;
  created_at: Date;
  cancelled_at: Date | null;
  pendientes: number;
  enviadas: number;
  fallidas: number;
  canceladas: number;
}

const selectCampaigns = `
  SELECT c.*, coalesce(n.pendientes, 0)::int AS pendientes, coalesce(n.enviadas, 0)::int AS enviadas,
         coalesce(n.fallidas, 0)::int AS fallidas, coalesce(n.canceladas, 0)::int AS canceladas
    FROM campaigns c
    LEFT JOIN LATERAL (
      SELECT count(*) FILTER (WHERE estado = 'pendiente') AS pendientes,
             count(*) FILTER (WHERE estado IN ('enviado', 'entregado', 'leido')) AS enviadas,
             count(*) FILTER (WHERE estado = 'fallido') AS fallidas,
             count(*) FILTER (WHERE estado = 'cancelado') AS canceladas
        FROM notifications WHERE campaign_id = c.id) n ON true`;

function toView(r: CampaignRow): CampaignView {
  // A campaign with nothing left to send is complete (recorded lazily, on read).
  const estado = r.estado === 'en_curso' && r.pendientes === 0 ? 'completada' : r.estado;
  return {
    id: r.id,
    nombre: r.nombre,
    tipo: r.tipo,
    mensaje: r.mensaje,
    plantilla: r.plantilla,
    filtros: r.filtros,
    urgente: r.urgente,
    estado,
    total: r.total,
    progreso: {
      pendientes: r.pendientes,
      enviadas: r.enviadas,
      fallidas: r.fallidas,
      canceladas: r.canceladas,
    },
    excluidos: r.excluidos,
    creado_por: r.created_by,
    creado_en: r.created_at.toISOString(),
    cancelado_en: r.cancelled_at?.toISOString() ?? null,
  };
}

export async function getCampaign(db: Queryable, id: number): Promise<CampaignView | undefined> {
  const { rows } = await db.query<CampaignRow>(`${selectCampaigns} WHERE c.id = $1`, [id]);
  const r = rows[0];
  if (!r) return undefined;
  const view = toView(r);
  if (view.estado === 'completada' && r.estado === 'en_curso') {
    await db.query(`UPDATE campaigns SET estado = 'completada' WHERE id = $1 AND estado = 'en_curso'`, [id]);
  }
  return view;
}

export async function listCampaigns(
  db: Queryable,
  q: { limit: number; offset: number },
): Promise<{ campanas: CampaignView[]; total: number }> {
  const { rows } = await db.query<CampaignRow & { total_rows: number }>(
    `SELECT x.*, count(*) OVER ()::int AS total_rows FROM (${selectCampaigns}) x
      ORDER BY x.id DESC LIMIT $1 OFFSET $2`,
    [q.limit, q.offset],
  );
  return { campanas: rows.map(toView), total: rows[0]?.total_rows ?? 0 };
}

/** Cancels a running campaign: every row not yet sent is closed (`cancelado`, `campana_cancelada`). */
export async function cancelCampaign(tx: Queryable, id: number, now: Date): Promise<CampaignView> {
  const current = await getCampaign(tx, id);
  if (!current) throw new AppError('NO_ENCONTRADO', `No existe el envío masivo ${id}.`);
  const res = await tx.query(
    `UPDATE campaigns SET estado = 'cancelada', cancelled_at = $2 WHERE id = $1 AND estado = 'en_curso'`,
    [id, now],
  );
  if (res.rowCount === 0) throw new AppError('CAMPANA_FINALIZADA');
  await cancel(tx, { campaignId: id }, 'campana_cancelada', now);
  return (await getCampaign(tx, id))!;
}
