import type { ChannelFailure, ChannelVerdict } from '../channels/types.js';
import type { Db, Queryable } from '../db/index.js';
import {
  applyDeliveryStatuses,
  type ClassifiedFailure,
  type DeliveryStatus,
  type FailedEnvio,
  replayParkedStatuses,
  settleAsyncFailures,
  settleFailed,
} from '../notifications/outbox.js';
import { classifyWhatsAppFailure, whatsappErrorText } from './classify.js';
import { applyTemplateEvents, type TemplateEvent } from './templates.js';

/**
 * Meta's webhook for the WhatsApp Business account, after its signature was checked: parsed into
 * message statuses, messages clients wrote, and template events. `parseWebhook` is total: any JSON
 * (or junk) gives a result, never an exception — a body we do not understand is ignored, never
 * answered 5xx (Meta would redeliver it for 7 days).
 */

export type DeliveryState = 'enviado' | 'entregado' | 'leido' | 'fallido';

export interface ParsedStatus {
  wamid: string;
  estado: DeliveryState;
  at: Date;
  recipient: string | null;
  /** Only for `fallido`: Meta's first error, and what the one classifier says to do. */
  failure?: ChannelFailure;
  verdict?: ChannelVerdict;
  /** Meta's pricing category of a billable message (utility, marketing, service…). */
  category?: string;
}

export interface InboundMessage {
  wamid: string;
  /** 5939XXXXXXXX as WhatsApp reports it. */
  from: string;
  /** text, button, interactive, image, … */
  tipo: string;
  /** The text, the button's text or payload, or the interactive reply's title; null for media. */
  texto: string | null;
  /** A button's payload / interactive reply id (opt-in answers, payment buttons). */
  payload: string | null;
  at: Date;
  name: string | null;
  /** An image or document the client sent (a receipt, maybe): download it by id (`GET /{media-id}`). */
  media?: InboundMedia;
}

export interface InboundMedia {
  kind: 'image' | 'document';
  id: string;
  /** What the client's phone claims; never trusted (the type comes from the bytes). */
  mime: string | null;
  filename: string | null;
}

export interface ParsedWebhook {
  statuses: ParsedStatus[];
  messages: InboundMessage[];
  templates: TemplateEvent[];
  /** Parts we did not understand (logged, answered 200). */
  ignored: number;
}

const STATES: Record<string, DeliveryState> = {
  sent: 'enviado',
  delivered: 'entregado',
  read: 'leido',
  failed: 'fallido',
};

const obj = (v: unknown): Record<string, unknown> | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** A clean short string (no NUL, bounded), or null. */
function str(v: unknown, max = 512): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
  if (typeof v !== 'string') return null;
  const s = v.replace(/\0/g, '').trim();
  return s === '' ? null : s.slice(0, max);
}
/** Meta's `timestamp` (unix seconds as a string) → Date; fallback when absent or absurd. */
function when(v: unknown, fallback: Date): Date {
  const n =
    typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : typeof v === 'number' ? v : Number.NaN;
  if (!Number.isFinite(n) || n < 1_000_000_000 || n > 10_000_000_000) return fallback;
  return new Date(n * 1000);
}
const PHONE = /^\d{6,15}$/;

export function parseWebhook(body: unknown, now: Date): ParsedWebhook {
  const out: ParsedWebhook = { statuses: [], messages: [], templates: [], ignored: 0 };
  const root = obj(body);
  if (!root || !Array.isArray(root.entry)) {
    out.ignored += 1;
    return out;
  }
  for (const entry of arr(root.entry)) {
    for (const change of arr(obj(entry)?.changes)) {
      const c = obj(change);
      const field = str(c?.field);
      const value = obj(c?.value);
      if (!value) {
        out.ignored += 1;
        continue;
      }
      if (field === 'messages' || field === null) {
        parseMessagesValue(value, now, out);
      } else if (field === 'message_template_status_update') {
        const nombre = str(value.message_template_name);
        const idioma = str(value.message_template_language, 16);
        const estado = str(value.event, 32);
        if (nombre && idioma && estado) {
          const motivo = str(value.reason, 300);
          const metaId = str(value.message_template_id, 64);
          out.templates.push({ nombre, idioma, estado, motivo, ...(metaId && { metaId }) });
        } else out.ignored += 1;
      } else if (field === 'template_category_update') {
        const nombre = str(value.message_template_name);
        const idioma = str(value.message_template_language, 16);
        const categoria = str(value.new_category, 32);
        if (nombre && idioma && categoria) out.templates.push({ nombre, idioma, categoria });
        else out.ignored += 1;
      } else {
        out.ignored += 1;
      }
    }
  }
  return out;
}

function parseMessagesValue(value: Record<string, unknown>, now: Date, out: ParsedWebhook): void {
  const names = new Map<string, string>();
  for (const contact of arr(value.contacts)) {
    const c = obj(contact);
    const id = str(c?.wa_id, 20);
    const name = str(obj(c?.profile)?.name, 200);
    if (id && name) names.set(id, name);
  }
  for (const status of arr(value.statuses)) {
    const s = obj(status);
    const wamid = str(s?.id, 256);
    const estado = STATES[str(s?.status, 16) ?? ''];
    if (!s || !wamid || !estado) {
      out.ignored += 1;
      continue;
    }
    const parsed: ParsedStatus = {
      wamid,
      estado,
      at: when(s.timestamp, now),
      recipient: str(s.recipient_id, 20),
    };
    const category = str(obj(s.pricing)?.category, 32);
    if (category) parsed.category = category;
    if (estado === 'fallido') {
      const e = obj(arr(s.errors)[0]);
      const code = str(e?.code, 16) ?? 'desconocido';
      const details = str(obj(e?.error_data)?.details, 300);
      const meta = [str(e?.title, 200) ?? str(e?.message, 200), details].filter(Boolean).join(': ');
      parsed.failure = { code, message: `${whatsappErrorText(code)}${meta ? ` — Meta: ${meta}` : ''}` };
      parsed.verdict = classifyWhatsAppFailure(parsed.failure);
    }
    out.statuses.push(parsed);
  }
  for (const message of arr(value.messages)) {
    const m = obj(message);
    const wamid = str(m?.id, 256);
    const from = str(m?.from, 20);
    const tipo = str(m?.type, 32) ?? 'desconocido';
    if (!m || !wamid || !from || !PHONE.test(from)) {
      out.ignored += 1;
      continue;
    }
    let texto: string | null = null;
    let payload: string | null = null;
    if (tipo === 'text') texto = str(obj(m.text)?.body, 4096);
    else if (tipo === 'button') {
      texto = str(obj(m.button)?.text, 1024);
      payload = str(obj(m.button)?.payload, 1024);
    } else if (tipo === 'interactive') {
      const i = obj(m.interactive);
      const reply = obj(i?.button_reply) ?? obj(i?.list_reply);
      texto = str(reply?.title, 1024);
      payload = str(reply?.id, 1024);
    }
    let media: InboundMedia | undefined;
    if (tipo === 'image' || tipo === 'document') {
      const c = obj(m[tipo]);
      const id = str(c?.id, 128);
      texto = str(c?.caption, 1024);
      if (id) media = { kind: tipo, id, mime: str(c?.mime_type, 100), filename: str(c?.filename, 240) };
    }
    out.messages.push({
      wamid,
      from,
      tipo,
      texto,
      payload,
      at: when(m.timestamp, now),
      name: names.get(from) ?? null,
      ...(media && { media }),
    });
  }
}

export type { ClassifiedFailure };

/**
 * Hands classified asynchronous failures back to the outbox (retry, resend as template, mark
 * unreachable, record the opt-out): `outbox.settleAsyncFailures` unless a test passes another.
 */
export type SettleAsyncFailures = (
  tx: Queryable,
  failures: readonly ClassifiedFailure[],
  now: Date,
) => Promise<void>;

export function toDeliveryStatuses(parsed: ParsedStatus[]): DeliveryStatus[] {
  return parsed.map((s) => ({
    canal: 'whatsapp' as const,
    proveedorId: s.wamid,
    estado: s.estado,
    at: s.at,
    ...(s.failure && { errorCodigo: s.failure.code, error: s.failure.message }),
  }));
}

/** A message a client wrote, with the client it came from (null = a number we do not know). */
export type InboundWithClient = InboundMessage & { clientId: number | null };

/**
 * Records inbound messages (once per wamid) and opens each known client's 24 h service window
 * (`clients.whatsapp_ventana_hasta`, never moved back). Set-based: one statement for the batch.
 * Returns only the messages that were new (a redelivery returns nothing).
 */
export async function recordInbound(tx: Queryable, messages: InboundMessage[]): Promise<InboundWithClient[]> {
  if (messages.length === 0) return [];
  const { rows } = await tx.query<{ wamid: string; client_id: number | null }>(
    `WITH incoming AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS x(wamid text, telefono text, tipo text, texto text, recibido_at timestamptz)
     ), ins AS (
       INSERT INTO whatsapp_inbound (wamid, telefono, client_id, tipo, texto, recibido_at)
       SELECT i.wamid, i.telefono,
              (SELECT c.id FROM clients c WHERE c.whatsapp = i.telefono ORDER BY c.id LIMIT 1),
              i.tipo, i.texto, i.recibido_at
         FROM incoming i
       ON CONFLICT (wamid) DO NOTHING
       RETURNING wamid, client_id, recibido_at
     ), win AS (
       UPDATE clients c SET whatsapp_ventana_hasta = w.hasta
         FROM (SELECT client_id, max(recibido_at) + interval '24 hours' AS hasta FROM ins
                WHERE client_id IS NOT NULL GROUP BY client_id) w
        WHERE c.id = w.client_id
          AND (c.whatsapp_ventana_hasta IS NULL OR c.whatsapp_ventana_hasta < w.hasta)
     )
     SELECT wamid, client_id FROM ins`,
    [
      JSON.stringify(
        messages.map((m) => ({
          wamid: m.wamid,
          telefono: m.from,
          tipo: m.tipo,
          texto: m.texto ?? m.payload,
          recibido_at: m.at.toISOString(),
        })),
      ),
    ],
  );
  const clientOf = new Map(rows.map((r) => [r.wamid, r.client_id]));
  return messages
    .filter((m) => clientOf.has(m.wamid))
    .map((m) => ({ ...m, clientId: clientOf.get(m.wamid) ?? null }));
}

export interface IngestDeps {
  db: Db;
  clock: { now(): Date };
  settleAsyncFailures?: SettleAsyncFailures;
}

export interface IngestResult {
  statuses: number;
  /** wamids of statuses about no attempt of ours (parked by the outbox in case the send commits later). */
  unknown: string[];
  /** Attempts a `failed` status closed, classified. */
  failed: ClassifiedFailure[];
  inbound: InboundWithClient[];
  templates: number;
  /** A template event named a template we had not synced: a full sync should follow. */
  needsTemplateSync: boolean;
  ignored: number;
}

/** A failed attempt's verdict by the WhatsApp classifier. */
const classify = (f: FailedEnvio) =>
  classifyWhatsAppFailure({ code: f.errorCodigo ?? 'desconocido', message: f.error ?? '' });

/** Applies one parsed webhook in one transaction (all or nothing: Meta redelivers on 503). */
export async function ingestWebhook(deps: IngestDeps, parsed: ParsedWebhook): Promise<IngestResult> {
  const now = deps.clock.now();
  const settle = deps.settleAsyncFailures ?? settleAsyncFailures;
  const result = await deps.db.transaction(async (tx) => {
    const report = parsed.statuses.length
      ? await applyDeliveryStatuses(tx, toDeliveryStatuses(parsed.statuses), { now })
      : { applied: 0, unknown: [], failed: [] };
    const failed = await settleFailed(tx, report.failed, classify, now, settle);
    const inbound = await recordInbound(tx, parsed.messages);
    const needsTemplateSync = parsed.templates.length
      ? await applyTemplateEvents(tx, parsed.templates, now)
      : false;
    return {
      statuses: parsed.statuses.length,
      unknown: report.unknown.map((u) => u.proveedorId),
      failed,
      inbound,
      templates: parsed.templates.length,
      needsTemplateSync,
      ignored: parsed.ignored,
    };
  });
  // A parked status whose send committed meanwhile is applied now (see replayParkedStatuses).
  if (result.unknown.length) {
    const late = await replayParkedStatuses(deps.db, 'whatsapp', classify, now, settle);
    result.failed.push(...late.failed);
  }
  return result;
}
