import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import type { Logger } from '../logger.js';
import { type TemplateVariable, templateVariables } from '../notifications/templates.js';
import { notificationTypes } from '../vocabulary.js';
import type { GraphTemplate, TemplateSend, WhatsAppClient } from './graph.js';

/**
 * WhatsApp templates: the registry synced from Meta (`whatsapp_templates`) and the mapping of each
 * notice type to a template and its ordered body parameters (`whatsapp_template_map`, editable).
 *
 * `resolveTemplate` is the one door compose/the dispatcher use outside the 24 h window: it turns a
 * notice type and compose's variable values into the template to send, or says — in Spanish, for
 * staff — why the notice must wait (template missing, not approved, parameter count differs).
 */

/** A notice type's mapping as stored. */
export interface TemplateMapping {
  tipo: string;
  plantilla: string;
  idioma: string;
  /** compose's variables filling {{1}}, {{2}}… in order. */
  parametros: TemplateVariable[];
  actualizado_por?: string | null;
  updated_at?: Date;
}

/** A template as synced from Meta. */
export interface RegistryTemplate {
  nombre: string;
  idioma: string;
  estado: string;
  categoria: string | null;
  /** Body parameters of the approved text; null = not synced yet. */
  parametros: number | null;
  /** Its quick-reply buttons (payment notices' payloads ride on them); null = not known. */
  botones?: number | null;
  cuerpo: string | null;
  motivo: string | null;
  sincronizada_at: Date;
}

export type TemplateResolution =
  | { ok: true; template: TemplateSend & { quickReplies?: number }; categoria: string | null }
  /**
   * hold: the notice waits — staff or Meta must act (approve, fix the mapping); never the client's
   * fault. `motivo` is a `notificationReasons` value, `detalle` the Spanish sentence staff read.
   */
  | { ok: false; hold: true; motivo: 'plantilla_no_aprobada' | 'plantilla_invalida'; detalle: string }
  /** This notice lacks a value a parameter needs: it can never go as it is. */
  | { ok: false; hold: false; motivo: 'datos_incompletos'; detalle: string; faltan: string[] };

/** Defaults (issue 10 §3): each type maps to a template named like it. */
export const defaultTemplateMappings: readonly TemplateMapping[] = [
  {
    tipo: 'recordatorio_pago',
    plantilla: 'recordatorio_pago',
    idioma: 'es',
    parametros: ['nombre', 'monto', 'fecha_vencimiento', 'dias'],
  },
  {
    tipo: 'pago_vencido',
    plantilla: 'pago_vencido',
    idioma: 'es',
    parametros: ['nombre', 'monto', 'fecha_vencimiento', 'dias'],
  },
  {
    tipo: 'pago_recibido',
    plantilla: 'pago_recibido',
    idioma: 'es',
    parametros: ['nombre', 'monto', 'fecha_pago'],
  },
  {
    tipo: 'aviso_suspension',
    plantilla: 'aviso_suspension',
    idioma: 'es',
    parametros: ['nombre', 'monto', 'fecha_vencimiento', 'fecha_suspension'],
  },
  {
    tipo: 'servicio_suspendido',
    plantilla: 'servicio_suspendido',
    idioma: 'es',
    parametros: ['nombre', 'empresa', 'monto'],
  },
  {
    tipo: 'servicio_reactivado',
    plantilla: 'servicio_reactivado',
    idioma: 'es',
    parametros: ['nombre', 'empresa', 'fecha_vencimiento'],
  },
  { tipo: 'bienvenida', plantilla: 'bienvenida', idioma: 'es', parametros: ['nombre', 'empresa'] },
  { tipo: 'mantenimiento', plantilla: 'mantenimiento', idioma: 'es', parametros: ['nombre', 'mensaje'] },
  { tipo: 'oferta', plantilla: 'oferta', idioma: 'es', parametros: ['nombre', 'mensaje'] },
  {
    tipo: 'invitacion',
    plantilla: 'invitacion_bot',
    idioma: 'es',
    parametros: ['nombre', 'empresa', 'enlace'],
  },
];

/** Meta's template states in Spanish. */
const statusWords: Record<string, string> = {
  APPROVED: 'aprobada',
  PENDING: 'pendiente de aprobación',
  REJECTED: 'rechazada',
  PAUSED: 'pausada por baja calidad',
  DISABLED: 'desactivada',
  IN_APPEAL: 'en apelación',
  PENDING_DELETION: 'por eliminarse',
  DELETED: 'eliminada',
  LIMIT_EXCEEDED: 'fuera del límite de plantillas',
  FLAGGED: 'marcada por baja calidad',
  REINSTATED: 'aprobada',
};

export function templateStatusLabel(estado: string): string {
  return statusWords[estado.toUpperCase()] ?? estado.toLowerCase();
}

/** How many body parameters a template text uses: distinct {{1}}, {{2}}… (or named {{nombre}}). */
export function countBodyParameters(text: string | null | undefined): number {
  if (!text) return 0;
  return new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1])).size;
}

/** Soft values get a wording instead of an empty parameter (Meta refuses empty ones). */
const softFallback: Partial<Record<TemplateVariable, string>> = { nombre: 'estimado cliente' };

/** Pure: mapping + synced template + values → what to send, or why not. */
export function checkTemplate(
  mapping: TemplateMapping | undefined,
  registry: RegistryTemplate | undefined,
  values: Partial<Record<string, string | null | undefined>>,
  tipo: string,
): TemplateResolution {
  const tipoLabel = notificationTypes.label(tipo);
  if (!mapping) {
    return {
      ok: false,
      hold: true,
      motivo: 'plantilla_invalida',
      detalle: `«${tipoLabel}» no tiene plantilla de WhatsApp asignada: asígnela en Ajustes → WhatsApp.`,
    };
  }
  const name = `«${mapping.plantilla}» (${mapping.idioma})`;
  if (!registry) {
    return {
      ok: false,
      hold: true,
      motivo: 'plantilla_no_aprobada',
      detalle:
        `La plantilla de WhatsApp ${name} no existe en la cuenta de WhatsApp Business: créela y envíela a ` +
        'aprobación en Meta, luego sincronice las plantillas.',
    };
  }
  if (registry.estado.toUpperCase() !== 'APPROVED' && registry.estado.toUpperCase() !== 'REINSTATED') {
    const why = registry.motivo && registry.motivo !== 'NONE' ? ` (${registry.motivo})` : '';
    return {
      ok: false,
      hold: true,
      motivo: 'plantilla_no_aprobada',
      detalle:
        `La plantilla de WhatsApp ${name} está ${templateStatusLabel(registry.estado)} en Meta${why}: ` +
        'el aviso espera hasta que esté aprobada.',
    };
  }
  if (registry.parametros !== null && registry.parametros !== mapping.parametros.length) {
    return {
      ok: false,
      hold: true,
      motivo: 'plantilla_invalida',
      detalle:
        `La plantilla de WhatsApp ${name} aprobada en Meta tiene ${registry.parametros} parámetros y la ` +
        `asignación de «${tipoLabel}» envía ${mapping.parametros.length}: corríjala en Ajustes → WhatsApp.`,
    };
  }
  const params: string[] = [];
  const faltan: string[] = [];
  for (const v of mapping.parametros) {
    const value = (values[v] ?? '').toString().replace(/\s+/g, ' ').trim() || softFallback[v] || '';
    if (!value) faltan.push(v);
    params.push(value);
  }
  if (faltan.length) {
    return {
      ok: false,
      hold: false,
      motivo: 'datos_incompletos',
      detalle: `No se envía por WhatsApp: la plantilla ${name} necesita ${faltan.map((f) => `{${f}}`).join(', ')} y el aviso no lo tiene.`,
      faltan,
    };
  }
  return {
    ok: true,
    template: {
      name: mapping.plantilla,
      language: mapping.idioma,
      params,
      ...(registry.botones ? { quickReplies: registry.botones } : {}),
    },
    categoria: registry.categoria,
  };
}

interface MappingRow {
  tipo: string;
  plantilla: string;
  idioma: string;
  parametros: TemplateVariable[];
  actualizado_por: string | null;
  updated_at: Date;
}

/**
 * `resolveTemplate` bound to a database: the dispatcher's `resolveTemplate` option
 * (notifications/compose.ts `TemplateResolver`).
 */
export function templateResolverFor(db: Queryable) {
  return (tipo: string, values: Readonly<Record<string, string>>) => resolveTemplate(db, tipo, values);
}

/**
 * The door compose/the dispatcher call outside the 24 h window: one statement (mapping joined to
 * the registry). `values` are compose's variable values for the notice (nombre, monto, …).
 */
export async function resolveTemplate(
  db: Queryable,
  tipo: string,
  values: Partial<Record<string, string | null | undefined>>,
): Promise<TemplateResolution> {
  const { rows } = await db.query<
    MappingRow & { r_nombre: string | null } & Omit<RegistryTemplate, 'nombre' | 'idioma' | 'parametros'> & {
        r_parametros: number | null;
      }
  >(
    `SELECT m.tipo, m.plantilla, m.idioma, m.parametros, m.actualizado_por, m.updated_at,
            t.nombre AS r_nombre, t.estado, t.categoria, t.parametros AS r_parametros, t.cuerpo, t.motivo,
            t.sincronizada_at, t.botones
       FROM whatsapp_template_map m
       LEFT JOIN whatsapp_templates t ON t.nombre = m.plantilla AND t.idioma = m.idioma
      WHERE m.tipo = $1`,
    [tipo],
  );
  const r = rows[0];
  const mapping = r && { tipo: r.tipo, plantilla: r.plantilla, idioma: r.idioma, parametros: r.parametros };
  const registry: RegistryTemplate | undefined =
    r && r.r_nombre !== null
      ? {
          nombre: r.plantilla,
          idioma: r.idioma,
          estado: r.estado,
          categoria: r.categoria,
          parametros: r.r_parametros,
          cuerpo: r.cuerpo,
          motivo: r.motivo,
          sincronizada_at: r.sincronizada_at,
          botones: r.botones ?? null,
        }
      : undefined;
  return checkTemplate(mapping, registry, values, tipo);
}

export async function listTemplateMappings(db: Queryable): Promise<TemplateMapping[]> {
  const { rows } = await db.query<MappingRow>(
    'SELECT tipo, plantilla, idioma, parametros, actualizado_por, updated_at FROM whatsapp_template_map ORDER BY tipo',
  );
  return rows;
}

export async function listRegistry(db: Queryable): Promise<RegistryTemplate[]> {
  const { rows } = await db.query<RegistryTemplate>(
    `SELECT nombre, idioma, estado, categoria, parametros, cuerpo, motivo, sincronizada_at
       FROM whatsapp_templates ORDER BY nombre, idioma`,
  );
  return rows;
}

const TEMPLATE_NAME = /^[a-z0-9_]{1,512}$/;
const LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?$/;

/** Problems of a mapping, in Spanish (empty = valid). `synced` = the registry's row, when known. */
export function mappingProblems(
  m: { tipo: string; plantilla: string; idioma: string; parametros: unknown },
  synced?: RegistryTemplate,
): string[] {
  const out: string[] = [];
  if (!notificationTypes.values.includes(m.tipo as never)) out.push(`el tipo «${m.tipo}» no existe`);
  if (!TEMPLATE_NAME.test(m.plantilla)) {
    out.push('el nombre de la plantilla solo admite minúsculas, números y _ (como en Meta)');
  }
  if (!LANGUAGE.test(m.idioma)) out.push('el idioma debe ser un código como es o es_EC');
  if (!Array.isArray(m.parametros)) {
    out.push('los parámetros deben ser una lista de variables');
    return out;
  }
  if (m.parametros.length > 20) out.push('una plantilla admite como máximo 20 parámetros');
  m.parametros.forEach((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') out.push(`el parámetro {{${i + 1}}} está vacío`);
    else if (!(p in templateVariables)) {
      out.push(
        `el parámetro {{${i + 1}}} usa «${p}», que no es una variable (${Object.keys(templateVariables).join(', ')})`,
      );
    }
  });
  if (synced && synced.parametros !== null && synced.parametros !== m.parametros.length) {
    out.push(
      `la plantilla «${synced.nombre}» aprobada en Meta tiene ${synced.parametros} parámetros y aquí hay ${m.parametros.length}`,
    );
  }
  return out;
}

/** Saves a type's mapping after validating it (422 WHATSAPP_PLANTILLA_INVALIDA with the reasons). */
export async function saveTemplateMapping(
  db: Queryable,
  m: { tipo: string; plantilla: string; idioma?: string; parametros: unknown },
  actor: string,
  now: Date,
): Promise<TemplateMapping> {
  const idioma = m.idioma ?? 'es';
  const synced = (
    await db.query<RegistryTemplate>(
      `SELECT nombre, idioma, estado, categoria, parametros, cuerpo, motivo, sincronizada_at
         FROM whatsapp_templates WHERE nombre = $1 AND idioma = $2`,
      [m.plantilla, idioma],
    )
  ).rows[0];
  const problems = mappingProblems({ ...m, idioma }, synced);
  if (problems.length) {
    throw new AppError(
      'WHATSAPP_PLANTILLA_INVALIDA',
      `La asignación de plantilla no es válida: ${problems.join('; ')}.`,
      problems.map((mensaje) => ({ campo: 'parametros', mensaje })),
    );
  }
  const { rows } = await db.query<MappingRow>(
    `INSERT INTO whatsapp_template_map (tipo, plantilla, idioma, parametros, actualizado_por, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT (tipo) DO UPDATE SET plantilla = EXCLUDED.plantilla, idioma = EXCLUDED.idioma,
       parametros = EXCLUDED.parametros, actualizado_por = EXCLUDED.actualizado_por, updated_at = EXCLUDED.updated_at
     RETURNING tipo, plantilla, idioma, parametros, actualizado_por, updated_at`,
    [m.tipo, m.plantilla, idioma, JSON.stringify(m.parametros), actor, now],
  );
  return rows[0]!;
}

/** Back to the default mapping of a type (or removes it for a type without default). */
export async function resetTemplateMapping(
  db: Queryable,
  tipo: string,
  actor: string,
  now: Date,
): Promise<void> {
  const d = defaultTemplateMappings.find((x) => x.tipo === tipo);
  if (!d) {
    await db.query('DELETE FROM whatsapp_template_map WHERE tipo = $1', [tipo]);
    return;
  }
  await db.query(
    `INSERT INTO whatsapp_template_map (tipo, plantilla, idioma, parametros, actualizado_por, updated_at)
     VALUES ($1, $2, $3, $4::jsonb, $5, $6)
     ON CONFLICT (tipo) DO UPDATE SET plantilla = EXCLUDED.plantilla, idioma = EXCLUDED.idioma,
       parametros = EXCLUDED.parametros, actualizado_por = EXCLUDED.actualizado_por, updated_at = EXCLUDED.updated_at`,
    [d.tipo, d.plantilla, d.idioma, JSON.stringify(d.parametros), actor, now],
  );
}

function bodyOf(t: GraphTemplate): string | null {
  return t.components?.find((c) => c.type?.toUpperCase() === 'BODY')?.text ?? null;
}

/** Quick-reply buttons of a template (Meta's BUTTONS component); 0 when it has none. */
export function quickReplyCount(t: GraphTemplate): number {
  const b = t.components?.find((c) => c.type?.toUpperCase() === 'BUTTONS')?.buttons ?? [];
  return b.filter((x) => String(x?.type ?? '').toUpperCase() === 'QUICK_REPLY').length;
}

/**
 * Replaces the registry with Meta's list, in one statement per sync (set-based): upserts every
 * listed template, deletes the ones Meta no longer lists.
 */
export async function storeTemplates(db: Queryable, templates: GraphTemplate[], now: Date): Promise<number> {
  const rows = templates.map((t) => ({
    nombre: t.name,
    idioma: t.language,
    estado: String(t.status ?? 'PENDING').toUpperCase(),
    categoria: t.category ? String(t.category).toUpperCase() : null,
    parametros: countBodyParameters(bodyOf(t)),
    cuerpo: bodyOf(t),
    meta_id: t.id ?? null,
    motivo: t.rejected_reason ?? null,
    botones: quickReplyCount(t),
  }));
  await db.query(
    `WITH incoming AS (
       SELECT DISTINCT ON (nombre, idioma) *
         FROM jsonb_to_recordset($1::jsonb) AS x(nombre text, idioma text, estado text, categoria text,
              parametros integer, cuerpo text, meta_id text, motivo text, botones integer)
     ), gone AS (
       DELETE FROM whatsapp_templates w
        WHERE NOT EXISTS (SELECT 1 FROM incoming i WHERE i.nombre = w.nombre AND i.idioma = w.idioma)
     )
     INSERT INTO whatsapp_templates (nombre, idioma, estado, categoria, parametros, cuerpo, meta_id, motivo,
                                     sincronizada_at, botones)
     SELECT nombre, idioma, estado, categoria, parametros, cuerpo, meta_id, motivo, $2, botones FROM incoming
     ON CONFLICT (nombre, idioma) DO UPDATE SET estado = EXCLUDED.estado, categoria = EXCLUDED.categoria,
       parametros = EXCLUDED.parametros, cuerpo = EXCLUDED.cuerpo, meta_id = EXCLUDED.meta_id, botones = EXCLUDED.botones,
       motivo = EXCLUDED.motivo, sincronizada_at = EXCLUDED.sincronizada_at`,
    [JSON.stringify(rows), now],
  );
  await db.query('UPDATE whatsapp_state SET sincronizado_at = $1, error_sincronizacion = NULL WHERE id = 1', [
    now,
  ]);
  return rows.length;
}

/** One template event from a webhook (message_template_status_update / template_category_update). */
export interface TemplateEvent {
  nombre: string;
  idioma: string;
  estado?: string;
  categoria?: string;
  motivo?: string | null;
  metaId?: string;
}

/**
 * Applies template webhooks. A template we had not synced gets a row with unknown parameters
 * (NULL): returns true when a full sync should follow to learn its text.
 */
export async function applyTemplateEvents(
  db: Queryable,
  events: TemplateEvent[],
  now: Date,
): Promise<boolean> {
  let needsSync = false;
  for (const e of events) {
    const { rowCount } = await db.query(
      `UPDATE whatsapp_templates SET estado = COALESCE($3, estado), categoria = COALESCE($4, categoria),
              motivo = CASE WHEN $3::text IS NULL THEN motivo ELSE $5 END, sincronizada_at = $6
        WHERE nombre = $1 AND idioma = $2`,
      [
        e.nombre,
        e.idioma,
        e.estado?.toUpperCase() ?? null,
        e.categoria?.toUpperCase() ?? null,
        e.motivo ?? null,
        now,
      ],
    );
    if (rowCount === 0) {
      needsSync = true;
      await db.query(
        `INSERT INTO whatsapp_templates (nombre, idioma, estado, categoria, parametros, meta_id, motivo, sincronizada_at)
         VALUES ($1, $2, $3, $4, NULL, $5, $6, $7) ON CONFLICT (nombre, idioma) DO NOTHING`,
        [
          e.nombre,
          e.idioma,
          e.estado?.toUpperCase() ?? 'PENDING',
          e.categoria?.toUpperCase() ?? null,
          e.metaId ?? null,
          e.motivo ?? null,
          now,
        ],
      );
    }
  }
  return needsSync;
}

export interface TemplateSyncDeps {
  db: Queryable;
  client: WhatsAppClient;
  clock: { now(): Date };
  logger: Logger;
  /** Default one hour (issue 10 §3). */
  intervalMs?: number;
}

export interface TemplateSync {
  /** One sync now (start-up, on demand, after a webhook about an unknown template). */
  runOnce(signal?: AbortSignal): Promise<{ ok: true; plantillas: number } | { ok: false; error: string }>;
  /** Syncs at once and every `intervalMs` until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

export function createTemplateSync(deps: TemplateSyncDeps): TemplateSync {
  const interval = deps.intervalMs ?? 3600_000;
  let inFlight: ReturnType<TemplateSync['runOnce']> | undefined;
  const runOnce: TemplateSync['runOnce'] = (signal) => {
    inFlight ??= (async () => {
      try {
        const r = await deps.client.listTemplates(signal);
        if (!r.ok) {
          const error = `${r.failure.code}: ${r.failure.message}`;
          await deps.db
            .query('UPDATE whatsapp_state SET error_sincronizacion = $1 WHERE id = 1', [error])
            .catch(() => {});
          deps.logger.warn(
            { code: r.failure.code },
            `no se pudieron sincronizar las plantillas de WhatsApp: ${error}`,
          );
          return { ok: false as const, error };
        }
        const n = await storeTemplates(deps.db, r.value, deps.clock.now());
        deps.logger.info({ plantillas: n }, 'plantillas de WhatsApp sincronizadas');
        return { ok: true as const, plantillas: n };
      } catch (err) {
        deps.logger.warn({ err }, 'no se pudieron sincronizar las plantillas de WhatsApp');
        return { ok: false as const, error: (err as Error).message };
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  return {
    runOnce,
    async run(signal) {
      while (!signal.aborted) {
        await runOnce(signal);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, interval);
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(t);
              resolve();
            },
            { once: true },
          );
        });
      }
    },
  };
}
