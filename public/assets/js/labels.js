import { api } from './api.js';

// Every word the admin page shows for a value of the API: ONE home on the page. The domain's
// groups (states, types, reasons: estado, estado_pago, tipo, notif_estado, motivo,
// motivo_inalcanzable, campana_estado, …) come from the service's one vocabulary
// (`GET /api/vocabulario`, src/vocabulary.ts), loaded once after signing in; the few groups below
// exist only on this page. Pages never spell a label themselves: they call `label()` / `options()`.

export const LABELS = {
  /** A client's Telegram link, as one badge (same words as the vocabulary's reasons once loaded). */
  telegram: {
    sin_vincular: 'Sin vincular',
    bloqueado: 'Bloqueó el bot',
    inalcanzable: 'Telegram no llega',
    vinculado: 'Vinculado',
    pendiente_de_verificar: 'Pendiente de verificar',
    verificado: 'Vinculado ✓',
  },
  // Channels and consents (issues 10, 11): the service's vocabulary replaces these when it has them.
  canal: { telegram: 'Telegram', whatsapp: 'WhatsApp', sms: 'SMS', email: 'Correo' },
  consentimiento_categoria: { servicio: 'Avisos de servicio', marketing: 'Ofertas (marketing)' },
  consentimiento_fuente: {
    contrato: 'Contrato firmado',
    presencial: 'En persona (oficina)',
    formulario: 'Formulario',
    llamada: 'Llamada telefónica',
    telegram: 'El cliente en Telegram',
    whatsapp: 'El cliente por WhatsApp',
    sms: 'El cliente por SMS',
    email: 'El cliente por correo',
  },
  /** An attempt on a channel, as WhatsApp shows it: ✓ sent, ✓✓ delivered, read. */
  envio_estado: {
    pendiente: '… pendiente',
    enviado: '✓ enviado',
    entregado: '✓✓ entregado',
    leido: '✓✓ leído',
    fallido: '✗ fallido',
  },
  /** Who a campaign left out. */
  excluidos: {
    sin_telegram: 'sin Telegram',
    bloqueados: 'bloquearon el bot',
    por_preferencia: 'no quieren este tipo',
  },
  /** Scheduled jobs shown to staff (internal housekeeping is not listed). */
  tarea: {
    generacion_diaria: 'Avisos de pago del día',
    limpieza_idempotencia: 'Limpieza interna',
  },
  /** How hard a kind of notice tries (Ajustes → Canales de respaldo). */
  regla_respaldo: {
    must_deliver: 'Obligatorio: todos los canales',
    one_fallback: 'Un canal de respaldo',
    no_fallback: 'Sin respaldo',
  },
  modo_telegram: {
    sandbox: 'Sandbox: Telegram simulado dentro del servicio',
    webhook: 'Webhook (Telegram llama al servicio)',
    long_polling: 'Long polling (el servicio consulta a Telegram)',
    sin_bot: 'Sin bot (falta TELEGRAM_BOT_TOKEN)',
  },
};

let loading = null;

/**
 * Loads the service's vocabulary into LABELS (once per page; again after a failure). Pages render
 * after it, so every label they show is the service's.
 */
export function loadLabels() {
  loading ??= api('/api/vocabulario')
    .then((groups) => {
      for (const [group, labels] of Object.entries(groups)) LABELS[group] = { ...labels };
      const r = LABELS.motivo_inalcanzable;
      if (r) Object.assign(LABELS.telegram, { bloqueado: r.bloqueado, inalcanzable: r.inalcanzable });
    })
    .catch((err) => {
      loading = null;
      throw err;
    });
  return loading;
}

/** The label of `value` in `group`, or the value itself (never undefined). */
export function label(group, value) {
  if (value === null || value === undefined || value === '') return '—';
  return LABELS[group]?.[value] ?? String(value).replaceAll('_', ' ');
}

/** [value, label] pairs of a group, for a <select>. */
export function options(group) {
  return Object.entries(LABELS[group] ?? {});
}
