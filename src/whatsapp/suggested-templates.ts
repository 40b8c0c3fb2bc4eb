/**
 * The Spanish template texts the project suggests to submit to Meta (docs/whatsapp-plantillas.md
 * shows them to staff; the stand-in approves them by default). Body parameters follow the default
 * mapping in templates.ts. Payment notices are UTILITY and carry no promotional word (Meta
 * re-categorises — and charges — a utility template that sells); offers are MARKETING.
 */
export interface SuggestedTemplate {
  name: string;
  language: 'es';
  category: 'UTILITY' | 'MARKETING';
  body: string;
  /** What each {{n}} holds, for the submission form (Meta asks for sample values). */
  examples: string[];
  /**
   * Quick-reply buttons, in this order (payment notices, issue 13 §1): the service fills each
   * button's payload with the notice it belongs to and checks it when the client presses it.
   */
  buttons?: readonly string[];
}

/** The payment notices' quick-reply buttons, in the order the service sends their payloads. */
export const PAYMENT_QUICK_REPLIES = ['Ya pagué', 'Pagaré el…', 'Cómo pagar'] as const;

export const suggestedTemplates: readonly SuggestedTemplate[] = [
  {
    name: 'recordatorio_pago',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, le recordamos que el pago de su servicio de internet por {{2}} vence el {{3}}. ' +
      'Días restantes: {{4}}. Si ya realizó el pago, toque «Ya pagué» y envíenos el comprobante.',
    examples: ['María Pérez', '$25,00', '30/11/2026', '5'],
    buttons: PAYMENT_QUICK_REPLIES,
  },
  {
    name: 'pago_vencido',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, el pago de su servicio de internet por {{2}} venció el {{3}}. Días de atraso: {{4}}. ' +
      'Regularice su pago para evitar la suspensión del servicio. Si ya pagó, toque «Ya pagué» y ' +
      'envíenos el comprobante.',
    examples: ['María Pérez', '$25,00', '30/11/2026', '3'],
    buttons: PAYMENT_QUICK_REPLIES,
  },
  {
    name: 'aviso_suspension',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, el pago de su servicio de internet por {{2}} venció el {{3}}. Si no lo registramos, ' +
      'su servicio será suspendido el {{4}}. Si ya pagó, toque «Ya pagué» y envíenos el comprobante.',
    examples: ['María Pérez', '$25,00', '30/11/2026', '10/12/2026'],
    buttons: PAYMENT_QUICK_REPLIES,
  },
  {
    name: 'servicio_suspendido',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, su servicio de internet con {{2}} fue suspendido por falta de pago. Para ' +
      'reactivarlo, pague {{3}} y envíenos el comprobante por este chat.',
    examples: ['María Pérez', 'TelTec', '$25,00'],
  },
  {
    name: 'servicio_reactivado',
    language: 'es',
    category: 'UTILITY',
    body: 'Hola {{1}}, su servicio de internet con {{2}} fue reactivado. Su próximo vencimiento es el {{3}}. Gracias.',
    examples: ['María Pérez', 'TelTec', '30/12/2026'],
  },
  {
    name: 'pago_recibido',
    language: 'es',
    category: 'UTILITY',
    body: 'Hola {{1}}, registramos su pago de {{2}} del {{3}}. Gracias.',
    examples: ['María Pérez', '$25,00', '28/11/2026'],
  },
  {
    name: 'bienvenida',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, desde ahora recibirá por este medio los avisos de su servicio con {{2}}: ' +
      'recordatorios de pago, confirmaciones de pago y avisos de mantenimiento. Responda ESTADO para ' +
      'consultar su cuenta o BAJA para dejar de recibir avisos.',
    examples: ['María Pérez', 'TelTec'],
  },
  {
    name: 'mantenimiento',
    language: 'es',
    category: 'UTILITY',
    body: 'Hola {{1}}, aviso de mantenimiento de su servicio de internet: {{2}}',
    examples: ['María Pérez', 'el sábado de 02:00 a 04:00 el servicio estará interrumpido en su sector.'],
  },
  {
    name: 'oferta',
    language: 'es',
    category: 'MARKETING',
    body: 'Hola {{1}}, {{2}}\n\nSi no desea recibir promociones, responda BAJA.',
    examples: ['María Pérez', 'este mes duplique su velocidad por el mismo precio.'],
  },
  {
    name: 'invitacion_bot',
    language: 'es',
    category: 'UTILITY',
    body:
      'Hola {{1}}, {{2}} le envía sus avisos de pago y de mantenimiento por Telegram. Para recibirlos, ' +
      'abra su enlace personal y toque Iniciar: {{3}}\n\nEl enlace es solo para usted y sirve una vez.',
    examples: ['María Pérez', 'TelTec', 'https://t.me/TelTecAvisosBot?start=Ab3dE5fG7hJ9kL1mN3pQ5r'],
  },
];

/** Words that make a template promotional: never in a UTILITY one (test/whatsapp checks). */
export const PROMOTIONAL_WORDS = [
  'oferta',
  'promoción',
  'promocion',
  'descuento',
  'gratis',
  'regalo',
  'aprovech',
  'especial',
  'imperdible',
  'exclusiv',
  'compre',
  'contrate',
  'mejore su plan',
  'por tiempo limitado',
  '%',
];
