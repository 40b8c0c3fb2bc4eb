/** A Bot API error answer: `{ ok: false, error_code: status, description, parameters? }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
    this.name = 'ApiError';
  }
}

export const badRequest = (what: string): ApiError => new ApiError(400, `Bad Request: ${what}`);

export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized');

export const tooManyRequests = (seconds: number): ApiError => {
  // Telegram always asks for a whole number of seconds, at least one.
  const retryAfter = Math.max(1, Math.ceil(seconds));
  return new ApiError(429, `Too Many Requests: retry after ${retryAfter}`, { retry_after: retryAfter });
};

export const forbidden = (what: string): ApiError => new ApiError(403, `Forbidden: ${what}`);

const SERVER_ERROR_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export const serverError = (status = 500): ApiError =>
  new ApiError(status, SERVER_ERROR_TEXT[status] ?? 'Internal Server Error');
