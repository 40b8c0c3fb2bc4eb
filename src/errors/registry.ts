/**
 * The one registry of our error codes. A code is stable and never reused: clients and scripts
 * match on it. `message` is the default Spanish text; a throw site may give a more precise one.
 */
export const errorRegistry = {
  // 4xx: the caller's mistake
  JSON_INVALIDO: { status: 400, message: 'El cuerpo de la solicitud no es JSON válido.' },
  SOLICITUD_INVALIDA: { status: 400, message: 'La solicitud no es válida.' },
  NO_AUTORIZADO: {
    status: 401,
    message: 'Falta el token de administración o no es válido. Envíe "Authorization: Bearer <ADMIN_TOKEN>".',
  },
  WEBHOOK_SECRETO_INVALIDO: { status: 401, message: 'El secreto del webhook no coincide.' },
  SMS_SECRETO_INVALIDO: {
    status: 401,
    message:
      'El secreto de la pasarela SMS no coincide (encabezado X-Sms-Secret o ?secreto=, igual a SMS_DLR_SECRET).',
  },
  NO_ENCONTRADO: { status: 404, message: 'El recurso no existe.' },
  RUTA_NO_ENCONTRADA: { status: 404, message: 'La ruta no existe. Consulte /api/docs.' },
  METODO_NO_PERMITIDO: { status: 405, message: 'Método no permitido en esta ruta.' },
  CEDULA_DUPLICADA: { status: 409, message: 'Ya existe un cliente con esa cédula.' },
  CHAT_ID_DUPLICADO: { status: 409, message: 'Ese chat de Telegram ya está vinculado a otro cliente.' },
  PLAN_DUPLICADO: { status: 409, message: 'Ya existe un plan con ese nombre.' },
  PLAN_EN_USO: {
    status: 409,
    message:
      'El plan tiene clientes asignados: retírelo (sus clientes lo conservan) o cámbielos de plan antes de borrarlo.',
  },
  CONFLICTO: { status: 409, message: 'La operación choca con el estado actual.' },
  CUERPO_DEMASIADO_GRANDE: { status: 413, message: 'El cuerpo de la solicitud es demasiado grande.' },
  TIPO_CONTENIDO_NO_SOPORTADO: { status: 415, message: 'Tipo de contenido no soportado.' },
  VALIDACION: { status: 422, message: 'Hay datos inválidos en la solicitud.' },
  CEDULA_INVALIDA: { status: 422, message: 'La cédula no es válida.' },
  PLAN_NO_EXISTE: { status: 422, message: 'El plan indicado no existe.' },
  PLAN_RETIRADO: {
    status: 422,
    message: 'El plan está retirado: sus clientes lo conservan, pero no se puede asignar a otros.',
  },
  MONTO_INUSUAL: {
    status: 422,
    message:
      'El monto es más de 3 veces lo que el cliente debe; si es correcto, envíelo con "confirmar_monto": true.',
  },
  PAGO_YA_ANULADO: { status: 409, message: 'El pago ya fue anulado.' },
  CANAL_NO_DISPONIBLE: {
    status: 409,
    message: 'El mensaje llegó por un canal que todavía no admite respuestas desde la página.',
  },
  CHAT_NO_DISPONIBLE: {
    status: 422,
    message: 'No se puede responder: el chat ya no recibe mensajes (bloqueó el bot o se desvinculó).',
  },
  DEMASIADAS_SOLICITUDES: { status: 429, message: 'Demasiadas solicitudes; espere un momento.' },
  // 5xx: ours
  ERROR_INTERNO: { status: 500, message: 'Error interno. El detalle quedó en el registro del servidor.' },
  NO_IMPLEMENTADO: { status: 501, message: 'Esta función aún no está disponible en esta versión.' },
  BASE_DE_DATOS_NO_DISPONIBLE: { status: 503, message: 'La base de datos no está disponible; reintente.' },
  SERVICIO_DETENIENDOSE: {
    status: 503,
    message: 'El servicio se está deteniendo; reintente en unos segundos.',
  },
  // bot
  WEBHOOK_URL_NO_HTTPS: {
    status: 422,
    message: 'La URL del webhook debe empezar con https:// (Telegram solo entrega por HTTPS).',
  },
  TELEGRAM_RECHAZO: { status: 502, message: 'Telegram rechazó la solicitud.' },
  TELEGRAM_NO_DISPONIBLE: { status: 502, message: 'No se pudo conectar con Telegram; reintente.' },
  BOT_NO_CONFIGURADO: {
    status: 503,
    message: 'El bot de Telegram no está configurado: defina TELEGRAM_BOT_TOKEN y reinicie el servicio.',
  },
  BOT_NO_INICIADO: {
    status: 503,
    message: 'El bot aún no se conectó con Telegram (getMe); reintente en unos segundos.',
  },
  VINCULO_INEXISTENTE: {
    status: 409,
    message: 'El cliente no tiene un chat de Telegram vinculado: no hay vínculo que verificar.',
  },
  WEBHOOK_EN_SANDBOX: {
    status: 409,
    message:
      'En modo sandbox el bot atiende por long polling local: el webhook no se configura en Telegram. ' +
      'Use el chat de prueba (Sandbox) o configure un bot real con TELEGRAM_BOT_TOKEN.',
  },
  // engine
  PLANTILLA_INVALIDA: { status: 422, message: 'La plantilla no es válida.' },
  MENSAJE_DEMASIADO_LARGO: {
    status: 422,
    message:
      'El mensaje supera los 4096 caracteres que admite Telegram; acórtelo o divídalo en varios envíos.',
  },
  CLIENTE_SIN_TELEGRAM: {
    status: 422,
    message:
      'El cliente no tiene Telegram vinculado (o bloqueó el bot): no se le puede enviar la notificación.',
  },
  AUDIENCIA_VACIA: {
    status: 422,
    message: 'Ningún cliente vinculado a Telegram coincide con los filtros: no se creó el envío masivo.',
  },
  IDEMPOTENCIA_CONFLICTO: {
    status: 422,
    message: 'Esa Idempotency-Key ya se usó con otra solicitud distinta; use una clave nueva.',
  },
  NOTIFICACION_ESTADO: {
    status: 409,
    message: 'La notificación no está en un estado que permita esta acción.',
  },
  MENSAJE_INVALIDO: {
    status: 422,
    message: 'El mensaje no es válido (HTML de Telegram: etiquetas cerradas, variables conocidas).',
  },
  DATOS_INCOMPLETOS: {
    status: 422,
    message: 'Faltan datos del cliente para este mensaje: el texto quedaría con un espacio vacío.',
  },
  CAMPANA_FINALIZADA: { status: 409, message: 'El envío masivo ya terminó o fue cancelado.' },
  DESPACHADOR_NO_DISPONIBLE: {
    status: 503,
    message: 'El envío a Telegram no está activo: defina TELEGRAM_BOT_TOKEN y reinicie el servicio.',
  },
  // payment loop in the chat (issue 13)
  COMPROBANTE_YA_REVISADO: {
    status: 409,
    message: 'El comprobante ya fue revisado (aprobado o rechazado): no se puede cambiar su resultado.',
  },
  REFERENCIA_DUPLICADA: {
    status: 409,
    message:
      'Ya hay un pago registrado con esa referencia bancaria. Revise; si es correcto, envíelo con "confirmar_referencia": true.',
  },
  // operations (issue 15)
  RESPALDO_FALLIDO: {
    status: 500,
    message: 'No se pudo crear el respaldo; el detalle quedó en el registro del servidor.',
  },
  // staff accounts (issue 14)
  PERMISO_DENEGADO: {
    status: 403,
    message: 'Su rol no permite esta acción. Pida a un administrador que la haga o que cambie su rol.',
  },
  CSRF_INVALIDO: {
    status: 403,
    message:
      'Solicitud rechazada por seguridad (falta el encabezado X-CSRF-Token de la sesión o el origen no es este servicio). Recargue la página.',
  },
  CREDENCIALES_INVALIDAS: { status: 401, message: 'Usuario o clave incorrectos.' },
  DEMASIADOS_INTENTOS: {
    status: 429,
    message: 'Demasiados intentos fallidos de ingreso. Espere 15 minutos y vuelva a intentarlo.',
  },
  CLAVE_DEBIL: { status: 422, message: 'La clave es demasiado débil.' },
  USUARIO_DUPLICADO: { status: 409, message: 'Ya existe un usuario con ese nombre de usuario.' },
  ULTIMO_ADMINISTRADOR: {
    status: 409,
    message: 'Es el último administrador activo: cree o active otro administrador antes de cambiarlo.',
  },
  CODIGO_CONFIGURACION_INVALIDO: {
    status: 401,
    message:
      'El código de configuración inicial no es válido. Búsquelo en el registro (log) del último arranque.',
  },
  YA_CONFIGURADO: {
    status: 409,
    message: 'Ya existe un administrador: ingrese con su usuario y clave.',
  },
  TOKEN_DUPLICADO: { status: 409, message: 'Ya tiene un token activo con ese nombre; elija otro nombre.' },
  AJUSTE_INVALIDO: { status: 422, message: 'Hay un ajuste inválido.' },
  // WhatsApp (issue 10)
  WHATSAPP_FIRMA_INVALIDA: {
    status: 401,
    message: 'La firma X-Hub-Signature-256 del webhook de WhatsApp falta o no coincide.',
  },
  WHATSAPP_VERIFICACION_INVALIDA: {
    status: 403,
    message: 'El token de verificación del webhook de WhatsApp no coincide (WHATSAPP_VERIFY_TOKEN).',
  },
  WHATSAPP_PLANTILLA_INVALIDA: {
    status: 422,
    message: 'La asignación de plantilla de WhatsApp no es válida.',
  },
  WHATSAPP_NO_CONFIGURADO: {
    status: 503,
    message:
      'WhatsApp no está configurado: defina WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, ' +
      'WHATSAPP_BUSINESS_ACCOUNT_ID y WHATSAPP_APP_SECRET y reinicie el servicio.',
  },
  WHATSAPP_NO_DISPONIBLE: { status: 502, message: 'No se pudo consultar a WhatsApp (Meta); reintente.' },
  WHATSAPP_VENTANA_CERRADA: {
    status: 409,
    message:
      'La ventana de 24 horas de WhatsApp de este cliente está cerrada: fuera de ella solo se admiten plantillas aprobadas.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorRegistry;

/** An error meant for the caller: stable code, HTTP status, Spanish message, optional details. */
export class AppError extends Error {
  override name = 'AppError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? errorRegistry[code].message);
    this.status = errorRegistry[code].status;
  }
}

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; mensaje: string; detalles?: unknown };
}

export function toErrorBody(err: AppError): ErrorBody {
  return {
    error: {
      code: err.code,
      mensaje: err.message,
      ...(err.details === undefined ? {} : { detalles: err.details }),
    },
  };
}
