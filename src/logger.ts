import { type Logger, pino } from 'pino';
import { redactBotToken, redactUrl } from './telegram/redact.js';

export type { Logger } from 'pino';

/** '1710034065' → '17******65'. Cédulas never appear whole in logs. */
export function maskCedula(cedula: string): string {
  return cedula.length < 5 ? '***' : cedula.slice(0, 2) + '*'.repeat(cedula.length - 4) + cedula.slice(-2);
}

/** '0987654321' → '*******321'. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.length < 4 ? '***' : '*'.repeat(digits.length - 3) + digits.slice(-3);
}

/** The one redaction of secrets in error texts lives at the Telegram boundary. */
export { redactBotToken, redactUrl };

/**
 * The root logger. Secrets are redacted by path; cédulas and phones are masked wherever they
 * appear as fields. Child loggers add scope: `{ notificationId, clientId }`, `{ updateId, chatId }`.
 */
export function createLogger(opts: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-telegram-bot-api-secret-token"]',
          'token',
          '*.token',
          'adminToken',
          'botToken',
        ],
        censor: '<redactado>',
      },
      hooks: {
        // The message text is not part of the object the formatters see: redact it here, so a bot
        // token echoed into a message (an error description, a URL) never reaches the log.
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string') (args as unknown[])[i] = redactBotToken(a);
          }
          return method.apply(this, args);
        },
      },
      formatters: {
        log(obj) {
          const out: Record<string, unknown> = { ...obj };
          for (const key of ['cedula', 'telefono', 'phone'] as const) {
            const v = out[key];
            if (typeof v === 'string') out[key] = key === 'cedula' ? maskCedula(v) : maskPhone(v);
          }
          return out;
        },
      },
      serializers: {
        // Request lines carry the URL: an admin token wrongly put in the query (?token=…) is removed.
        req: (req: { method?: string; url?: string; host?: string; hostname?: string; ip?: string }) => ({
          method: req.method,
          url: redactUrl(req.url ?? ''),
          host: req.host ?? req.hostname,
          remoteAddress: req.ip,
        }),
        err: (err: Error) => ({
          type: err.name,
          message: redactBotToken(err.message ?? ''),
          stack: redactBotToken(err.stack ?? ''),
        }),
      },
    },
    opts.destination,
  );
}
