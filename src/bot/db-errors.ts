/**
 * Which database failures are "ours and temporary" (answer 5xx, try again later) and which are
 * about the data itself (the update cannot be stored as it is: no retry will help).
 */

const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const unavailableMessages = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /client has encountered a connection error/i,
  /pglite is closed/i,
  /database not ready/i,
];

/** True when the database could not be reached or refused for load: retrying later may work. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (unavailableCodes.has(code) || /^(08|57P|53)/.test(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return unavailableMessages.some((re) => re.test(message));
}

/** True for "this value cannot be stored" (SQLSTATE classes 22 and 23). */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23)[0-9A-Z]{3}$/.test(code);
}
