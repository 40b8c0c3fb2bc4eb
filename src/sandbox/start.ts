import { randomBytes, randomInt } from 'node:crypto';
import { type Config, whatsappEnabled } from '../config.js';
import type { SmtpStandin } from '../email/standin.js';
import type { Logger } from '../logger.js';
import { type SmsGatewayStandin, startSmsGatewayStandin } from '../sms/standin.js';
import { type Standin, startStandin } from '../telegram/standin/index.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../whatsapp/standin/index.js';
import { createSandboxChats, type SandboxChats } from './chat.js';
import { createSandboxInboxes, type SandboxInboxes } from './inboxes.js';
import { createSandboxWhatsApp, type SandboxWhatsApp } from './whatsapp-phone.js';

/**
 * Sandbox mode: with no TELEGRAM_BOT_TOKEN the service talks to the built-in Bot API stand-in on
 * 127.0.0.1 instead of Telegram, so a newcomer without a bot or Internet sees the product work.
 *
 * Invariant: the sandbox is never active while a real token is set (`startSandbox` returns null).
 */
export interface Sandbox {
  readonly standin: Standin;
  /** The client's WhatsApp phone on the sandbox page (with `whatsapp`). */
  readonly phones?: SandboxWhatsApp;
  readonly chats: SandboxChats;
  /** The config the bot and the engine must use: the stand-in's apiRoot and token, long polling. */
  readonly config: Config;
  readonly bot: { username: string; nombre: string };
  /**
   * WhatsApp simulated too (issue 10), unless real WHATSAPP_* settings are given: the Cloud API
   * stand-in. `main.ts` points its signed webhooks at the service once it listens
   * (`whatsapp.setWebhookUrl`); the sandbox page plays the client with `clientSends` / `thread`.
   */
  readonly whatsapp?: WhatsAppStandin;
  /**
   * SMS and e-mail simulated too (issue 11 §7), unless SMS_GATEWAY_URL / SMTP_URL are given: the
   * SMS gateway stand-in and an in-process SMTP server. The page shows each client's SMS inbox and
   * mailbox. The mailbox needs the optional packages smtp-server and mailparser; without them the
   * sandbox starts with no e-mail channel and says so.
   */
  readonly sms?: SmsGatewayStandin;
  readonly mail?: SmtpStandin;
  readonly inboxes: SandboxInboxes;
  /**
   * The service's own address once it listens: the simulated SMS gateway posts its delivery
   * reports to POST /api/sms/estado there, as a real gateway would.
   */
  setServiceUrl(url: string): void;
  /**
   * The played client answers by SMS (e.g. «SALIR»): the simulated gateway forwards it to the
   * service's POST /api/sms/entrante with the shared secret, as a real gateway would. Only with
   * the SMS stand-in. Resolves to the service's answer.
   */
  clientSms?(from: string, text: string): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** Loads the SMTP stand-in (default: a dynamic import, so its optional packages may be absent). */
  loadSmtpStandin?: () => Promise<{ startSmtpStandin: () => Promise<SmtpStandin> }>;
}

/** Sandbox SMS go out at any hour (a real gateway keeps SMS_WINDOW): the newcomer sees them now. */
const SANDBOX_SMS_WINDOW = '00:00-24:00';
/** The stand-ins are local: SMS and e-mail go faster than a real route (SMS_RATE, EMAIL_RATE = 5/s). */
const SANDBOX_RATE = 20;
const SANDBOX_EMAIL_FROM = 'TelTec (sandbox) <avisos@sandbox.teltec.invalid>';
/** How long the simulated gateway takes to report a message delivered. */
const SMS_REPORT_DELAY_MS = 800;

export async function startSandbox(
  config: Config,
  logger: Logger,
  opts: SandboxOptions = {},
): Promise<Sandbox | null> {
  if (config.telegram.token) return null;
  // A fresh random token per start (Telegram's shape, long enough for the log redaction).
  const botId = randomInt(100_000_000, 999_999_999);
  const standin = await startStandin({
    host: '127.0.0.1',
    port: 0,
    token: `${botId}:${randomBytes(27).toString('base64url')}`,
    botInfo: { id: botId, first_name: 'TelTec (sandbox)', username: 'TelTecSandboxBot' },
  });
  logger.warn(
    { sandbox: true, botApi: standin.url },
    'MODO SANDBOX: no hay TELEGRAM_BOT_TOKEN. Telegram está simulado dentro del servicio ' +
      `(Bot API de prueba en ${standin.url}); ningún mensaje sale a Internet. ` +
      'Abra /sandbox para chatear con el bot como si fuera un cliente.',
  );
  const whatsapp = whatsappEnabled(config.whatsapp)
    ? undefined
    : // No pair rate: a person typing on the sandbox phone gets every answer (the dispatcher paces itself).
      await startWhatsAppStandin({ host: '127.0.0.1', port: 0, pairIntervalMs: 0 });
  if (whatsapp) {
    logger.warn(
      { sandbox: true, graphApi: whatsapp.url },
      `MODO SANDBOX: WhatsApp también está simulado (Cloud API de prueba en ${whatsapp.url}).`,
    );
  }
  const sms = config.sms ? undefined : await startSmsGatewayStandin({ host: '127.0.0.1' });
  const smsSecret = randomBytes(24).toString('hex');
  let serviceUrl = '';
  const reportTimers = new Set<NodeJS.Timeout>();
  sms?.onMessage((m) => {
    if (!serviceUrl) return;
    const timer = setTimeout(() => {
      reportTimers.delete(timer);
      sms
        .reportDelivery(`${serviceUrl}/api/sms/estado`, { id: m.id, estado: 'entregado', secret: smsSecret })
        .catch(() => {}); // the service is stopping: the attempt stays 'enviado'
    }, SMS_REPORT_DELAY_MS);
    reportTimers.add(timer);
  });
  const mail = config.email ? undefined : await startSandboxMail(opts, logger);
  if (sms || mail) {
    logger.warn(
      { sandbox: true, smsGateway: sms?.url, smtp: mail ? `127.0.0.1:${mail.port}` : undefined },
      `MODO SANDBOX: ${[sms && 'SMS', mail && 'correo'].filter(Boolean).join(' y ')} también ` +
        'simulado dentro del servicio; vea la bandeja de cada cliente en /sandbox.',
    );
  }
  return {
    standin,
    phones: whatsapp ? createSandboxWhatsApp(whatsapp) : undefined,
    chats: createSandboxChats(standin),
    config: {
      ...config,
      telegram: { ...config.telegram, token: standin.token, apiRoot: standin.url, publicUrl: undefined },
      ...(whatsapp && {
        whatsapp: {
          ...config.whatsapp,
          token: whatsapp.token,
          phoneNumberId: whatsapp.phoneNumberId,
          businessAccountId: whatsapp.businessAccountId,
          appSecret: whatsapp.appSecret,
          verifyToken: randomBytes(16).toString('hex'),
          apiRoot: whatsapp.url,
        },
      }),
      ...(sms && {
        sms: {
          url: sms.sendUrl,
          method: 'GET' as const,
          body: null,
          headers: {},
          okRegex: null,
          timeoutMs: 15_000,
          window: SANDBOX_SMS_WINDOW,
          ratePerSecond: SANDBOX_RATE,
          dlrSecret: smsSecret,
        },
      }),
      ...(mail && {
        email: { smtpUrl: mail.url, from: SANDBOX_EMAIL_FROM, ratePerSecond: SANDBOX_RATE, dkim: null },
      }),
    },
    bot: { username: standin.botInfo.username, nombre: standin.botInfo.first_name },
    ...(whatsapp && { whatsapp }),
    ...(sms && { sms }),
    ...(mail && { mail }),
    inboxes: createSandboxInboxes({ ...(sms && { sms }), ...(mail && { mail }) }),
    setServiceUrl(url) {
      serviceUrl = url.replace(/\/+$/, '');
    },
    ...(sms && {
      clientSms: (from: string, text: string) =>
        sms.clientSends(`${serviceUrl}/api/sms/entrante`, { from, text, secret: smsSecret }),
    }),
    close: async () => {
      for (const t of reportTimers) clearTimeout(t);
      reportTimers.clear();
      await mail?.close();
      await sms?.close();
      await whatsapp?.close();
      await standin.close();
    },
  };
}

/**
 * The in-process SMTP server, or undefined when its optional packages (smtp-server, mailparser)
 * are not installed: the sandbox then runs without e-mail and the log says how to add it.
 */
async function startSandboxMail(opts: SandboxOptions, logger: Logger): Promise<SmtpStandin | undefined> {
  let mod: { startSmtpStandin: () => Promise<SmtpStandin> };
  try {
    mod = await (opts.loadSmtpStandin ?? (() => import('../email/standin.js')))();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw err;
    logger.warn(
      { sandbox: true },
      'MODO SANDBOX: el correo no está simulado porque faltan los paquetes opcionales smtp-server y ' +
        'mailparser (se instalan con "npm install"). Telegram, WhatsApp y SMS funcionan igual.',
    );
    return undefined;
  }
  return mod.startSmtpStandin();
}
