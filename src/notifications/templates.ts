import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { daysBetween } from '../time.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * Message templates. A template is Telegram HTML with variables in braces (`{nombre}`); values
 * are HTML-escaped when substituted, so a client called "Ana <b>" cannot inject markup. Staff edit
 * them through the API; a per-plan version overrides the general one; the Spanish defaults below
 * apply when nobody edited a type.
 */

/** Telegram's limit for one message, counted on the visible text (after markup), in UTF-16 units. */
export const TELEGRAM_MAX_CHARS = 4096;

export const templateVariables = {
  nombre: 'Nombre del cliente',
  plan: 'Nombre del plan',
  velocidad: 'Velocidad del plan en Mbps',
  monto: 'Monto con su signo ($25.00): precio del plan, o el monto del pago recibido',
  fecha_vencimiento: 'Fecha de vencimiento del ciclo (dd/mm/aaaa)',
  dias: 'Días hasta el vencimiento (recordatorio) o días de atraso (vencido)',
  fecha_pago: 'Fecha del pago recibido (dd/mm/aaaa)',
  empresa: 'Nombre de la empresa',
  contacto: 'Datos de contacto de la empresa (teléfono, WhatsApp, correo)',
  mensaje: 'Texto libre del envío (manual, masivo, mantenimiento, oferta)',
} as const;
export type TemplateVariable = keyof typeof templateVariables;
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

export const defaultTemplates: Record<NotificationType, string> = {
  recordatorio_pago:
    'Hola {nombre} 👋\n' +
    'Le recordamos que el pago de su plan <b>{plan}</b> por <b>{monto}</b> vence el ' +
    '<b>{fecha_vencimiento}</b> (en {dias} días).\n' +
    'Pague a tiempo y evite la suspensión del servicio.\n\n{contacto}\n— {empresa}',
  pago_vencido:
    'Hola {nombre}.\n' +
    'El pago de su plan <b>{plan}</b> por <b>{monto}</b> venció el <b>{fecha_vencimiento}</b> ' +
    '(hace {dias} días).\n' +
    'Por favor, regularice su pago para evitar la suspensión del servicio. Si ya pagó, ignore este mensaje.\n\n' +
    '{contacto}\n— {empresa}',
  mantenimiento: '🔧 <b>Aviso de mantenimiento</b>\nHola {nombre}: {mensaje}\n\n— {empresa}',
  oferta: '🎉 Hola {nombre}: {mensaje}\n\n— {empresa}',
  bienvenida:
    '¡Bienvenido/a, {nombre}! Su servicio de {empresa} quedó vinculado a este chat de Telegram. ' +
    'Aquí recibirá sus recordatorios de pago y avisos. Escriba /status para ver su estado.\n\n{contacto}',
  manual: '{mensaje}',
  pago_recibido:
    '✅ Hola {nombre}, recibimos su pago de <b>{monto}</b> del {fecha_pago}. ¡Gracias!\n' +
    'Su próximo vencimiento es el <b>{fecha_vencimiento}</b>.\n— {empresa}',
};

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'a',
  'code',
  'pre',
  'tg-spoiler',
  'span',
  'blockquote',
]);

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const VARIABLE = /\{([a-z_]+)\}/g;

/** Substitutes the variables of an HTML template; values are escaped, unknown ones stay as written. */
export function renderTemplate(html: string, values: TemplateValues): string {
  return html
    .replace(VARIABLE, (whole, name: string) => {
      const v = values[name as TemplateVariable];
      return v === undefined ? whole : escapeHtml(v);
    })
    .replace(/\n{3,}/g, '\n\n') // an empty {contacto} leaves no hole
    .trim();
}

/** A staff's plain-text message with its variables filled in, still plain text (sent without markup). */
export function fillPlainText(text: string, values: TemplateValues): string {
  return text.replace(VARIABLE, (whole, name: string) => values[name as TemplateVariable] ?? whole);
}

/** A staff's plain-text message with optional variables, as Telegram HTML (everything escaped). */
export function renderPlainText(text: string, values: TemplateValues): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(VARIABLE)) {
    const v = values[m[1] as TemplateVariable];
    out += escapeHtml(text.slice(last, m.index));
    out += v === undefined ? escapeHtml(m[0]) : escapeHtml(v);
    last = m.index + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

/** Length of the text the reader sees (tags removed, entities decoded), in UTF-16 units like Telegram. */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/gi, 'x').length;
}

/** Problems of a template text: unknown variables, markup Telegram would refuse. Empty = fine. */
export function templateProblems(html: string): string[] {
  const problems: string[] = [];
  if (!html.trim()) problems.push('la plantilla está vacía');
  for (const m of html.matchAll(VARIABLE)) {
    if (!(m[1]! in templateVariables)) problems.push(`variable desconocida {${m[1]}}`);
  }
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z-]+)([^<>]*)>|<|&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)/g;
  for (const m of html.matchAll(token)) {
    if (m[0] === '<') {
      problems.push('"<" suelto: escriba &lt; o use una etiqueta permitida');
      continue;
    }
    if (m[0] === '&') {
      problems.push('"&" suelto: escriba &amp;');
      continue;
    }
    const tag = m[2]!.toLowerCase();
    if (!ALLOWED_TAGS.has(tag)) {
      problems.push(`etiqueta <${tag}> no permitida por Telegram`);
      continue;
    }
    if (m[1]) {
      if (stack.pop() !== tag) problems.push(`etiqueta </${tag}> sin abrir o mal anidada`);
    } else stack.push(tag);
  }
  for (const tag of stack) problems.push(`etiqueta <${tag}> sin cerrar`);
  return [...new Set(problems)];
}

/** Values long enough to show whether a template still fits Telegram's limit with real data. */
export function worstCaseValues(settings: EngineSettings, mensaje = ''): TemplateValues {
  return {
    nombre: 'N'.repeat(120),
    plan: 'P'.repeat(60),
    velocidad: '1000',
    monto: '$99999.99',
    fecha_vencimiento: '28/02/2026',
    dias: '365',
    fecha_pago: '28/02/2026',
    empresa: settings.company.nombre,
    contacto: contactLine(settings.company),
    mensaje,
  };
}

/** Refuses a template staff cannot save: bad markup, unknown variables, too long with real data. */
export function validateTemplate(html: string, settings: EngineSettings): void {
  const problems = templateProblems(html);
  const length = visibleLength(renderTemplate(html, worstCaseValues(settings)));
  if (length > TELEGRAM_MAX_CHARS) {
    problems.push(`con datos largos el mensaje tendría ${length} caracteres (máximo ${TELEGRAM_MAX_CHARS})`);
  }
  if (problems.length) {
    throw new AppError('PLANTILLA_INVALIDA', `La plantilla no es válida: ${problems.join('; ')}.`, problems);
  }
}

/** dd/mm/aaaa, as read in Ecuador. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const [y, m, d] = iso.slice(0, 10).split('-');
  return `${d}/${m}/${y}`;
}

/** US dollars, Ecuador's currency: '$25.50'. */
export function formatMoney(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : `$${n.toFixed(2)}`;
}

export function contactLine(c: EngineSettings['company']): string {
  const parts = [
    c.telefono && `📞 ${c.telefono}`,
    c.whatsapp && `WhatsApp ${c.whatsapp}`,
    c.email && `✉️ ${c.email}`,
  ].filter(Boolean);
  return parts.length ? `Contacto: ${parts.join(' · ')}` : '';
}

/** What a notice's text is made of: the client, the cycle, the payment, the free text. */
export interface RenderInput {
  tipo: NotificationType;
  today: string;
  nombre?: string | null;
  plan?: string | null;
  velocidad?: number | null;
  precio?: number | null;
  /** Due date of the notice's cycle (payment notices) or the client's current one. */
  vencimiento?: string | null;
  /** datos of the row (pago_recibido: monto, fecha). */
  datos?: Record<string, unknown>;
  mensaje?: string | null;
}

export function templateValues(input: RenderInput, settings: EngineSettings): TemplateValues {
  const datos = input.datos ?? {};
  const due = input.vencimiento ?? null;
  const dias =
    due === null
      ? ''
      : String(input.tipo === 'pago_vencido' ? daysBetween(due, input.today) : daysBetween(input.today, due));
  const paid = typeof datos['monto'] === 'number' ? (datos['monto'] as number) : null;
  return {
    nombre: input.nombre ?? '',
    plan: input.plan ?? '',
    velocidad: input.velocidad === null || input.velocidad === undefined ? '' : String(input.velocidad),
    monto: formatMoney(input.tipo === 'pago_recibido' && paid !== null ? paid : input.precio),
    fecha_vencimiento: formatDate(due),
    dias,
    fecha_pago: formatDate(typeof datos['fecha'] === 'string' ? (datos['fecha'] as string) : null),
    empresa: settings.company.nombre,
    contacto: contactLine(settings.company),
    mensaje: input.mensaje ?? '',
  };
}

// ------------------------------------------------------------------------------------ storage

export interface TemplateRow {
  tipo: NotificationType;
  plan_id: number | null;
  texto: string;
  updated_by: string | null;
  updated_at: Date;
}

/** All stored templates, for resolving many rows at once (the table is tiny). */
export interface TemplateSet {
  resolve(tipo: NotificationType, planId: number | null | undefined): string;
}

export async function loadTemplates(db: Queryable): Promise<TemplateSet> {
  const { rows } = await db.query<TemplateRow>('SELECT tipo, plan_id, texto FROM templates');
  const map = new Map(rows.map((r) => [`${r.tipo}:${r.plan_id ?? ''}`, r.texto]));
  return {
    resolve: (tipo, planId) =>
      (planId != null ? map.get(`${tipo}:${planId}`) : undefined) ??
      map.get(`${tipo}:`) ??
      defaultTemplates[tipo],
  };
}

export async function listTemplateRows(db: Queryable): Promise<TemplateRow[]> {
  const { rows } = await db.query<TemplateRow>(
    'SELECT tipo, plan_id, texto, updated_by, updated_at FROM templates ORDER BY tipo, plan_id NULLS FIRST',
  );
  return rows;
}

export async function saveTemplate(
  db: Queryable,
  t: { tipo: NotificationType; planId: number | null; texto: string; actor?: string },
  settings: EngineSettings,
): Promise<TemplateRow> {
  validateTemplate(t.texto, settings);
  if (t.planId !== null) {
    const plan = await db.query('SELECT 1 FROM plans WHERE id = $1', [t.planId]);
    if (!plan.rows[0]) throw new AppError('PLAN_NO_EXISTE', `No existe el plan ${t.planId}.`);
  }
  const { rows } = await db.query<TemplateRow>(
    `INSERT INTO templates (tipo, plan_id, texto, updated_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tipo, (COALESCE(plan_id, 0)))
     DO UPDATE SET texto = EXCLUDED.texto, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING tipo, plan_id, texto, updated_by, updated_at`,
    [t.tipo, t.planId, t.texto, t.actor ?? null],
  );
  return rows[0]!;
}

/** Back to the default (or, for a plan, to the general template). */
export async function deleteTemplate(db: Queryable, tipo: NotificationType, planId: number | null) {
  const res = await db.query('DELETE FROM templates WHERE tipo = $1 AND COALESCE(plan_id, 0) = $2', [
    tipo,
    planId ?? 0,
  ]);
  return res.rowCount > 0;
}
