import type { ChannelFailure, ChannelVerdict } from '../channels/types.js';

/**
 * The one classifier of failed WhatsApp Cloud API sends — the synchronous answer of
 * `POST /messages` and the `errors` of a `failed` status webhook alike. Pure, and by error CODE
 * only: Meta rewords its messages, never its codes. Reasons are Spanish (staff read them in the
 * notice and in alerts); each carries the code so support can look it up.
 *
 * Codes: https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
 */

/** A number that does not receive WhatsApp is marked unreachable this long (issue 10 §5). */
export const UNREACHABLE_DAYS = 30;
/** Meta's pair rate: one message to the same user every 6 s. */
export const PAIR_INTERVAL_MS = 6000;
/**
 * What the pacer keeps between two messages to one client: Meta's 6 s plus a margin, because Meta
 * measures arrivals and one request may travel slower than the next (a 131056 costs a retry).
 */
export const PAIR_PACING_MS = 6500;
/** Channel-wide pause after a throughput error without Retry-After. */
export const THROUGHPUT_PAUSE_MS = 2000;

type Rule = (f: ChannelFailure) => ChannelVerdict;

/** Every code we know, with what staff read (Spanish) and how it is handled. */
type Kind =
  | 'pause'
  | 'pair'
  | 'retry'
  | 'stop'
  | 'unreachable'
  | 'optout'
  | 'template'
  | 'plantilla_invalida'
  | 'plantilla_no_aprobada';
const CODES: Record<string, [Kind, string]> = {
  // Throughput: the whole channel waits (a storm must not burn attempts).
  '130429': ['pause', 'WhatsApp limitó la velocidad de envío del número'],
  '80007': ['pause', 'WhatsApp limitó la velocidad de la cuenta de WhatsApp Business'],
  '4': ['pause', 'Meta limitó las llamadas de la aplicación'],
  // Pair rate: this recipient only, not before 6 s (the engine's backoff makes it grow).
  '131056': ['pair', 'Demasiados mensajes seguidos al mismo cliente'],
  // Transient on Meta's side.
  '131000': ['retry', 'Error desconocido en WhatsApp'],
  '133004': ['retry', 'El servidor de WhatsApp no está disponible temporalmente'],
  '134101': ['retry', 'WhatsApp no pudo procesar el envío por ahora'],
  '1': ['retry', 'Error temporal de la API de Meta'],
  '2': ['retry', 'La API de Meta no está disponible temporalmente'],
  // The account, its payment or its token: nothing can go out until a person fixes it.
  '131048': ['stop', 'WhatsApp limitó el número (reportes de spam o límite de clientes del nivel)'],
  '131042': ['stop', 'Hay un problema con el método de pago de la cuenta de WhatsApp Business'],
  '131031': ['stop', 'La cuenta de WhatsApp Business está bloqueada'],
  '368': ['stop', 'Meta bloqueó temporalmente la cuenta por infringir sus políticas'],
  '190': ['stop', 'El token de WhatsApp venció o no es válido'],
  '0': ['stop', 'Meta no aceptó la autenticación del token de WhatsApp'],
  '3': ['stop', 'La aplicación de Meta no tiene permiso para esta función'],
  '10': ['stop', 'El token de WhatsApp no tiene el permiso necesario'],
  '131005': ['stop', 'El token de WhatsApp no tiene acceso a este número'],
  '133010': ['stop', 'El número de WhatsApp no está registrado en la Cloud API'],
  // The recipient cannot get WhatsApp messages from us.
  '131026': ['unreachable', 'El número no recibe mensajes de WhatsApp'],
  '130472': ['unreachable', 'Meta excluyó el número de los mensajes de empresas (experimento)'],
  '131049': ['unreachable', 'Meta no entregó el mensaje para cuidar la experiencia del usuario'],
  // The client stopped marketing messages from businesses.
  '131050': ['optout', 'El cliente dejó de recibir mensajes de marketing'],
  // Outside the 24 h service window: free text is not allowed, a template is.
  '131047': ['template', 'El cliente no escribió en las últimas 24 horas: hace falta una plantilla'],
  '470': ['template', 'Fuera de la ventana de 24 horas: hace falta una plantilla'],
  // Our template or our parameters are wrong: staff must fix them; retrying sends the same thing.
  '132000': ['plantilla_invalida', 'La cantidad de parámetros no coincide con la plantilla aprobada'],
  '132001': ['plantilla_no_aprobada', 'La plantilla no existe en ese idioma o aún no está aprobada'],
  '132005': ['plantilla_invalida', 'El texto de la plantilla con sus valores es demasiado largo'],
  '132007': ['plantilla_no_aprobada', 'El contenido de la plantilla infringe las políticas de WhatsApp'],
  '132012': ['plantilla_invalida', 'Un parámetro de la plantilla tiene un formato no válido'],
  '132015': ['plantilla_no_aprobada', 'La plantilla está pausada por baja calidad'],
  '132016': ['plantilla_no_aprobada', 'La plantilla está desactivada por baja calidad'],
  '100': ['plantilla_invalida', 'WhatsApp rechazó un parámetro del envío'],
  '131008': ['plantilla_invalida', 'Falta un parámetro obligatorio del envío'],
  '131009': ['plantilla_invalida', 'Un parámetro del envío no es válido'],
};

/** What staff read for a WhatsApp error code (Spanish, with the code), e.g. in `ultimo_error`. */
export function whatsappErrorText(code: string): string {
  const known = CODES[code]?.[1];
  if (known) return `${known} (${code})`;
  if (isPermissionCode(code)) return `El token de WhatsApp no tiene el permiso necesario (${code})`;
  if (code === 'network' || code === 'timeout') return `No se pudo conectar con WhatsApp (${code})`;
  return `WhatsApp rechazó el mensaje (${code})`;
}

function rule(kind: Kind): Rule {
  return (f) => {
    const text = whatsappErrorText(f.code);
    switch (kind) {
      case 'pause':
        return {
          action: 'pause',
          waitMs: Math.max(THROUGHPUT_PAUSE_MS, f.retryAfterMs ?? 0),
          reason: `${text}; el canal espera y reintenta`,
        };
      case 'pair':
        return {
          action: 'retry',
          reason: `${text}; se reintentará`,
          minDelayMs: Math.max(PAIR_INTERVAL_MS, f.retryAfterMs ?? 0),
        };
      case 'retry':
        return { action: 'retry', reason: `${text}; se reintentará` };
      case 'stop':
        return { action: 'stop', reason: `${text}. Los envíos por WhatsApp quedan detenidos.` };
      case 'unreachable':
        return {
          action: 'fail',
          reason: 'whatsapp_inalcanzable',
          unreachable: { reason: text, days: UNREACHABLE_DAYS },
        };
      case 'optout':
        return { action: 'fail', reason: 'baja_marketing', optOut: 'marketing' };
      case 'template':
        return { action: 'template', reason: `${text}; se envía la plantilla` };
      case 'plantilla_invalida':
      case 'plantilla_no_aprobada':
        return { action: 'fail', reason: kind };
    }
  };
}

/** The table: code → verdict. Codes not listed fall to `classifyWhatsAppFailure`'s defaults. */
export const WHATSAPP_RULES: Readonly<Record<string, Rule>> = Object.fromEntries(
  Object.entries(CODES).map(([code, [kind]]) => [code, rule(kind)]),
);

/** Graph codes 200–299 are permission errors, like 10. */
function isPermissionCode(code: string): boolean {
  const n = Number(code);
  return Number.isInteger(n) && n >= 200 && n <= 299;
}

/** The one classifier: same failure, same verdict. */
export function classifyWhatsAppFailure(f: ChannelFailure): ChannelVerdict {
  if (f.network) return { action: 'retry', reason: `${whatsappErrorText(f.code)}; se reintentará` };
  const known = WHATSAPP_RULES[f.code];
  if (known) return known(f);
  if (isPermissionCode(f.code)) return rule('stop')(f);
  const status = f.httpStatus ?? 0;
  if (status === 401) return rule('stop')(f);
  if (status === 429) return rule('pause')(f);
  if (status >= 500 || status === 408) return rule('retry')(f);
  return { action: 'fail', reason: 'rechazado' };
}
