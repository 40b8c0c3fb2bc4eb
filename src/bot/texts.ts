/**
 * Every text the bot shows, in one place (Spanish, Ecuador). Plain text: replies are sent
 * without parse_mode, so no value needs escaping. Before a chat is linked, no text here receives
 * a client's data: only what the person typed themselves.
 */

import { normalizePhone } from '../clients/index.js';
import type { Config } from '../config.js';
import { formatDate, formatDays, formatMoney, plural } from '../notifications/format.js';

export type Company = Config['company'];

/** Commands shown in Telegram's menu (setMyCommands). Spanish aliases are accepted too. */
export const commandMenu = [
  { command: 'start', description: 'Vincular este chat con su cuenta de TelTec' },
  { command: 'status', description: 'Estado de su servicio y de su pago' },
  { command: 'preferencias', description: 'Elegir qué avisos recibir' },
  { command: 'comopagar', description: 'Cuentas bancarias y lugares de pago' },
  { command: 'contact', description: 'Teléfono, WhatsApp, correo y horario de atención' },
  { command: 'misdatos', description: 'Qué datos suyos tenemos y sus consentimientos' },
  { command: 'help', description: 'Ayuda' },
  { command: 'baja', description: 'Dejar de recibir avisos en este chat' },
] as const;

export const buttons = {
  shareContact: '📱 Compartir mi número',
  cancel: 'Cancelar',
  bajaYes: 'Sí, dejar de recibir avisos',
  bajaNo: 'No, seguir recibiendo avisos',
  prefOn: (what: string) => `🔔 Activar ${what}`,
  prefOff: (what: string) => `🔕 Desactivar ${what}`,
  whatsappYes: '💬 Sí, acepto avisos por WhatsApp',
  whatsappNo: '🔕 No recibir avisos por WhatsApp',
  preferWhatsApp: '📲 Prefiero recibirlos por WhatsApp',
  preferTelegram: '✈️ Prefiero recibirlos por Telegram',
};

/** The line of /preferencias that says where notices go (issue 10 §8). */
export const preferredChannelLine = (canal: 'telegram' | 'whatsapp') =>
  `\n\nSus avisos llegan por: ${canal === 'whatsapp' ? 'WhatsApp' : 'Telegram'}.`;

/** The answer to a change of preferred channel. */
export const preferredChannelChanged = (canal: 'telegram' | 'whatsapp') =>
  `Listo: sus avisos llegarán por ${canal === 'whatsapp' ? 'WhatsApp' : 'Telegram'}.`;

const prefNames = { ofertas: 'ofertas', mantenimiento: 'avisos de mantenimiento' } as const;
export type PreferenceKey = keyof typeof prefNames;

// Money, dates and plurals have one home (es-EC): the same forms as the notices.
export { formatDate, formatMoney };

/** The company's contact lines, leaving out what is not configured. */
export function contactLines(c: Company): string[] {
  const lines: string[] = [];
  if (c.telefono) lines.push(`📞 Teléfono: ${c.telefono}`);
  if (c.whatsapp) {
    const wa = normalizePhone(c.whatsapp);
    lines.push(`💬 WhatsApp: ${c.whatsapp}${wa ? ` (https://wa.me/${wa})` : ''}`);
  }
  if (c.email) lines.push(`✉️ Correo: ${c.email}`);
  if (c.horario) lines.push(`🕘 Horario: ${c.horario}`);
  if (c.direccion) lines.push(`📍 Oficina: ${c.direccion}`);
  return lines;
}

/** "comuníquese con TelTec (0999…)" with the first way to reach the office that is configured. */
function reachUs(c: Company): string {
  const via = c.telefono || c.whatsapp || c.email;
  return via ? `comuníquese con ${c.nombre} (${via})` : `comuníquese con ${c.nombre}`;
}

function reachUsShort(c: Company): string {
  return c.telefono || c.whatsapp || c.email || c.nombre;
}

export function createTexts(company: Company) {
  const empresa = company.nombre;
  return {
    // --- registration
    askCedula:
      `👋 ¡Hola! Soy el asistente de ${empresa}.\n\n` +
      'Para recibir aquí sus recordatorios de pago y avisos, escriba su número de cédula (10 dígitos).',
    askCedulaAgain: 'Escriba su número de cédula (10 dígitos) para vincular este chat.',
    alreadyLinkedAskOther: (nombre: string) =>
      `Este chat ya está vinculado a la cuenta de ${nombre}. Use /status para ver su servicio.\n\n` +
      'Si quiere vincular otra cédula en su lugar, escríbala ahora.',
    cedulaInvalid: (reason: string) => `❌ ${reason}\n\nEscriba la cédula otra vez, solo los 10 dígitos.`,
    lookupsBusy:
      '⏳ En este momento estamos recibiendo muchas consultas. Por favor, intente más tarde' +
      `, o ${reachUs(company)}.`,
    askContact:
      '🔒 Por seguridad, confirme que es usted: toque el botón «📱 Compartir mi número» de abajo.\n\n' +
      `Su número de Telegram debe ser el mismo que tiene registrado en ${empresa}.`,
    contactNotOwn:
      'Ese contacto no es el suyo. Toque el botón «📱 Compartir mi número» para enviar su propio número.',
    // Also the answer for a cédula that matched nobody: a stranger cannot tell the two apart.
    contactMismatch: (left: number) =>
      `El número de este Telegram no coincide con el que tenemos registrado para esa cédula` +
      (left > 0 ? ` (le quedan ${plural(left, 'intento', 'intentos')} en esta hora).` : '.') +
      `\n\nSi la cédula es correcta y cambió de número, ${reachUs(company)} para actualizarlo.`,
    useTheButton:
      'Para continuar toque el botón «📱 Compartir mi número» (no hace falta escribirlo), ' +
      'o «Cancelar» para empezar de nuevo.',
    contactUnexpected: 'Gracias, pero no necesito su contacto ahora. Envíe /start para vincular este chat.',
    cancelled: 'Listo, cancelado. Envíe /start cuando quiera vincular este chat.',
    linkedElsewhereNoPhone:
      'Esa cédula ya está vinculada a otro chat de Telegram y no tenemos un número registrado ' +
      `para confirmar que es usted. Para cambiarla, ${reachUs(company)}.`,
    alreadyLinkedSame: 'Este chat ya está vinculado a esa cédula. Use /status para ver su servicio.',
    // The welcome notice that follows lists the commands: this reply does not repeat them.
    linked: (nombre: string, verified: boolean) =>
      `✅ ¡Listo, ${nombre}! Este chat quedó vinculado a su cuenta de ${empresa}.` +
      (verified
        ? ''
        : '\n\n🔒 Por seguridad, hasta confirmar que este chat es suyo no mostraremos aquí montos ni fechas. ' +
          `Para verlos, registre su número de celular en nuestra oficina o pida una invitación (${reachUsShort(company)}).`),
    linkedReplacedOther: 'Este chat dejó de recibir los avisos de la cuenta que tenía vinculada antes.',
    movedAway:
      `⚠️ Su cuenta de ${empresa} se vinculó a otro chat de Telegram: desde ahora los avisos ` +
      `llegarán allí y no a este chat.\n\nSi no fue usted, ${reachUs(company)} de inmediato.`,
    tooManyAttempts: (minutes: number) =>
      '⏳ Por seguridad, alcanzó el máximo de 5 intentos en una hora. ' +
      `Inténtelo de nuevo en ${plural(minutes, 'minuto', 'minutos')}` +
      `, o ${reachUs(company)}.`,

    // --- invitations
    invitationInvalid: 'Este enlace de invitación no es válido.',
    invitationUsed: 'Este enlace de invitación ya fue usado.',
    invitationExpired: 'Este enlace de invitación ya venció.',
    invitationRevoked: 'Este enlace de invitación fue anulado.',

    // --- self-service
    /** /status for a link nobody verified yet: no plan, no dates, no amounts. */
    statusUnverified:
      '🔒 Este chat todavía no está verificado, así que por seguridad no mostramos aquí los datos de su cuenta.\n\n' +
      `Si tiene un pago pendiente, escríbanos o verifique su número: ${reachUs(company)} ` +
      'y pida que confirmen este chat o que le envíen una invitación.',
    myDataUnverified:
      '🔒 Este chat todavía no está verificado, así que por seguridad no mostramos aquí sus datos.\n\n' +
      `Para verlos, ${reachUs(company)} y pida que confirmen este chat o que le envíen una invitación.`,
    notLinked:
      'Este chat todavía no está vinculado a una cuenta. Envíe /start para vincularlo con su cédula.',
    help:
      `ℹ️ Asistente de ${empresa}\n\n` +
      '/start – vincular este chat con su cédula\n' +
      '/status – estado de su servicio y de su pago\n' +
      '/preferencias – elegir si recibe ofertas y avisos de mantenimiento\n' +
      '/comopagar – cuentas bancarias y lugares de pago\n' +
      '/contact – teléfono, WhatsApp, correo y horario\n' +
      '/misdatos – qué datos suyos tenemos y qué autorizó\n' +
      '/baja – dejar de recibir avisos en este chat\n\n' +
      'Los recordatorios de pago llegan solos: no necesita escribir nada. ' +
      'Si nos escribe un mensaje, lo recibe nuestro personal.',
    contact: () => {
      const lines = contactLines(company);
      return `📇 ${empresa}\n\n` + (lines.length ? lines.join('\n') : 'Visítenos en nuestra oficina.');
    },
    hint: 'No entendí ese mensaje. Use /status, /preferencias, /contact o /help.',
    /** Free text reached the staff inbox (issue 13 §8). `horario` comes from Ajustes. */
    messageReceived: (horario: string, linked: boolean) =>
      `📨 Recibimos su mensaje: lo leerá nuestro personal y le responderemos por este chat.` +
      (horario ? `\nHorario de atención: ${horario}.` : '') +
      (linked ? '' : '\n\nPara recibir sus avisos de pago aquí, envíe /start y luego su número de cédula.'),
    hintNotLinked: 'Para empezar, envíe /start y luego su número de cédula.',
    unknownButton: 'Esta opción ya no está disponible.',

    // --- payment loop (issue 13): buttons of payment notices, receipts, promises
    paymentButtonInvalid: 'Este botón no es válido para esta cuenta.',
    paymentButtonUnverified:
      '🔒 Para usar estos botones, este chat debe estar verificado: pida que lo confirmen o que le envíen una invitación.',
    askReceipt:
      '🧾 Envíe aquí una foto o un PDF del comprobante de su pago (transferencia o depósito).\n\n' +
      'Escriba «cancelar» si no lo tiene a mano.',
    receiptThanks: (dias: number) =>
      '✅ ¡Gracias! Recibimos su comprobante. Lo revisaremos y le confirmaremos por aquí.\n\n' +
      `Mientras lo revisamos no le enviaremos recordatorios de pago (hasta ${plural(dias, 'día', 'días')}).`,
    receiptRepeated: (fecha: string, estado: string) =>
      `Este comprobante ya lo recibimos el ${fecha} (${estado}). No hace falta enviarlo otra vez.`,
    receiptTooBig: (mb: string) =>
      `❌ El archivo pesa ${mb} MB y el máximo es 10 MB. Envíe una foto o un PDF más liviano.`,
    receiptWrongType: '❌ Solo aceptamos fotos (JPG, PNG o WebP) o archivos PDF del comprobante.',
    receiptDownloadFailed: 'No pudimos recibir el archivo. Por favor, envíelo otra vez en unos minutos.',
    receiptNotExpected:
      'Si es un comprobante de pago, toque «✅ Ya pagué» en su aviso de pago y luego envíelo.',
    alreadyPaid: '✅ Su pago de ese período ya está registrado. ¡Gracias!',
    promiseAsk: (vence: string) => `📅 ¿Qué día va a pagar? Su pago vence el ${vence}. Elija una fecha:`,
    promiseTooLate: `El plazo para acordar una fecha de pago ya pasó. Por favor, ${reachUs(company)}.`,
    promiseAlready: (fecha: string) =>
      `Ya nos indicó que pagará el ${fecha}. Solo se puede acordar una fecha por período.`,
    promiseInvalidDate: 'Esa fecha ya no está disponible. Toque «📅 Pagaré el…» otra vez.',
    promiseSaved: (fecha: string) =>
      `👍 Anotado: esperamos su pago hasta el ${fecha}. Hasta entonces no le enviaremos recordatorios.\n\n` +
      'Cuando pague, toque «✅ Ya pagué» y envíenos el comprobante.',
    preferences: (p: { ofertas: boolean; mantenimiento: boolean }) =>
      '⚙️ Sus avisos\n\n' +
      `• Ofertas y promociones: ${p.ofertas ? '✅ sí' : '🔕 no'}\n` +
      `• Avisos de mantenimiento: ${p.mantenimiento ? '✅ sí' : '🔕 no'}\n` +
      '• Avisos de pago: siempre activos\n\n' +
      'Toque un botón para cambiar.',
    /** The WhatsApp line of /preferencias: the opt-in question, or how to undo it. */
    preferencesWhatsApp: (numero: string, consent: boolean) =>
      consent
        ? `\n\n💬 WhatsApp al ${numero}: ✅ sí, también recibe sus avisos allí.`
        : `\n\n💬 ¿Desea recibir sus avisos también por WhatsApp al número ${numero}?`,
    whatsappChanged: (on: boolean) =>
      on ? 'Avisos por WhatsApp activados' : 'Avisos por WhatsApp desactivados',
    preferenceButton: (key: PreferenceKey, on: boolean) =>
      on ? buttons.prefOff(prefNames[key]) : buttons.prefOn(prefNames[key]),
    preferenceChanged: (key: PreferenceKey, on: boolean) =>
      key === 'ofertas'
        ? `Ofertas ${on ? 'activadas' : 'desactivadas'}`
        : `Avisos de mantenimiento ${on ? 'activados' : 'desactivados'}`,
    bajaConfirm:
      `¿Quiere dejar de recibir los avisos de ${empresa} en este chat?\n\n` +
      'Dejará de recibir también los recordatorios de pago.',
    bajaDone:
      'Listo: este chat ya no está vinculado y no recibirá más avisos. ' +
      'Si cambia de opinión, envíe /start.',
    bajaKept: 'Perfecto, seguirá recibiendo sus avisos.',
    bajaDoneShort: 'Chat desvinculado',

    // --- groups
    privateOnly: (username: string) =>
      `Por privacidad solo atiendo en chats privados. Escríbame directamente: https://t.me/${username}`,
    privateOnlyShort: 'Solo atiendo en chats privados.',
  };
}

export type Texts = ReturnType<typeof createTexts>;

/**
 * Texts that follow the company data in effect (Ajustes, no restart): rebuilt when `company()`
 * returns another object, read through on every property access.
 */
export function liveTexts(company: () => Company): Texts {
  let last: Company | undefined;
  let current: Texts | undefined;
  const now = (): Texts => {
    const c = company();
    if (c !== last || !current) {
      last = c;
      current = createTexts(c);
    }
    return current;
  };
  return new Proxy({} as Texts, {
    get: (_, key) => now()[key as keyof Texts],
    has: (_, key) => key in now(),
    ownKeys: () => Reflect.ownKeys(now()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(now(), key),
  });
}

export interface StatusFacts {
  nombre: string;
  plan: string | null;
  precio: number | null;
  estado: 'activo' | 'suspendido' | 'retirado';
  fechaUltimoPago: string | null;
  fechaVencimiento: string | null;
  estadoPago: 'sin_fecha' | 'al_dia' | 'por_vencer' | 'vencido';
  /** Days from today to the due date (negative = overdue). Null without a due date. */
  diasRestantes: number | null;
  montoPendiente: number | null;
}

const serviceStates = { activo: '🟢 activo', suspendido: '🔴 suspendido', retirado: '⚪ retirado' };

/** The /status answer. Only ever built for the client linked to the asking chat. */
export function statusText(s: StatusFacts, company: Company): string {
  const lines = [`📋 Estado de su servicio – ${s.nombre}`, ''];
  if (s.plan) lines.push(`Plan: ${s.plan}${s.precio !== null ? ` (${formatMoney(s.precio)} al mes)` : ''}`);
  lines.push(`Servicio: ${serviceStates[s.estado]}`);
  lines.push(`Último pago: ${s.fechaUltimoPago ? formatDate(s.fechaUltimoPago) : 'sin registro'}`);
  if (s.fechaVencimiento && s.diasRestantes !== null) {
    lines.push(`Próximo vencimiento: ${formatDate(s.fechaVencimiento)}`);
    const d = s.diasRestantes;
    if (s.estadoPago === 'vencido') {
      lines.push(d === 0 ? '⚠️ Su pago vence hoy.' : `⚠️ Pago vencido hace ${formatDays(-d)}.`);
    } else if (s.estadoPago === 'por_vencer') {
      lines.push(d === 1 ? '⏰ Su pago vence mañana.' : `⏰ Su pago vence en ${formatDays(d)}.`);
    } else {
      lines.push(`✅ Al día: ${d === 1 ? 'falta' : 'faltan'} ${formatDays(d)} para su próximo pago.`);
    }
    if (s.montoPendiente !== null) {
      lines.push(
        s.estadoPago === 'al_dia'
          ? `Valor a pagar: ${formatMoney(0)} (próximo pago: ${formatMoney(s.montoPendiente)})`
          : `Valor a pagar: ${formatMoney(s.montoPendiente)}`,
      );
    }
  } else {
    lines.push(`No tenemos registrado su último pago: ${reachUs(company)}.`);
  }
  return lines.join('\n');
}
