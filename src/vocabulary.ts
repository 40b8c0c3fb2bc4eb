/**
 * The one vocabulary of the domain: every enumerated value stored or shown, with the Spanish
 * label staff read. The SQL CHECK constraints must list the same values (test/vocabulary.test.ts
 * reads the catalog on both databases); the admin page takes its labels from
 * `GET /api/vocabulario`, so a value has one label everywhere.
 *
 * This module imports nothing: every layer may use it.
 */

/** A closed set of values, in display order, each with its Spanish label. */
function vocabulary<const T extends Record<string, string>>(labels: T) {
  const values = Object.keys(labels) as (keyof T & string)[];
  return {
    values: values as [keyof T & string, ...(keyof T & string)[]],
    labels: labels as Readonly<T>,
    label: (v: string): string => (labels as Record<string, string>)[v] ?? v,
  };
}

/** `clients.estado`: the contract state. */
export const clientStates = vocabulary({
  activo: 'Activo',
  suspendido: 'Suspendido',
  retirado: 'Retirado',
});

/** The payment state of a client, computed by `teltec_payment_state()` against today. */
export const paymentStates = vocabulary({
  sin_fecha: 'Sin fecha',
  al_dia: 'Al día',
  por_vencer: 'Por vencer',
  vencido: 'Vencido',
});

/** `notifications.tipo` and `templates.tipo`: every kind of notice (the seed's names). */
export const notificationTypes = vocabulary({
  recordatorio_pago: 'Recordatorio de pago',
  pago_vencido: 'Pago vencido',
  mantenimiento: 'Mantenimiento',
  oferta: 'Oferta',
  bienvenida: 'Bienvenida',
  manual: 'Manual',
  pago_recibido: 'Pago recibido',
  aviso_suspension: 'Aviso de suspensión',
  servicio_suspendido: 'Servicio suspendido',
  servicio_reactivado: 'Servicio reactivado',
  invitacion: 'Invitación al bot',
});

/** `notifications.estado`: where a notice is in the outbox. */
export const notificationStates = vocabulary({
  pendiente: 'Pendiente',
  enviado: 'Enviado',
  entregado: 'Entregado',
  leido: 'Leído',
  fallido: 'Fallido',
  cancelado: 'Cancelado',
});

/** The channels a notice can go by (`notifications.canal`, `clients.canal_preferido`…). */
export const channelNames = vocabulary({
  telegram: 'Telegram',
  whatsapp: 'WhatsApp',
  sms: 'SMS',
  email: 'Correo electrónico',
});

/**
 * `notification_envios.estado`: one attempt of a notice on a channel. Forward only:
 * pendiente → enviado (the provider accepted it) → entregado → leido; fallido.
 */
export const envioStates = vocabulary({
  pendiente: 'Pendiente',
  enviado: 'Enviado',
  entregado: 'Entregado',
  leido: 'Leído',
  fallido: 'Fallido',
});

/** `consents.categoria`: what a client agreed to receive on a channel. */
export const consentCategories = vocabulary({
  servicio: 'Avisos del servicio',
  marketing: 'Ofertas y promociones',
});

/** `consents.fuente`: where a consent (or its withdrawal) came from. */
export const consentSources = vocabulary({
  contrato: 'Contrato',
  presencial: 'En persona',
  formulario: 'Formulario',
  llamada: 'Llamada telefónica',
  telegram: 'Respuesta por Telegram',
  whatsapp: 'Respuesta por WhatsApp',
  sms: 'Respuesta por SMS',
  email: 'Respuesta por correo',
  proveedor: 'Informado por el proveedor del canal',
  importacion: 'Importación de clientes',
});

/** `notifications.motivo`: why a notice failed or was cancelled without being sent. */
export const notificationReasons = vocabulary({
  sin_telegram: 'Sin Telegram',
  blocked: 'Bloqueó el bot',
  deactivated: 'Cuenta de Telegram eliminada',
  chat_not_found: 'Chat no encontrado',
  rejected: 'Telegram rechazó el mensaje',
  reintentos_agotados: 'Reintentos agotados (Telegram no respondía)',
  mensaje_invalido: 'Mensaje inválido',
  mensaje_vacio: 'Mensaje vacío',
  mensaje_demasiado_largo: 'Mensaje demasiado largo',
  datos_incompletos: 'Faltan datos del cliente (plan, vencimiento…)',
  pago_recibido: 'Cancelada: llegó el pago',
  reemplazada: 'Cancelada: reemplazada por un aviso más reciente',
  campana_cancelada: 'Cancelada con su campaña',
  cancelada_por_usuario: 'Cancelada por el personal',
  ya_no_aplica: 'Cancelada: ya no aplicaba',
  pago_anulado: 'Cancelada: el pago fue anulado',
  vencido_antes_de_enviar: 'Cancelada: venció antes de enviarse (sale el aviso de vencido)',
  preferencia: 'Cancelada: el cliente no quiere este tipo de aviso',
  cliente_suspendido: 'Cancelada: cliente suspendido',
  cliente_retirado: 'Cancelada: cliente retirado',
  sin_canal: 'Sin canal: ningún canal (Telegram, WhatsApp, SMS, correo) pudo llevarlo',
  sin_consentimiento: 'Sin consentimiento del cliente para este canal',
  whatsapp_inalcanzable: 'WhatsApp no llega a este número',
  rechazado: 'El canal rechazó el mensaje',
  plantilla_no_aprobada: 'Plantilla de WhatsApp no aprobada',
  plantilla_invalida: 'Plantilla o parámetros no válidos',
  baja_marketing: 'El cliente pidió no recibir promociones',
  pausa_comprobante: 'Pausada: comprobante en revisión (sale de nuevo si sigue debiendo)',
  pausa_promesa: 'Pausada: el cliente prometió pagar (sale de nuevo si no paga)',
  sin_celular: 'Sin celular para SMS',
  sms_inalcanzable: 'El SMS no llega a este número',
  sms_rechazado: 'La pasarela SMS rechazó el mensaje',
  sin_email: 'Sin correo electrónico',
  canal_no_configurado: 'Canal no configurado en este servicio',
  email_inalcanzable: 'El correo rebotó (dirección inexistente o rechazada)',
  sin_whatsapp: 'Sin número de WhatsApp',
  ya_vinculado: 'Cancelada: el cliente ya está vinculado a Telegram',
  invitacion_no_disponible: 'Cancelada: la invitación ya se usó, venció o fue revocada',
});

/** Why Telegram cannot reach a client (the call list): same words as the notice reasons. */
export const unreachableReasons = vocabulary({
  sin_telegram: notificationReasons.labels.sin_telegram,
  bloqueado: notificationReasons.labels.blocked,
  inalcanzable: 'Telegram no llega',
});

/** `client_messages.direccion`: a client's free text to the provider, or staff's answer. */
export const messageDirections = vocabulary({
  entrante: 'Del cliente',
  saliente: 'Respuesta del personal',
});

/** `client_messages.estado`: an incoming message in the staff inbox ("Mensajes"). */
export const messageStates = vocabulary({
  nuevo: 'Nuevo',
  respondido: 'Respondido',
  archivado: 'Archivado',
});

/** `campaigns.estado`. */
export const campaignStates = vocabulary({
  en_curso: 'En curso',
  completada: 'Completada',
  cancelada: 'Cancelada',
});

/** `bot_updates.estado`: the bot's update inbox. */
export const botUpdateStates = vocabulary({
  pendiente: 'Pendiente',
  procesado: 'Procesado',
  fallido: 'Fallido',
});

/** `chat_state.estado`: where a chat is in the registration conversation. */
export const chatStates = vocabulary({
  inicio: 'Inicio',
  esperando_cedula: 'Esperando la cédula',
  esperando_contacto: 'Esperando el contacto',
  esperando_comprobante: 'Esperando el comprobante de pago',
});

/** `payment_receipts.estado`: a receipt ("comprobante") sent from the chat, under staff review. */
export const receiptStates = vocabulary({
  pendiente: 'Por revisar',
  aprobado: 'Aprobado',
  rechazado: 'Rechazado',
});

/** `payment_promises.estado`: "Pagaré el…" (one per cycle). */
export const promiseStates = vocabulary({
  pendiente: 'Pendiente',
  cumplida: 'Cumplida',
  incumplida: 'Incumplida',
});

/** `notice_pauses.motivo`: why a client's payment notices pause. */
export const pauseReasons = vocabulary({
  comprobante: 'Comprobante en revisión',
  promesa: 'Promesa de pago',
});

/** `client_imports.estado`: a CSV import, recorded before it starts. */
export const importStates = vocabulary({
  en_curso: 'En curso',
  terminada: 'Terminada',
  fallida: 'Fallida',
});

/** `users.rol`: staff roles, from most to least power (labels read inside a sentence). */
export const staffRoles = vocabulary({
  admin: 'administrador',
  operador: 'operador',
  lectura: 'solo lectura',
});

/** `staff_alerts.estado`: an alert to staff is open until resolved. */
export const alertStates = vocabulary({
  activa: 'Activa',
  resuelta: 'Resuelta',
});

/** `backups.kind`: who asked for a backup. */
export const backupKinds = vocabulary({
  scheduled: 'Programado',
  manual: 'A mano',
});

/** `backups.status`. */
export const backupStates = vocabulary({
  running: 'En curso',
  ok: 'Correcto',
  failed: 'Fallido',
});

/**
 * Every group, by the name the API and the admin page use (`GET /api/vocabulario`).
 * Names are stable: the admin page looks labels up by them.
 */
export const vocabularies = {
  estado: clientStates,
  estado_pago: paymentStates,
  tipo: notificationTypes,
  notif_estado: notificationStates,
  canal: channelNames,
  envio_estado: envioStates,
  consentimiento_categoria: consentCategories,
  consentimiento_fuente: consentSources,
  motivo: notificationReasons,
  motivo_inalcanzable: unreachableReasons,
  campana_estado: campaignStates,
  importacion_estado: importStates,
  rol: staffRoles,
  alerta_estado: alertStates,
  respaldo_tipo: backupKinds,
  respaldo_estado: backupStates,
  comprobante_estado: receiptStates,
  promesa_estado: promiseStates,
  pausa_motivo: pauseReasons,
  mensaje_direccion: messageDirections,
  mensaje_estado: messageStates,
} as const;

export type VocabularyName = keyof typeof vocabularies;

/** `{ group: { value: label } }` for the admin page. */
export function vocabularyLabels(): Record<VocabularyName, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [k, v] of Object.entries(vocabularies)) out[k] = { ...v.labels };
  return out as Record<VocabularyName, Record<string, string>>;
}
