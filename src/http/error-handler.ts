import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isDatabaseUnavailable } from '../db/index.js';
import { AppError, toErrorBody } from '../errors/index.js';

interface PgLikeError {
  code?: string;
  constraint?: string;
}

/** Maps a database constraint violation to the caller's mistake it stands for. */
function fromDatabase(err: PgLikeError): AppError | null {
  if (err.code === '23505') {
    const c = err.constraint ?? '';
    if (c.includes('cedula')) return new AppError('CEDULA_DUPLICADA');
    if (c.includes('chat_id')) return new AppError('CHAT_ID_DUPLICADO');
    if (c.includes('plans_nombre')) return new AppError('PLAN_DUPLICADO');
    return new AppError('CONFLICTO');
  }
  if (err.code === '23503' && (err.constraint ?? '').includes('plan_id')) return new AppError('PLAN_EN_USO');
  if (err.code === '23514' || err.code === '22P02' || err.code === '22007' || err.code === '22008') {
    return new AppError('VALIDACION');
  }
  // 22003 numeric out of range (an id ≥ 2^31), 22021/22P05 a character the database cannot store
  // (NUL), 22001 a text longer than its column: the caller's input, never a 500.
  if (err.code === '22003') {
    return new AppError('VALIDACION', 'Un número de la solicitud está fuera del rango permitido.');
  }
  if (err.code === '22021' || err.code === '22P05' || err.code === '22001') {
    return new AppError(
      'VALIDACION',
      'Un texto de la solicitud contiene caracteres no admitidos o es demasiado largo.',
    );
  }
  return null;
}

/** Turns anything thrown into an AppError; unknown errors become ERROR_INTERNO (details logged only). */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const err = error as FastifyError & PgLikeError;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const detalles = err.validation.map((v) => ({
      campo:
        (v.instancePath || '/').replace(/^\//, '').replace(/\//g, '.') ||
        (v.params?.['missingProperty'] as string) ||
        '(cuerpo)',
      mensaje: v.message ?? 'valor inválido',
    }));
    const first = detalles[0];
    const where = err.validationContext === 'querystring' ? 'parámetro' : 'campo';
    return new AppError(
      'VALIDACION',
      first ? `El ${where} "${first.campo}" no es válido: ${first.mensaje}` : undefined,
      detalles,
    );
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('JSON_INVALIDO', 'El cuerpo no es JSON válido: revise comillas, comas y llaves.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('CUERPO_DEMASIADO_GRANDE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(
        'TIPO_CONTENIDO_NO_SOPORTADO',
        'Tipo de contenido no soportado: envíe application/json.',
      );
  }
  const fromDb = fromDatabase(err);
  if (fromDb) return fromDb;
  if (isDatabaseUnavailable(err)) return new AppError('BASE_DE_DATOS_NO_DISPONIBLE');
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('SOLICITUD_INVALIDA', `La solicitud no es válida (${err.statusCode}).`);
  }
  return new AppError('ERROR_INTERNO');
}

/** The API's one error boundary: a stable JSON error, never a stack trace, never 5xx for bad input. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toAppError(error);
    if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: appError.code }, 'request refused');
    return reply.status(appError.status).send(toErrorBody(appError));
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new AppError(
      'RUTA_NO_ENCONTRADA',
      `La ruta ${request.method} ${request.url.split('?')[0]} no existe.`,
    );
    return reply.status(404).send(toErrorBody(err));
  });
}
