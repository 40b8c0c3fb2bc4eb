// Every word the admin page shows for a value of the API (states, types, reasons, jobs, modes):
// ONE home. Pages never spell a label themselves; they look it up here. One concept, one label:
// a client who blocked the bot reads "Bloqueó el bot" whether the value is a notification's
// motivo (`blocked`) or a client's reachability (`bloqueado`).
//
// When the API serves the vocabulary, `loadLabels()` replaces these tables with its answer (one
// edit here, no page changes).

const BLOCKED = 'Bloqueó el bot';
const NO_TELEGRAM = 'Sin Telegram';
const UNREACHABLE = 'Telegram no llega';

export const LABELS = {
  estado_pago: { sin_fecha: 'Sin fecha', al_dia: 'Al día', por_vencer: 'Por vencer', vencido: 'Vencido' },
  estado: { activo: 'Activo', suspendido: 'Suspendido', retirado: 'Retirado' },
  notif_estado: { pendiente: 'Pendiente', enviado: 'Enviado', fallido: 'Fallido', cancelado: 'Cancelado' },
  tipo: {
    recordatorio_pago: 'Recordatorio de pago',
    pago_vencido: 'Pago vencido',
    mantenimiento: 'Mantenimiento',
    oferta: 'Oferta',
    bienvenida: 'Bienvenida',
    manual: 'Manual',
    pago_recibido: 'Pago recibido',
  },
  campana_estado: { en_curso: 'En curso', completada: 'Completada', cancelada: 'Cancelada' },
  /** Why a notification failed or was cancelled (the `motivo` of a notification). */
  motivo: {
    sin_telegram: NO_TELEGRAM,
    blocked: BLOCKED,
    deactivated: 'Cuenta de Telegram eliminada',
    chat_not_found: 'Chat no encontrado',
    rejected: 'Telegram rechazó el mensaje',
    reintentos_agotados: 'Reintentos agotados (Telegram no respondía)',
    mensaje_invalido: 'Mensaje inválido',
    mensaje_vacio: 'Mensaje vacío',
    mensaje_demasiado_largo: 'Mensaje demasiado largo',
    preferencia: 'El cliente no quiere este tipo de aviso',
    pago_recibido: 'Llegó el pago',
    reemplazada: 'Reemplazada por un aviso más reciente',
    campana_cancelada: 'Campaña cancelada',
    cancelada_por_usuario: 'Cancelada por el personal',
    ya_no_aplica: 'Ya no aplicaba',
  },
  /** Why Telegram cannot reach a client (the call list). Same words as the matching `motivo`. */
  alcance: { sin_telegram: NO_TELEGRAM, bloqueado: BLOCKED, inalcanzable: UNREACHABLE },
  /** A client's Telegram link, as one badge. */
  telegram: {
    sin_vincular: 'Sin vincular',
    bloqueado: BLOCKED,
    inalcanzable: UNREACHABLE,
    vinculado: 'Vinculado',
    verificado: 'Vinculado ✓',
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
  modo_telegram: {
    sandbox: 'Sandbox: Telegram simulado dentro del servicio',
    webhook: 'Webhook (Telegram llama al servicio)',
    long_polling: 'Long polling (el servicio consulta a Telegram)',
    sin_bot: 'Sin bot (falta TELEGRAM_BOT_TOKEN)',
  },
};

/** The label of `value` in `group`, or the value itself (never undefined). */
export function label(group, value) {
  if (value === null || value === undefined || value === '') return '—';
  return LABELS[group]?.[value] ?? String(value).replaceAll('_', ' ');
}

/** [value, label] pairs of a group, for a <select>. */
export function options(group) {
  return Object.entries(LABELS[group] ?? {});
}
