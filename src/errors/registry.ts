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
  NO_ENCONTRADO: { status: 404, message: 'El recurso no existe.' },
  RUTA_NO_ENCONTRADA: { status: 404, message: 'La ruta no existe. Consulte /api/docs.' },
  METODO_NO_PERMITIDO: { status: 405, message: 'Método no permitido en esta ruta.' },
  CEDULA_DUPLICADA: { status: 409, message: 'Ya existe un cliente con esa cédula.' },
  CHAT_ID_DUPLICADO: { status: 409, message: 'Ese chat de Telegram ya está vinculado a otro cliente.' },
  PLAN_DUPLICADO: { status: 409, message: 'Ya existe un plan con ese nombre.' },
  PLAN_EN_USO: {
    status: 409,
    message: 'El plan tiene clientes asignados; cámbielos de plan antes de borrarlo.',
  },
  CONFLICTO: { status: 409, message: 'La operación choca con el estado actual.' },
  CUERPO_DEMASIADO_GRANDE: { status: 413, message: 'El cuerpo de la solicitud es demasiado grande.' },
  TIPO_CONTENIDO_NO_SOPORTADO: { status: 415, message: 'Tipo de contenido no soportado.' },
  VALIDACION: { status: 422, message: 'Hay datos inválidos en la solicitud.' },
  CEDULA_INVALIDA: { status: 422, message: 'La cédula no es válida.' },
  PLAN_NO_EXISTE: { status: 422, message: 'El plan indicado no existe.' },
  DEMASIADAS_SOLICITUDES: { status: 429, message: 'Demasiadas solicitudes; espere un momento.' },
  // 5xx: ours
  ERROR_INTERNO: { status: 500, message: 'Error interno. El detalle quedó en el registro del servidor.' },
  NO_IMPLEMENTADO: { status: 501, message: 'Esta función aún no está disponible en esta versión.' },
  BASE_DE_DATOS_NO_DISPONIBLE: { status: 503, message: 'La base de datos no está disponible; reintente.' },
  SERVICIO_DETENIENDOSE: {
    status: 503,
    message: 'El servicio se está deteniendo; reintente en unos segundos.',
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
