/**
 * The one classifier for "the database could not be reached or did not answer in time"
 * (as opposed to "the database said no": a constraint, a syntax error). Callers answer 503,
 * back off and retry; they never treat it as the caller's mistake.
 */

/** Node socket errors and PostgreSQL SQLSTATEs that mean the connection, not the statement, failed. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled: our statement timeout
  '53300', // too_many_connections
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Messages of `pg`/`pg-pool` errors that carry no code. */
const unavailableMessages = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /query read timeout/i,
  /not queryable/i,
  /connection error/i,
  /database did not answer/i,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const err = error as { code?: unknown; message?: unknown; cause?: unknown };
  if (error instanceof DatabaseUnavailableError) return true;
  if (typeof err.code === 'string' && unavailableCodes.has(err.code)) return true;
  if (typeof err.message === 'string' && unavailableMessages.some((re) => re.test(err.message as string))) {
    return true;
  }
  return err.cause !== undefined && err.cause !== error && isDatabaseUnavailable(err.cause);
}

/** Thrown by `withDatabaseDeadline` when the database does not answer in time. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/**
 * Resolves with `work`, or rejects with DatabaseUnavailableError after `ms`. The work itself is
 * not cancelled (the driver's own timeouts end it); this only bounds how long a caller waits.
 */
export async function withDatabaseDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {}); // a late failure after the deadline is not unhandled
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new DatabaseUnavailableError(`the database did not answer within ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The database refused a duplicate (unique_violation, SQLSTATE 23505); with `constraint`, only on
 * that unique index or constraint.
 */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const err = error as { code?: unknown; constraint?: unknown } | null;
  return err?.code === '23505' && (constraint === undefined || err.constraint === constraint);
}
