import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { InlineImage } from '../channels/types.js';
import type { EmailConfig } from '../config.js';
import { redactBotToken, rememberSecret } from '../telegram/redact.js';

/**
 * E-mail through SMTP (nodemailer): `SMTP_URL`, `EMAIL_FROM`, optional DKIM signing. Never throws:
 * a failure is a value with a stable code, read by the e-mail channel's classifier:
 *
 * - `smtp_permanente`: the server answered 5xx (unknown mailbox, domain does not exist, refused):
 *   the address is unreachable.
 * - `smtp_temporal`: 4xx (greylisting, mailbox full, try later): retry.
 * - `smtp_credenciales`: our login was refused: the channel stops until it is fixed.
 * - `smtp_red`: could not reach the server or it did not answer in time: retry.
 * - `smtp_mensaje`: nodemailer refused the message before sending (bad address…): this message fails.
 */

export type EmailFailureCode =
  | 'smtp_permanente'
  | 'smtp_temporal'
  | 'smtp_credenciales'
  | 'smtp_red'
  | 'smtp_mensaje';

export interface EmailFailure {
  code: EmailFailureCode;
  message: string;
  /** The SMTP reply code (550, 451…), when the server answered. */
  smtpCode?: number;
  network?: boolean;
}

export type EmailResult = { ok: true; providerId: string } | { ok: false; failure: EmailFailure };

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Extra headers (List-Unsubscribe, List-Unsubscribe-Post). */
  headers?: Record<string, string>;
  /** Our id, put in the Message-ID so a bounce can be matched. */
  id: string;
  /** Images the HTML shows inline (`<img src="cid:…">`). */
  inlineImages?: InlineImage[];
  signal?: AbortSignal;
}

export interface EmailSender {
  send(m: EmailMessage): Promise<EmailResult>;
  /** Connects and logs in (the diagnosis and the start-up check). */
  verify(): Promise<{ ok: boolean; detail: string }>;
  close(): void;
}

export type EmailSenderOptions = Pick<EmailConfig, 'smtpUrl' | 'from' | 'dkim'> & {
  /** Simultaneous SMTP connections (default 2). */
  maxConnections?: number;
  /** Longest wait for the server (default 30 s). */
  timeoutMs?: number;
  /** Accept the stand-in's self-signed certificate (tests only). */
  insecureTls?: boolean;
};

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Maps whatever nodemailer threw to an EmailFailure (pure). */
export function toEmailFailure(err: unknown): EmailFailure {
  const e = (err ?? {}) as SmtpError;
  const response = redactBotToken(String(e.response ?? e.message ?? err)).slice(0, 300);
  if (e.code === 'EAUTH' || e.responseCode === 535 || e.responseCode === 534 || e.responseCode === 530) {
    return {
      code: 'smtp_credenciales',
      message: `el servidor SMTP rechazó el usuario o la clave: ${response}`,
    };
  }
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    return {
      code: 'smtp_permanente',
      smtpCode: e.responseCode,
      message: `el servidor de correo rechazó el mensaje (${e.responseCode}): ${response}`,
    };
  }
  if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
    return {
      code: 'smtp_temporal',
      smtpCode: e.responseCode,
      message: `el servidor de correo pidió reintentar (${e.responseCode}): ${response}`,
    };
  }
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') {
    return { code: 'smtp_mensaje', message: `el mensaje no se pudo armar: ${response}` };
  }
  return { code: 'smtp_red', network: true, message: `no se pudo hablar con el servidor SMTP: ${response}` };
}

function rememberSmtpSecrets(smtpUrl: string): void {
  try {
    const u = new URL(smtpUrl);
    rememberSecret(decodeURIComponent(u.password));
    rememberSecret(u.password);
  } catch {
    // the config checked the shape
  }
}

/** The domain of an address ('TelTec <avisos@teltec.ec>' → 'teltec.ec'), for the Message-ID. */
function domainOf(from: string): string {
  return /@([^>\s]+)/.exec(from)?.[1] ?? 'localhost';
}

export function createEmailSender(o: EmailSenderOptions): EmailSender {
  rememberSmtpSecrets(o.smtpUrl);
  const timeout = o.timeoutMs ?? 30_000;
  const transport = nodemailer.createTransport({
    url: o.smtpUrl,
    pool: true,
    maxConnections: o.maxConnections ?? 2,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(o.insecureTls && { tls: { rejectUnauthorized: false } }),
    ...(o.dkim && {
      dkim: {
        domainName: o.dkim.domain,
        keySelector: o.dkim.selector,
        privateKey: readFileSync(o.dkim.privateKeyFile, 'utf8'),
      },
    }),
  } as Parameters<typeof nodemailer.createTransport>[0]);
  const domain = domainOf(o.from);
  return {
    async send(m) {
      try {
        const info = await transport.sendMail({
          from: o.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: `<teltec-${m.id}@${domain}>`,
          ...(m.headers && { headers: m.headers }),
          ...(m.inlineImages?.length && {
            attachments: m.inlineImages.map((a) => ({
              filename: a.filename,
              content: a.content,
              contentType: a.contentType,
              cid: a.cid,
            })),
          }),
        });
        const rejected = (info.rejected ?? []) as unknown[];
        if (rejected.length > 0) {
          return {
            ok: false,
            failure: {
              code: 'smtp_permanente',
              smtpCode: 550,
              message: 'el servidor de correo rechazó el destinatario',
            },
          };
        }
        return { ok: true, providerId: String(info.messageId ?? m.id) };
      } catch (err) {
        return { ok: false, failure: toEmailFailure(err) };
      }
    },
    async verify() {
      try {
        await transport.verify();
        return { ok: true, detail: 'el servidor SMTP aceptó la conexión y el usuario' };
      } catch (err) {
        return { ok: false, detail: toEmailFailure(err).message };
      }
    },
    close() {
      transport.close();
    },
  };
}
