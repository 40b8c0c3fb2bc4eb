import { GrammyError, HttpError } from 'grammy';
import { redactBotToken } from '../telegram/redact.js';

/** A short, token-free description of an error for logs and the inbox row. */
export function describe(err: unknown): string {
  if (err instanceof GrammyError) return `Telegram ${err.error_code}: ${err.description}`;
  if (err instanceof HttpError) return redactBotToken(`Sin conexión con Telegram: ${String(err.error)}`);
  if (err instanceof Error) return redactBotToken(err.message);
  return redactBotToken(String(err));
}
