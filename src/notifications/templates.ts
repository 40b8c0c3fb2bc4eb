import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { escapeHtml, htmlProblem, TELEGRAM_MAX_CHARS, visibleLength } from '../telegram/html.js';
import { addDays } from '../time.js';
import { dueStatus, formatDate, formatMoney } from './format.js';
import { howToPayText } from './how-to-pay.js';
import type { EngineSettings, NotificationType } from './types.js';

/**
 * Message templates. A template is Telegram HTML with variables in braces (`{nombre}`); values
 * are HTML-escaped when substituted, so a client called "Ana <b>" cannot inject markup. Staff edit
 * them through the API; a per-plan version overrides the general one; the Spanish defaults below
 * apply when nobody edited a type.
 */

/** Telegram HTML (escape, visible length, the 4096 limit) has one home: src/telegram/html.ts. */
export { escapeHtml, TELEGRAM_MAX_CHARS, visibleLength };

export const templateVariables = {
  nombre: 'Nombre del cliente',
  plan: 'Nombre del plan',
  velocidad: 'Velocidad del plan en Mbps',
  monto:
    'Monto con su signo ($25,50): lo adeudado (ciclos impagos × precio del plan), o el monto del pago recibido',
  fecha_vencimiento: 'Fecha de vencimiento del ciclo (dd/mm/aaaa)',
  plazo:
    'El vencimiento en palabras: «vence el 30/11/2026 (en 2 días)», «vence hoy, 28/11/2026», «venció el 26/11/2026 (hace 2 días)»',
  dias: 'Número de días hasta el vencimiento (recordatorio) o de atraso (vencido); mejor use {plazo}',
  fecha_pago: 'Fecha del pago recibido (dd/mm/aaaa)',
  empresa: 'Nombre de la empresa',
  contacto: 'Datos de contacto de la empresa (teléfono, WhatsApp, correo)',
  mensaje: 'Texto libre del envío (manual, masivo, mantenimiento, oferta)',
  como_pagar:
    'Cómo pagar: cuentas bancarias, puntos de pago y enlace de pago (Ajustes). Si no hay datos, la línea desaparece',
  fecha_suspension:
    'Fecha en que se suspendería el servicio (vencimiento + días de mora de Ajustes), dd/mm/aaaa',
  enlace: 'Enlace personal de un solo uso para vincularse al bot de Telegram (invitaciones)',
} as const;
export type TemplateVariable = keyof typeof templateVariables;
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

export const defaultTemplates: Record<NotificationType, string> = {
  recordatorio_pago:
    'Hola {nombre} 👋\n' +
    'Le recordamos que el pago de su plan <b>{plan}</b> por <b>{monto}</b> {plazo}.\n' +
    'Pague a tiempo y evite la suspensión del servicio.\n\n{contacto}\n— {empresa}',
  pago_vencido:
    'Hola {nombre}.\n' +
    'El pago de su plan <b>{plan}</b> por <b>{monto}</b> {plazo}.\n' +
    'Por favor, regularice su pago para evitar la suspensión del servicio. Si ya pagó, ignore este mensaje.\n\n' +
    '{contacto}\n— {empresa}',
  mantenimiento: '🔧 <b>Aviso de mantenimiento</b>\nHola {nombre}: {mensaje}\n\n— {empresa}',
  oferta: '🎉 Hola {nombre}: {mensaje}\n\n— {empresa}',
  bienvenida:
    '🎉 Bienvenido/a a las notificaciones de {empresa}, {nombre}.\n\n' +
    'Desde ahora recibirá por aquí los recordatorios antes de su fecha de pago, los avisos de ' +
    'pago vencido y los avisos de mantenimiento de su sector.\n\n' +
    'Comandos: /status (estado de su servicio), /preferencias (qué avisos recibir), ' +
    '/contact (cómo comunicarse con nosotros), /baja (dejar de recibir avisos).\n\n{contacto}',
  manual: '{mensaje}',
  pago_recibido:
    '✅ Hola {nombre}, recibimos su pago de <b>{monto}</b> del {fecha_pago}. ¡Gracias!\n' +
    'Su próximo vencimiento es el <b>{fecha_vencimiento}</b>.\n— {empresa}',
  aviso_suspension:
    '⚠️ Hola {nombre}.\n' +
    'El pago de su plan <b>{plan}</b> por <b>{monto}</b> {plazo}. ' +
    'Si no recibimos su pago, su servicio será suspendido el <b>{fecha_suspension}</b>.\n' +
    'Si ya pagó, envíenos el comprobante por aquí.\n\n{como_pagar}\n\n{contacto}\n— {empresa}',
  servicio_suspendido:
    '⛔ Hola {nombre}. Su servicio de internet con {empresa} fue suspendido por falta de pago.\n' +
    'Para reactivarlo, pague <b>{monto}</b> y envíenos el comprobante por aquí.\n\n{como_pagar}\n\n{contacto}',
  servicio_reactivado:
    '✅ Hola {nombre}, su servicio de internet con {empresa} fue reactivado. ¡Gracias!\n' +
    'Su próximo vencimiento es el <b>{fecha_vencimiento}</b>.\n\n{contacto}',
  // Sent by SMS, e-mail (this text is the body) or WhatsApp to a client without Telegram.
  invitacion:
    'Hola {nombre}:\n' +
    'Reciba por Telegram, gratis, sus recordatorios de pago, confirmaciones y avisos de mantenimiento de {empresa}.\n\n' +
    'Abra este enlace personal y toque «Iniciar»; quedará vinculado sin escribir su cédula:\n' +
    '<a href="{enlace}">{enlace}</a>\n\n' +
    'El enlace es solo para usted y sirve una vez.\n\n{contacto}\n— {empresa}',
};

const VARIABLE = /\{([a-z_]+)\}/g;

/**
 * Variables whose absence the wording absorbs: "Hola {nombre}, …" reads "Hola, …", a line holding
 * only {contacto} disappears. Any other variable left empty means the text would carry a hole
 * ("su plan  por …"): `substitute` reports it as missing and compose refuses the message.
 */
export const SOFT_VARIABLES: ReadonlySet<TemplateVariable> = new Set([
  'nombre',
  'contacto',
  'empresa',
  'como_pagar',
]);

export interface Substitution {
  /** The Telegram HTML text. */
  text: string;
  /** Variables the template uses that have no value and no wording to absorb them. */
  missing: TemplateVariable[];
  /** The variables the template uses, in order of appearance (once each). */
  used: TemplateVariable[];
}

/**
 * Fills an HTML template. Values are escaped (except the `raw` ones, already Telegram HTML);
 * unknown variables stay as written (the validator refuses them when saved). An empty soft value
 * takes its glue with it ("Hola {nombre}, gracias" → "Hola, gracias"); an empty hard one is
 * reported in `missing`. Empty tags and blank runs left behind are removed.
 */
export function substitute(
  html: string,
  values: TemplateValues,
  raw: ReadonlySet<TemplateVariable> = new Set(),
): Substitution {
  let out = '';
  let last = 0;
  const missing = new Set<TemplateVariable>();
  const used = new Set<TemplateVariable>();
  for (const m of html.matchAll(VARIABLE)) {
    const name = m[1] as TemplateVariable;
    out += html.slice(last, m.index);
    last = m.index + m[0].length;
    const v = values[name];
    if (v === undefined) {
      out += m[0];
      continue;
    }
    used.add(name);
    if (v.trim() !== '') {
      out += raw.has(name) ? v : escapeHtml(v);
      continue;
    }
    if (!SOFT_VARIABLES.has(name)) missing.add(name);
    const next = html.slice(last);
    if (/^[!.,:;?)]/.test(next)) out = out.replace(/[ \t,]+$/, '');
    else if (/[ \t]$/.test(out) && /^[ \t]/.test(next)) out = out.replace(/[ \t]+$/, '');
  }
  out += html.slice(last);
  const text = out
    .replace(/<(b|strong|i|em|u|ins|s|strike|del|code)>\s*<\/\1>/g, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n') // an empty {contacto} leaves no hole
    .trim();
  return { text, missing: [...missing], used: [...used] };
}

/** Substitutes the variables of an HTML template (see `substitute`); the text only. */
export function renderTemplate(html: string, values: TemplateValues): string {
  return substitute(html, values).text;
}

/** Problems of a template text: unknown variables, markup Telegram would refuse. Empty = fine. */
export function templateProblems(html: string): string[] {
  const problems: string[] = [];
  if (!html.trim()) problems.push('la plantilla está vacía');
  for (const m of html.matchAll(VARIABLE)) {
    if (!(m[1]! in templateVariables)) problems.push(`variable desconocida {${m[1]}}`);
  }
  const markup = htmlProblem(html);
  if (markup) problems.push(markup);
  return [...new Set(problems)];
}

/** Values long enough to show whether a template still fits Telegram's limit with real data. */
export function worstCaseValues(settings: EngineSettings, mensaje = ''): TemplateValues {
  return {
    nombre: 'N'.repeat(120),
    plan: 'P'.repeat(60),
    velocidad: '1000',
    monto: '$99.999,99',
    fecha_vencimiento: '28/02/2026',
    dias: '365',
    plazo: 'venció el 28/02/2026 (hace 365 días)',
    fecha_pago: '28/02/2026',
    empresa: settings.company.nombre,
    contacto: contactLine(settings.company),
    mensaje,
    como_pagar: howToPayText(settings.howToPay),
    fecha_suspension: '28/02/2026',
    enlace: WORST_CASE_LINK,
  };
}

/** The longest invitation link: t.me, a 32-character bot username, a 22-character token. */
export const WORST_CASE_LINK = `https://t.me/${'b'.repeat(32)}?start=${'t'.repeat(22)}`;

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

/** Money and dates have one home: ./format.ts. Re-exported for older callers. */
export { formatDate, formatMoney };

export function contactLine(c: EngineSettings['company']): string {
  const parts = [
    c.telefono && `📞 ${c.telefono}`,
    c.whatsapp && `WhatsApp ${c.whatsapp}`,
    c.email && `✉️ ${c.email}`,
  ].filter(Boolean);
  return parts.length ? `Contacto: ${parts.join(' · ')}` : '';
}

/**
 * What the bot answers to /comopagar and the "💳 Cómo pagar" button: the payment data, or — when
 * the provider has not filled them — an invitation to ask, with the contact line. Plain text.
 */
export function howToPayMessage(s: Pick<EngineSettings, 'howToPay' | 'company'>): string {
  const body = howToPayText(s.howToPay);
  const contact = contactLine(s.company);
  if (!body) {
    return ['💳 Para conocer las formas de pago, comuníquese con nosotros.', contact]
      .filter(Boolean)
      .join('\n\n');
  }
  return ['💳 Formas de pago', body, 'Después de pagar, envíenos la foto del comprobante por aquí.', contact]
    .filter(Boolean)
    .join('\n\n');
}

/** What a notice's text is made of: the client, the cycle, the payment, the free text. */
export interface RenderInput {
  tipo: NotificationType;
  today: string;
  nombre?: string | null;
  plan?: string | null;
  velocidad?: number | null;
  precio?: number | null;
  /** What the client owes (unpaid cycles × plan price: teltec_amount_owed). Payment notices say this. */
  montoAdeudado?: number | null;
  /** Due date of the notice's cycle (payment notices) or the client's current one. */
  vencimiento?: string | null;
  /** datos of the row (pago_recibido: monto, fecha). */
  datos?: Record<string, unknown>;
  mensaje?: string | null;
}

export function templateValues(input: RenderInput, settings: EngineSettings): TemplateValues {
  const datos = input.datos ?? {};
  const due = input.vencimiento ?? null;
  const status = due === null ? null : dueStatus(due, input.today);
  const dias =
    status === null
      ? ''
      : String(input.tipo === 'pago_vencido' ? status.overdueDays : Math.max(0, status.days));
  const paid = typeof datos['monto'] === 'number' ? (datos['monto'] as number) : null;
  return {
    nombre: input.nombre ?? '',
    plan: input.plan ?? '',
    velocidad: input.velocidad === null || input.velocidad === undefined ? '' : String(input.velocidad),
    monto: formatMoney(
      input.tipo === 'pago_recibido' && paid !== null
        ? paid
        : input.montoAdeudado !== undefined
          ? input.montoAdeudado
          : input.precio,
    ),
    fecha_vencimiento: formatDate(due),
    dias,
    plazo: status?.phrase ?? '',
    fecha_pago: formatDate(typeof datos['fecha'] === 'string' ? (datos['fecha'] as string) : null),
    empresa: settings.company.nombre,
    contacto: contactLine(settings.company),
    mensaje: input.mensaje ?? '',
    como_pagar: howToPayText(settings.howToPay),
    fecha_suspension: due === null ? '' : formatDate(addDays(due, settings.suspension.days)),
    enlace: typeof datos['enlace'] === 'string' ? (datos['enlace'] as string) : '',
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
