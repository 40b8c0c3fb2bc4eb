import type { SmtpStandin } from '../email/standin.js';
import type { SmsGatewayStandin } from '../sms/standin.js';

/**
 * The sandbox's SMS inbox and mailbox (issue 11 §7): what the SMS gateway stand-in and the
 * in-process SMTP server received for one client's mobile or address, newest last, so the
 * sandbox page shows them next to the two phones. Read-only views over the stand-ins' records.
 */

export interface SmsInbox {
  /** 5939XXXXXXXX, as the gateway got it. */
  numero: string;
  mensajes: { id: string; texto: string; fecha: string }[];
}

export interface Mailbox {
  direccion: string;
  correos: { id: string; de: string; asunto: string; texto: string; fecha: string }[];
}

const MAX_ITEMS = 100;

export function createSandboxInboxes(parts: { sms?: SmsGatewayStandin; mail?: SmtpStandin }) {
  return {
    /** Whether each box exists (the mailbox needs the optional smtp-server and mailparser). */
    sms: parts.sms !== undefined,
    correo: parts.mail !== undefined,
    smsInbox(numero: string): SmsInbox | null {
      if (!parts.sms) return null;
      return {
        numero,
        mensajes: parts.sms
          .inbox(numero)
          .slice(-MAX_ITEMS)
          .map((m) => ({ id: m.id, texto: m.message, fecha: m.at.toISOString() })),
      };
    },
    mailbox(direccion: string): Mailbox | null {
      if (!parts.mail) return null;
      const want = direccion.trim().toLowerCase();
      return {
        direccion: want,
        correos: parts.mail.mails
          .filter((m) => m.to.some((t) => t.toLowerCase() === want))
          .slice(-MAX_ITEMS)
          .map((m, i) => ({
            id: m.messageId || `correo-${i}`,
            de: m.from,
            asunto: m.subject,
            texto: m.text,
            fecha: m.at.toISOString(),
          })),
      };
    },
  };
}

export type SandboxInboxes = ReturnType<typeof createSandboxInboxes>;
