import { z } from 'zod';
import { CHANNEL_NAMES, type ChannelName } from '../channels/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db, Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import type { EngineSettings } from '../notifications/index.js';

type Company = Config['company'];

import { defaultFallbackRules, FALLBACK_RULES, RULE_TYPES } from '../notifications/fallback-policy.js';
import { toEngineSettings } from '../notifications/index.js';

/**
 * Settings staff change in Ajustes, stored in the `settings` table (one row per key, prefix
 * `ajustes.`) over the environment's defaults. The one door: the engine, the scheduler, the bot and
 * the API read them through `SettingsProvider`, so a change takes effect without a restart.
 */

const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
const hhmmEnd = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const text = (max: number) => z.string().trim().max(max, `como máximo ${max} caracteres`);

export const bankAccountSchema = z.strictObject({
  banco: text(80).min(1, 'indique el banco'),
  tipo: z.enum(['ahorros', 'corriente'], 'debe ser "ahorros" o "corriente"'),
  numero: z
    .string()
    .trim()
    .regex(/^[0-9-]{4,30}$/, 'solo dígitos y guiones (4 a 30)'),
  titular: text(120).min(1, 'indique el titular de la cuenta'),
  identificacion: text(20).optional(),
});
export type BankAccount = z.infer<typeof bankAccountSchema>;

/** Everything editable, with its Spanish API name. Each top-level-and-nested leaf is one row. */
const fallbackRuleSchema = z.enum(
  FALLBACK_RULES,
  'must_deliver (se prueban todos los canales), one_fallback (un canal de respaldo) o no_fallback (sin respaldo)',
);

export const editableSchema = z.strictObject({
  empresa: z.strictObject({
    nombre: text(80).min(1, 'el nombre de la empresa no puede quedar vacío'),
    telefono: text(40),
    whatsapp: text(40),
    email: z.union([z.literal(''), z.email('un correo como ventas@empresa.ec').max(120)]),
    horario: text(200),
    direccion: text(200),
    cuentas_bancarias: z.array(bankAccountSchema).max(10, 'como máximo 10 cuentas'),
    /** Where clients pay in person (issue 13 §5): one line each. */
    puntos_pago: z
      .array(text(200).min(1, 'un punto de pago no puede quedar vacío'))
      .max(10, 'como máximo 10 puntos'),
    /** Optional online payment link. */
    enlace_pago: z.union([
      z.literal(''),
      z.url({ protocol: /^https?$/, message: 'un enlace https://…' }).max(300, 'como máximo 300 caracteres'),
    ]),
  }),
  envio: z.strictObject({
    ventana: z.strictObject({
      inicio: z.string().regex(hhmm, 'una hora HH:MM, por ejemplo 08:00'),
      fin: z.string().regex(hhmmEnd, 'una hora HH:MM, por ejemplo 20:00'),
    }),
  }),
  ciclo: z.strictObject({
    dias: z.number().int().min(7, 'al menos 7').max(92, 'como máximo 92'),
    recordatorio_dias_antes: z.number().int().min(1, 'al menos 1').max(27, 'como máximo 27'),
    vencido_repetir_cada_dias: z.number().int().min(1, 'al menos 1').max(30, 'como máximo 30'),
    vencido_maximo_avisos: z.number().int().min(1, 'al menos 1').max(10, 'como máximo 10'),
    dias_suspension: z.number().int().min(1, 'al menos 1').max(90, 'como máximo 90'),
    /** The pre-suspension notice goes this many days before the suspension date (0 = none). */
    aviso_suspension_dias_antes: z.number().int().min(0, 'al menos 0').max(30, 'como máximo 30'),
    /** A payment that leaves a suspended client up to date makes them active again. */
    reactivar_al_pagar: z.boolean(),
  }),
  planificador: z.strictObject({
    hora_generacion: z.string().regex(hhmm, 'una hora HH:MM, por ejemplo 08:00'),
  }),
  sesion: z.strictObject({
    horas_inactividad: z.number().min(0.25, 'al menos 0.25 (15 minutos)').max(720, 'como máximo 720'),
  }),
  /** Fallback (issue 11 §3): the channel order after the client's preferred one (FALLBACK_ORDER). */
  respaldo: z.strictObject({
    orden: z
      .array(z.enum(CHANNEL_NAMES as [ChannelName, ...ChannelName[]], 'telegram, whatsapp, sms o email'))
      .min(1, 'al menos un canal')
      .max(CHANNEL_NAMES.length, `como máximo ${CHANNEL_NAMES.length} canales`)
      .refine((a) => new Set(a).size === a.length, 'cada canal puede aparecer una sola vez'),
    /** How hard each kind of notice tries: must_deliver, one_fallback or no_fallback. */
    reglas: z.strictObject(Object.fromEntries(RULE_TYPES.map((t) => [t, fallbackRuleSchema]))),
  }),
});
export type EditableSettings = z.infer<typeof editableSchema>;

/** A PATCH: any subset of the leaves (bank accounts are replaced as a whole list). */
export const settingsPatchSchema = z.strictObject({
  empresa: editableSchema.shape.empresa.partial().optional(),
  envio: z.strictObject({ ventana: editableSchema.shape.envio.shape.ventana.optional() }).optional(),
  ciclo: editableSchema.shape.ciclo.partial().optional(),
  planificador: editableSchema.shape.planificador.partial().optional(),
  sesion: editableSchema.shape.sesion.partial().optional(),
  respaldo: z
    .strictObject({
      orden: editableSchema.shape.respaldo.shape.orden.optional(),
      reglas: editableSchema.shape.respaldo.shape.reglas.partial().optional(),
    })
    .optional(),
});
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

/** The defaults the environment gives (.env), before anything is stored. */
export function defaultsFromConfig(config: Config): EditableSettings {
  const e = config.engine;
  return {
    empresa: { ...config.company, cuentas_bancarias: [], puntos_pago: [], enlace_pago: '' },
    envio: { ventana: { inicio: e.sendWindow.start, fin: e.sendWindow.end } },
    ciclo: {
      dias: e.cycleDays,
      recordatorio_dias_antes: e.reminderDaysBefore,
      vencido_repetir_cada_dias: e.overdueRepeatDays,
      vencido_maximo_avisos: e.overdueMaxNotices,
      dias_suspension: config.suspensionDays,
      aviso_suspension_dias_antes: config.suspensionNoticeDaysBefore,
      reactivar_al_pagar: config.reactivateOnPayment,
    },
    planificador: { hora_generacion: e.dailyRunAt },
    sesion: { horas_inactividad: config.sessionIdleHours },
    respaldo: { orden: [...config.fallback.order], reglas: defaultFallbackRules() },
  };
}

type Leaves = Record<string, unknown>;

/** `{a: {b: 1}}` → `{'a.b': 1}` (arrays and {inicio, fin} stay whole). */
function flatten(o: Record<string, unknown>, prefix = ''): Leaves {
  const out: Leaves = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    const key = prefix + k;
    if (v && typeof v === 'object' && !Array.isArray(v) && key !== 'envio.ventana') {
      Object.assign(out, flatten(v as Record<string, unknown>, `${key}.`));
    } else out[key] = v;
  }
  return out;
}

function setPath(o: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let at = o;
  for (const p of parts.slice(0, -1)) {
    if (!at[p] || typeof at[p] !== 'object') return;
    at = at[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1]!;
  if (last in at) at[last] = value;
}

/** Rules between settings (each value alone is checked by the schema). */
function crossCheck(s: EditableSettings): void {
  const problems: { campo: string; mensaje: string }[] = [];
  if (s.ciclo.recordatorio_dias_antes >= s.ciclo.dias) {
    problems.push({
      campo: 'ciclo.recordatorio_dias_antes',
      mensaje: `debe ser menor que la duración del ciclo (${s.ciclo.dias} días)`,
    });
  }
  const notice = s.ciclo.aviso_suspension_dias_antes;
  if (notice > 0 && notice >= s.ciclo.dias_suspension) {
    problems.push({
      campo: 'ciclo.aviso_suspension_dias_antes',
      mensaje: `debe ser menor que los días de mora antes de suspender (${s.ciclo.dias_suspension})`,
    });
  }
  const { inicio, fin } = s.envio.ventana;
  if (inicio === fin) {
    problems.push({ campo: 'envio.ventana', mensaje: 'el inicio y el fin no pueden ser la misma hora' });
  }
  if (problems.length) {
    const p = problems[0]!;
    throw new AppError('AJUSTE_INVALIDO', `El ajuste "${p.campo}" no es válido: ${p.mensaje}.`, problems);
  }
}

export interface SettingsChange {
  campo: string;
  antes: unknown;
  despues: unknown;
}

export interface SettingsProvider {
  /** The settings in effect (cached for at most `ttlMs`; a change made here is seen at once). */
  get(): Promise<EditableSettings>;
  /** The last settings read, without waiting (for values needed synchronously, e.g. a cron hour). */
  current(): EditableSettings;
  /** The engine's view of the settings: call it per use or per cycle, never keep the result. */
  engine(): Promise<EngineSettings>;
  /** The company data in effect (bot texts, {contacto}), from the last settings read. */
  company(): Company;
  /** Validates and stores a change in `tx` (audit it in the same transaction); returns what changed. */
  update(tx: Queryable, patch: SettingsPatch): Promise<SettingsChange[]>;
  /** Forgets the cache (after `update`'s transaction committed). */
  invalidate(): void;
}

const PREFIX = 'ajustes.';

async function readStored(db: Queryable): Promise<Leaves> {
  const { rows } = await db.query<{ key: string; value: unknown }>(
    'SELECT key, value FROM settings WHERE key LIKE $1',
    [`${PREFIX}%`],
  );
  return Object.fromEntries(rows.map((r) => [r.key.slice(PREFIX.length), r.value]));
}

function merge(defaults: EditableSettings, stored: Leaves): EditableSettings {
  const out = structuredClone(defaults) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(stored)) setPath(out, k, v);
  // A stored value an older version accepted but this one does not falls back to the default.
  const parsed = editableSchema.safeParse(out);
  return parsed.success ? parsed.data : defaults;
}

export function createSettingsProvider(deps: {
  db: Db;
  config: Config;
  clock?: Clock;
  /** How long another instance's change may take to be seen here. */
  ttlMs?: number;
}): SettingsProvider {
  const defaults = defaultsFromConfig(deps.config);
  const ttlMs = deps.ttlMs ?? 5_000;
  const now = () => (deps.clock ? deps.clock.now().getTime() : Date.now());
  let snapshot = defaults;
  let loadedAt = -Infinity;
  let loading: Promise<EditableSettings> | undefined;

  async function get(): Promise<EditableSettings> {
    if (now() - loadedAt < ttlMs) return snapshot;
    loading ??= readStored(deps.db)
      .then((stored) => {
        snapshot = merge(defaults, stored);
        loadedAt = now();
        return snapshot;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  }

  return {
    get,
    current() {
      // Stale: refresh in the background; the caller gets the last known settings now.
      if (now() - loadedAt >= ttlMs && !loading) void get().catch(() => {});
      return snapshot;
    },
    company: () => companyOf(snapshot),
    async engine() {
      const s = await get();
      const base = toEngineSettings(deps.config);
      const company = companyOf(s);
      const { cuentas_bancarias, puntos_pago, enlace_pago } = s.empresa;
      return {
        ...base,
        sendWindow: { start: s.envio.ventana.inicio, end: s.envio.ventana.fin },
        cycleDays: s.ciclo.dias,
        reminderDaysBefore: s.ciclo.recordatorio_dias_antes,
        overdueRepeatDays: s.ciclo.vencido_repetir_cada_dias,
        overdueMaxNotices: s.ciclo.vencido_maximo_avisos,
        suspension: {
          days: s.ciclo.dias_suspension,
          noticeDaysBefore: s.ciclo.aviso_suspension_dias_antes,
          reactivateOnPayment: s.ciclo.reactivar_al_pagar,
        },
        howToPay: { cuentas: cuentas_bancarias, puntos: puntos_pago, enlace: enlace_pago },
        company,
        fallbackOrder: s.respaldo.orden,
        fallbackRules: s.respaldo.reglas,
      };
    },
    async update(tx, patch) {
      const before = merge(defaults, await readStored(tx));
      const changes = flatten(patch as Record<string, unknown>);
      const after = structuredClone(before) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(changes)) setPath(after, k, v);
      crossCheck(after as unknown as EditableSettings);
      const beforeLeaves = flatten(before as unknown as Record<string, unknown>);
      const changed: SettingsChange[] = [];
      for (const [k, v] of Object.entries(changes)) {
        if (JSON.stringify(beforeLeaves[k]) === JSON.stringify(v)) continue;
        changed.push({ campo: k, antes: beforeLeaves[k], despues: v });
        await tx.query(
          `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
          [PREFIX + k, JSON.stringify(v), new Date(now())],
        );
      }
      return changed;
    },
    invalidate() {
      loadedAt = -Infinity;
    },
  };
}

/** The company data as the engine and the bot use it (bank accounts are read on their own). */
function companyOf(s: EditableSettings): Company {
  const { cuentas_bancarias: _, puntos_pago: _p, enlace_pago: _e, ...company } = s.empresa;
  return company;
}

/** A provider over fixed settings (tests, the CLI): the environment's defaults, nothing stored. */
export function staticSettings(config: Config): SettingsProvider {
  const s = defaultsFromConfig(config);
  return {
    get: async () => s,
    current: () => s,
    engine: async () => toEngineSettings(config),
    company: () => config.company,
    update: async () => {
      throw new AppError('NO_IMPLEMENTADO');
    },
    invalidate() {},
  };
}

/** What a first run still lacks (Resumen's checklist): Spanish, one line each. */
export function missingSettings(s: EditableSettings): { campo: string; mensaje: string }[] {
  const out: { campo: string; mensaje: string }[] = [];
  const e = s.empresa;
  if (!e.telefono && !e.whatsapp) {
    out.push({
      campo: 'empresa.telefono',
      mensaje: 'Falta un teléfono o WhatsApp de contacto: los recordatorios muestran {contacto} vacío.',
    });
  }
  if (!e.email) out.push({ campo: 'empresa.email', mensaje: 'Falta el correo de contacto de la empresa.' });
  if (!e.direccion) out.push({ campo: 'empresa.direccion', mensaje: 'Falta la dirección de la oficina.' });
  if (e.cuentas_bancarias.length === 0 && e.puntos_pago.length === 0 && !e.enlace_pago) {
    out.push({
      campo: 'empresa.cuentas_bancarias',
      mensaje:
        'No hay cuentas bancarias, puntos ni enlace de pago: los clientes no saben dónde pagar ({como_pagar} y /comopagar).',
    });
  }
  return out;
}
