import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isWeekWindow } from './lib/week-window.js';

/**
 * The only module that reads `process.env` (and `.env`). Everything else receives a `Config`.
 * A bad value stops start-up with one line that names the variable and what it expects.
 */

const timeOfDay = /^([01]\d|2[0-3]):[0-5]\d$/;

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'una URL postgres://usuario@servidor:puerto/base')
    .optional(),
  // PostgreSQL faults answer 503 within seconds instead of hanging (issue 12 §3).
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
  // Embedded database only: PostgreSQL shared_buffers inside the process (issue 16 §4: memory).
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(1024).default(32),
  DATABASE_KEEPALIVE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]+$/, 'un token de bot como 123456:ABC… (de @BotFather)')
    .optional(),
  TELEGRAM_API_ROOT: z.url('una URL http(s)://').default('https://api.telegram.org'),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, '1 a 256 caracteres A-Z, a-z, 0-9, _ o -')
    .optional(),
  PUBLIC_URL: z.url('una URL https:// pública').optional(),
  // Which peers may say who the client is (X-Forwarded-For): the reverse proxy in front (Caddy).
  // Addresses/CIDRs or proxy-addr names (loopback, uniquelocal, linklocal), comma-separated; 0 = none.
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(
      /^(0|false|no|((loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?))*))$/,
      'direcciones o redes separadas por comas (127.0.0.1, 10.0.0.0/8) o loopback, uniquelocal, linklocal; 0 = ninguno',
    )
    .default('loopback'),
  ADMIN_TOKEN: z.string().min(16, 'al menos 16 caracteres').optional(),
  TZ: z
    .string()
    .default('America/Guayaquil')
    .refine(isTimeZone, 'una zona horaria IANA, por ejemplo America/Guayaquil'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEMO: z.enum(['0', '1']).default('0'),
  // Benchmarks and multi-process tests only: the service's clock starts here and runs CLOCK_RATE× fast.
  CLOCK_START: z.iso
    .datetime({ offset: true, message: 'una fecha y hora ISO, por ejemplo 2026-03-10T13:00:00Z' })
    .optional(),
  // The real instant at which the clock reads CLOCK_START (default: when the process starts), so
  // that several instances started one after another share one business time.
  CLOCK_ORIGIN: z.iso
    .datetime({ offset: true, message: 'una fecha y hora ISO, por ejemplo 2026-11-28T12:00:00Z' })
    .optional(),
  CLOCK_RATE: z.coerce.number().positive().max(100_000).default(1),
  // Notification engine
  SEND_WINDOW: z
    .string()
    .regex(
      /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$/,
      'un rango HH:MM-HH:MM, por ejemplo 08:00-20:00',
    )
    .default('08:00-20:00'),
  SEND_RATE: z.coerce.number().positive().max(1000).default(25),
  SEND_PER_CHAT_RATE: z.coerce.number().positive().max(30).default(1),
  SEND_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(16),
  SEND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(6).default(6),
  // Lease of a claimed outbox row: rows held by a dead instance return to the queue after it.
  SEND_LEASE_SECONDS: z.coerce.number().int().min(5).max(60).default(60),
  PAID_BROADCAST: z.enum(['0', '1']).default('0'),
  DAILY_RUN_AT: z.string().regex(timeOfDay, 'una hora HH:MM, por ejemplo 08:00').default('08:00'),
  CYCLE_DAYS: z.coerce.number().int().min(7).max(92).default(30),
  REMINDER_DAYS_BEFORE: z.coerce.number().int().min(1).max(27).default(5),
  OVERDUE_REPEAT_DAYS: z.coerce.number().int().min(1).max(30).default(5),
  OVERDUE_MAX_NOTICES: z.coerce.number().int().min(1).max(10).default(3),
  NOTIFY_SUSPENDED: z.enum(['0', '1']).default('0'),
  PAYMENT_CONFIRMATION: z.enum(['0', '1']).default('1'),
  INVITE_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  // Payment loop in the chat (issue 13): receipts pause notices; promises up to N days after the due date.
  RECEIPT_PAUSE_DAYS: z.coerce.number().int().min(1).max(30).default(3),
  PROMISE_GRACE_DAYS: z.coerce.number().int().min(1).max(30).default(5),
  // Bot
  UNVERIFIED_LINK_FULL_NOTICES: z.enum(['0', '1']).default('0'),
  CEDULA_LOOKUPS_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(60),
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^@?[A-Za-z][A-Za-z0-9_]{3,31}$/, 'el @usuario del bot, por ejemplo @TelTecAvisosBot')
    .optional(),
  // Staff accounts and Ajustes (issue 14): defaults; Ajustes stores the values in use.
  SUSPENSION_DAYS: z.coerce.number().int().min(1).max(90).default(10),
  // Issue 13 §6: the pre-suspension notice goes this many days before the suspension date (0 = none);
  // a payment that brings a suspended client up to date reactivates them (the provider's choice).
  SUSPENSION_NOTICE_DAYS_BEFORE: z.coerce.number().int().min(0).max(30).default(3),
  REACTIVATE_ON_PAYMENT: z.enum(['0', '1']).default('1'),
  SESSION_IDLE_HOURS: z.coerce.number().min(0.25).max(720).default(8),
  // Staff alerts (issue 15 §5)
  ALERT_FAILURE_RATE: z.coerce.number().min(0.01).max(1).default(0.2),
  ALERT_MIN_ATTEMPTS: z.coerce.number().int().min(1).max(100_000).default(20),
  ALERT_QUEUE_STUCK_MINUTES: z.coerce.number().int().min(1).max(1440).default(30),
  ALERT_PENDING_UPDATES: z.coerce.number().int().min(1).max(1_000_000).default(100),
  ALERT_DISK_FREE_PCT: z.coerce.number().min(0.1).max(90).default(10),
  ALERT_DIGEST_AT: z.string().regex(timeOfDay, 'una hora HH:MM, por ejemplo 07:30').default('07:30'),
  // WhatsApp Business Cloud API (issue 10): the channel is on when token and phone number id are set.
  WHATSAPP_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_.|-]{20,1024}$/, 'el token de acceso de Meta (20 a 1024 caracteres, sin espacios)')
    .optional(),
  WHATSAPP_PHONE_NUMBER_ID: z
    .string()
    .regex(/^\d{5,30}$/, 'el identificador numérico del número')
    .optional(),
  WHATSAPP_BUSINESS_ACCOUNT_ID: z
    .string()
    .regex(/^\d{5,30}$/, 'el identificador numérico de la cuenta de WhatsApp Business')
    .optional(),
  WHATSAPP_APP_SECRET: z.string().min(8, 'el secreto de la app de Meta (al menos 8 caracteres)').optional(),
  WHATSAPP_VERIFY_TOKEN: z.string().min(8, 'al menos 8 caracteres').optional(),
  WHATSAPP_API_ROOT: z.url('una URL http(s)://').default('https://graph.facebook.com'),
  WHATSAPP_API_VERSION: z
    .string()
    .regex(/^v\d{1,3}\.\d{1,2}$/, 'una versión de la Graph API como v23.0')
    .default('v23.0'),
  WHATSAPP_RATE: z.coerce.number().positive().max(1000).default(20),
  WHATSAPP_DAILY_LIMIT: z.coerce.number().int().min(1).max(10_000_000).default(250),
  // Company data shown to clients (/contact, templates)
  EMPRESA_NOMBRE: z.string().default('TelTec'),
  EMPRESA_TELEFONO: z.string().default(''),
  EMPRESA_WHATSAPP: z.string().default(''),
  EMPRESA_EMAIL: z.string().default(''),
  EMPRESA_HORARIO: z.string().default('Lunes a viernes 08:00-18:00, sábados 08:00-13:00'),
  EMPRESA_DIRECCION: z.string().default(''),
  // Operations (issue 15): daily backups and log format
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_KEEP: z.coerce.number().int().min(1).max(365).default(7),
  BACKUP_TIME: z
    .string()
    .regex(/^(([01]\d|2[0-3]):[0-5]\d|no)$/, 'una hora HH:MM (por ejemplo 02:30) o "no" para desactivarlo')
    .default('02:30'),
  LOG_FORMAT: z.enum(['auto', 'json', 'texto']).default('auto'),
  // WhatsApp prices per delivered template (USD), only for Resumen's cost estimate (issue 10 §10).
  WHATSAPP_PRECIO_UTILITY: z.coerce.number().min(0).max(10).default(0.0113),
  WHATSAPP_PRECIO_MARKETING: z.coerce.number().min(0).max(10).default(0.074),
  // SMS and e-mail prices per message sent (USD), only for Resumen's cost by channel (issue 11 §6).
  SMS_PRECIO: z.coerce.number().min(0).max(10).default(0),
  EMAIL_PRECIO: z.coerce.number().min(0).max(10).default(0),
  // SMS through an HTTP gateway (issue 11 §1). Placeholders {to} {message} {id}.
  SMS_GATEWAY_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, 'una URL http(s):// con {to}, {message} y, si quiere, {id}')
    .optional(),
  SMS_GATEWAY_METHOD: z.enum(['GET', 'POST', 'POST_JSON']).default('GET'),
  SMS_GATEWAY_BODY: z.string().optional(),
  SMS_GATEWAY_HEADERS: z.string().optional(),
  SMS_GATEWAY_OK_REGEX: z
    .string()
    .refine(isRegex, 'una expresión regular válida, por ejemplo "status":"ok"')
    .optional(),
  SMS_GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(1000).max(120_000).default(15_000),
  SMS_WINDOW: z
    .string()
    .refine(isWeekWindow, 'días opcionales y un rango HH:MM-HH:MM, por ejemplo lun-vie 09:00-18:00')
    .default('lun-vie 09:00-18:00'),
  SMS_RATE: z.coerce.number().positive().max(100).default(5),
  SMS_DLR_SECRET: z.string().min(16, 'al menos 16 caracteres').optional(),
  // Fallback between channels (issue 11 §3): order after the preferred one; minutes without a
  // delivery report before a must-deliver notice moves on (channels that report delivery).
  FALLBACK_ORDER: z
    .string()
    .regex(
      /^(telegram|whatsapp|sms|email)(,(telegram|whatsapp|sms|email))*$/,
      'canales separados por comas, por ejemplo telegram,whatsapp,sms,email',
    )
    .default('telegram,whatsapp,sms,email'),
  FALLBACK_NO_DELIVERY_MINUTES: z.coerce.number().int().min(1).max(1440).default(30),
  // E-mail through SMTP (issue 11 §2).
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/\S+$/, 'una URL smtp(s)://usuario:clave@servidor:puerto')
    .optional(),
  EMAIL_FROM: z.string().min(3).optional(),
  EMAIL_RATE: z.coerce.number().positive().max(100).default(5),
  DKIM_DOMAIN: z.string().min(3).optional(),
  DKIM_SELECTOR: z.string().min(1).optional(),
  DKIM_PRIVATE_KEY_FILE: z.string().min(1).optional(),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  /** PostgreSQL only: how long to wait for a connection, a statement; TCP keepalive. */
  database: {
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    keepAliveMs: number;
    /** PGlite only. */
    sharedBuffersMb: number;
  };
  telegram: {
    token?: string;
    apiRoot: string;
    webhookSecret?: string;
    publicUrl?: string;
  };
  /** WhatsApp Business Cloud API (issue 10); see `whatsappEnabled`. */
  whatsapp: WhatsAppConfig;
  adminToken?: string;
  /** Fastify's trustProxy: the proxies whose X-Forwarded-For names the client (false = none). */
  trustProxy: string | false;
  timeZone: string;
  logLevel: Env['LOG_LEVEL'];
  demo: boolean;
  /** Unset start = the system clock (see `clockFromSettings`). */
  clock: { start?: string; rate: number; origin?: string };
  engine: {
    sendWindow: { start: string; end: string };
    ratePerSecond: number;
    perChatPerSecond: number;
    concurrency: number;
    maxAttempts: number;
    leaseSeconds: number;
    paidBroadcast: boolean;
    dailyRunAt: string;
    cycleDays: number;
    reminderDaysBefore: number;
    overdueRepeatDays: number;
    overdueMaxNotices: number;
    notifySuspended: boolean;
    paymentConfirmation: boolean;
  };
  inviteTtlDays: number;
  /** Receipts and promises sent from the chat (issue 13). */
  payments: {
    /** A receipt under review pauses the client's payment notices at most this many days. */
    receiptPauseDays: number;
    /** "Pagaré el…" offers dates up to this many days after the due date. */
    promiseGraceDays: number;
  };
  alerts: {
    /** Share of failed attempts in the last 15 minutes that raises an alert (default 0.2). */
    failureRate: number;
    /** Fewer attempts than this in 15 minutes say nothing about the rate (default 20). */
    minAttempts: number;
    /** A due notice waiting longer than this inside the send window means the queue is stuck. */
    stuckMinutes: number;
    /** Webhook updates waiting at Telegram beyond this (default 100). */
    pendingUpdates: number;
    /** Free space on DATA_DIR's disk below this share (default 0.1). */
    diskFreeRatio: number;
    /** Daily digest at this local time 'HH:MM'. */
    digestAt: string;
  };
  bot: {
    /** Unverified links get full billing data in /status and notices (the provider accepts the risk). */
    unverifiedFullNotices: boolean;
    /** Cédula lookups allowed per hour across all chats. */
    cedulaLookupsPerHour: number;
    /** The bot's @username (without @), known before Telegram answers getMe. */
    username?: string;
  };
  /** Daily backups (issue 15): folder, how many to keep, local time ('HH:MM') or null = off. */
  backup: { dir: string; keep: number; dailyAt: string | null };
  /** 'texto' = one readable line per event, 'json' = pino JSON, 'auto' = texto on a terminal. */
  logFormat: Env['LOG_FORMAT'];
  /** Days after the due date before the provider suspends (default; Ajustes may change it). */
  suspensionDays: number;
  /** Days before that suspension date the pre-suspension notice goes (0 = none; Ajustes). */
  suspensionNoticeDaysBefore: number;
  /** A payment that leaves a suspended client up to date makes them active again (Ajustes). */
  reactivateOnPayment: boolean;
  /** Staff sign-in sessions end after this many hours without use (default; Ajustes). */
  sessionIdleHours: number;
  /** SMS through an HTTP gateway (issue 11); undefined = no SMS channel. */
  sms?: SmsConfig;
  /** E-mail through SMTP (issue 11); undefined = no e-mail channel. */
  email?: EmailConfig;
  /** Fallback between channels (issue 11 §3). */
  fallback: {
    /** Channels in the order tried after the client's preferred one (each once). */
    order: ('telegram' | 'whatsapp' | 'sms' | 'email')[];
    /** A must-deliver notice sent on a channel that reports delivery moves on after this long without it. */
    noDeliveryMinutes: number;
  };
  company: {
    nombre: string;
    telefono: string;
    whatsapp: string;
    email: string;
    horario: string;
    direccion: string;
  };
  /** USD per delivered WhatsApp template by Meta category: Resumen's cost estimate ("verifique"). */
  whatsappPrices: { utility: number; marketing: number };
  /** USD per SMS / e-mail the gateway or SMTP server accepted: Resumen's cost by channel ("verifique"). */
  smsPrice: number;
  emailPrice: number;
}

export interface WhatsAppConfig {
  token?: string;
  phoneNumberId?: string;
  businessAccountId?: string;
  /** Signs every webhook POST (X-Hub-Signature-256). */
  appSecret?: string;
  /** Meta's verify handshake (GET hub.verify_token). */
  verifyToken?: string;
  /** Graph API root without trailing slash (the stand-in's URL in tests). */
  apiRoot: string;
  apiVersion: string;
  /** Messages per second (Meta allows up to 1000; 20 is safe for a number shared with the app). */
  ratePerSecond: number;
  /** Unique users per 24 h outside the service window (Meta's tier). */
  dailyLimit: number;
}

/** The WhatsApp channel sends when it has a token and a phone number id. */
export function whatsappEnabled(
  c: WhatsAppConfig,
): c is WhatsAppConfig & { token: string; phoneNumberId: string } {
  return Boolean(c.token && c.phoneNumberId);
}

export interface SmsConfig {
  /** Gateway URL with {to}, {message}, {id} placeholders (URL-encoded where they land). Secret. */
  url: string;
  /** GET (all in the URL), POST (form body) or POST_JSON (JSON body template). */
  method: 'GET' | 'POST' | 'POST_JSON';
  /** Body template for POST (form) or POST_JSON; null = `to={to}&message={message}&id={id}` for POST. */
  body: string | null;
  /** Extra request headers (a Bearer token…). Secret. */
  headers: Record<string, string>;
  /** Success = 2xx and, when set, this regex matches the answer's body. */
  okRegex: string | null;
  timeoutMs: number;
  /** When SMS may be sent: `lun-vie 09:00-18:00` (local routes deliver only then). */
  window: string;
  ratePerSecond: number;
  /** Shared secret of POST /api/sms/estado (delivery reports); null = no delivery reports. */
  dlrSecret: string | null;
}

export interface EmailConfig {
  /** smtp(s)://user:pass@host:port. Secret. */
  smtpUrl: string;
  from: string;
  ratePerSecond: number;
  dkim: { domain: string; selector: string; privateKeyFile: string } | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function isRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** `{"Authorization":"Bearer …"}` or `Nombre: valor` pairs separated by new lines or `;`. */
function parseHeaders(text: string | undefined): Record<string, string> | null {
  if (!text) return {};
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
      const entries = Object.entries(parsed as Record<string, unknown>);
      if (entries.some(([, v]) => typeof v !== 'string')) return null;
      return Object.fromEntries(entries) as Record<string, string>;
    } catch {
      return null;
    }
  }
  const out: Record<string, string> = {};
  for (const line of trimmed.split(/\r?\n|;/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim();
    if (!/^[A-Za-z0-9-]+$/.test(name)) return null;
    out[name] = line.slice(colon + 1).trim();
  }
  return out;
}

function smsConfig(e: Env): SmsConfig | undefined {
  if (!e.SMS_GATEWAY_URL) return undefined;
  if (!e.SMS_GATEWAY_URL.includes('{to}') && !e.SMS_GATEWAY_BODY?.includes('{to}')) {
    throw new ConfigError('Configuración inválida: SMS_GATEWAY_URL o SMS_GATEWAY_BODY debe llevar {to}');
  }
  if (e.SMS_GATEWAY_METHOD === 'GET' && !e.SMS_GATEWAY_URL.includes('{message}')) {
    throw new ConfigError(
      'Configuración inválida: con SMS_GATEWAY_METHOD=GET, SMS_GATEWAY_URL debe llevar {message}',
    );
  }
  if (e.SMS_GATEWAY_METHOD === 'POST_JSON' && !e.SMS_GATEWAY_BODY) {
    throw new ConfigError(
      'Configuración inválida: SMS_GATEWAY_BODY debe ser una plantilla JSON con SMS_GATEWAY_METHOD=POST_JSON, ' +
        'por ejemplo {"to":"{to}","message":"{message}"}',
    );
  }
  const headers = parseHeaders(e.SMS_GATEWAY_HEADERS);
  if (headers === null) {
    throw new ConfigError(
      'Configuración inválida: SMS_GATEWAY_HEADERS debe ser "Nombre: valor" (separados por ; o saltos de línea) ' +
        'o un objeto JSON',
    );
  }
  return {
    url: e.SMS_GATEWAY_URL,
    method: e.SMS_GATEWAY_METHOD,
    body: e.SMS_GATEWAY_BODY ?? null,
    headers,
    okRegex: e.SMS_GATEWAY_OK_REGEX ?? null,
    timeoutMs: e.SMS_GATEWAY_TIMEOUT_MS,
    window: e.SMS_WINDOW,
    ratePerSecond: e.SMS_RATE,
    dlrSecret: e.SMS_DLR_SECRET ?? null,
  };
}

function emailConfig(e: Env): EmailConfig | undefined {
  if (!e.SMTP_URL) return undefined;
  if (!e.EMAIL_FROM) {
    throw new ConfigError(
      'Configuración inválida: EMAIL_FROM debe ser el remitente, por ejemplo "TelTec <avisos@teltec.ec>"',
    );
  }
  const dkimKeys = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY_FILE];
  const dkimSet = dkimKeys.filter((v) => v !== undefined).length;
  if (dkimSet !== 0 && dkimSet !== 3) {
    throw new ConfigError(
      'Configuración inválida: DKIM_DOMAIN, DKIM_SELECTOR y DKIM_PRIVATE_KEY_FILE van juntos (los tres o ninguno)',
    );
  }
  return {
    smtpUrl: e.SMTP_URL,
    from: e.EMAIL_FROM,
    ratePerSecond: e.EMAIL_RATE,
    dkim:
      dkimSet === 3
        ? {
            domain: e.DKIM_DOMAIN!,
            selector: e.DKIM_SELECTOR!,
            privateKeyFile: path.resolve(e.DKIM_PRIVATE_KEY_FILE!),
          }
        : null,
  };
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Builds a Config from an environment object. Throws ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings count as "not set", as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? '?');
    // Never echo the received value: it may be a secret.
    throw new ConfigError(`Configuración inválida: ${key} debe ser ${issue.message}`);
  }
  const e = result.data;
  const [start, end] = e.SEND_WINDOW.split('-') as [string, string];
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    database: {
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      keepAliveMs: e.DATABASE_KEEPALIVE_MS,
      sharedBuffersMb: e.PGLITE_SHARED_BUFFERS_MB,
    },
    telegram: {
      token: e.TELEGRAM_BOT_TOKEN,
      apiRoot: e.TELEGRAM_API_ROOT.replace(/\/+$/, ''),
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
      publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    },
    whatsapp: {
      token: e.WHATSAPP_TOKEN,
      phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID,
      businessAccountId: e.WHATSAPP_BUSINESS_ACCOUNT_ID,
      appSecret: e.WHATSAPP_APP_SECRET,
      verifyToken: e.WHATSAPP_VERIFY_TOKEN,
      apiRoot: e.WHATSAPP_API_ROOT.replace(/\/+$/, ''),
      apiVersion: e.WHATSAPP_API_VERSION,
      ratePerSecond: e.WHATSAPP_RATE,
      dailyLimit: e.WHATSAPP_DAILY_LIMIT,
    },
    adminToken: e.ADMIN_TOKEN,
    trustProxy: /^(0|false|no)$/.test(e.TRUST_PROXY) ? false : e.TRUST_PROXY,
    timeZone: e.TZ,
    logLevel: e.LOG_LEVEL,
    demo: e.DEMO === '1',
    clock: { start: e.CLOCK_START, rate: e.CLOCK_RATE, origin: e.CLOCK_ORIGIN },
    engine: {
      sendWindow: { start, end },
      ratePerSecond: e.SEND_RATE,
      perChatPerSecond: e.SEND_PER_CHAT_RATE,
      concurrency: e.SEND_CONCURRENCY,
      maxAttempts: e.SEND_MAX_ATTEMPTS,
      leaseSeconds: e.SEND_LEASE_SECONDS,
      paidBroadcast: e.PAID_BROADCAST === '1',
      dailyRunAt: e.DAILY_RUN_AT,
      cycleDays: e.CYCLE_DAYS,
      reminderDaysBefore: e.REMINDER_DAYS_BEFORE,
      overdueRepeatDays: e.OVERDUE_REPEAT_DAYS,
      overdueMaxNotices: e.OVERDUE_MAX_NOTICES,
      notifySuspended: e.NOTIFY_SUSPENDED === '1',
      paymentConfirmation: e.PAYMENT_CONFIRMATION === '1',
    },
    inviteTtlDays: e.INVITE_TTL_DAYS,
    payments: { receiptPauseDays: e.RECEIPT_PAUSE_DAYS, promiseGraceDays: e.PROMISE_GRACE_DAYS },
    alerts: {
      failureRate: e.ALERT_FAILURE_RATE,
      minAttempts: e.ALERT_MIN_ATTEMPTS,
      stuckMinutes: e.ALERT_QUEUE_STUCK_MINUTES,
      pendingUpdates: e.ALERT_PENDING_UPDATES,
      diskFreeRatio: e.ALERT_DISK_FREE_PCT / 100,
      digestAt: e.ALERT_DIGEST_AT,
    },
    bot: {
      unverifiedFullNotices: e.UNVERIFIED_LINK_FULL_NOTICES === '1',
      cedulaLookupsPerHour: e.CEDULA_LOOKUPS_PER_HOUR,
      username: e.TELEGRAM_BOT_USERNAME?.replace(/^@/, ''),
    },
    backup: {
      dir: path.resolve(e.BACKUP_DIR ?? path.join(e.DATA_DIR, 'respaldos')),
      keep: e.BACKUP_KEEP,
      dailyAt: e.BACKUP_TIME === 'no' ? null : e.BACKUP_TIME,
    },
    logFormat: e.LOG_FORMAT,
    sms: smsConfig(e),
    email: emailConfig(e),
    fallback: {
      order: [...new Set(e.FALLBACK_ORDER.split(','))] as Config['fallback']['order'],
      noDeliveryMinutes: e.FALLBACK_NO_DELIVERY_MINUTES,
    },
    suspensionDays: e.SUSPENSION_DAYS,
    suspensionNoticeDaysBefore: e.SUSPENSION_NOTICE_DAYS_BEFORE,
    reactivateOnPayment: e.REACTIVATE_ON_PAYMENT === '1',
    sessionIdleHours: e.SESSION_IDLE_HOURS,
    company: {
      nombre: e.EMPRESA_NOMBRE,
      telefono: e.EMPRESA_TELEFONO,
      whatsapp: e.EMPRESA_WHATSAPP,
      email: e.EMPRESA_EMAIL,
      horario: e.EMPRESA_HORARIO,
      direccion: e.EMPRESA_DIRECCION,
    },
    whatsappPrices: { utility: e.WHATSAPP_PRECIO_UTILITY, marketing: e.WHATSAPP_PRECIO_MARKETING },
    smsPrice: e.SMS_PRECIO,
    emailPrice: e.EMAIL_PRECIO,
  };
}

/** Reads `.env` (if present; real environment variables win) and `process.env`. */
export function loadConfig(envFile = '.env'): Config {
  if (existsSync(envFile)) {
    // process.loadEnvFile never overrides variables that are already set.
    process.loadEnvFile(envFile);
  }
  return parseConfig(process.env);
}

/** Settings that must not appear in logs or answers. */
export const SECRET_KEYS = [
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'ADMIN_TOKEN',
  'DATABASE_URL',
  'WHATSAPP_TOKEN',
  'WHATSAPP_APP_SECRET',
  'WHATSAPP_VERIFY_TOKEN',
  'SMS_GATEWAY_URL',
  'SMS_GATEWAY_HEADERS',
  'SMS_GATEWAY_BODY',
  'SMS_DLR_SECRET',
  'SMTP_URL',
] as const;
