import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * An in-process SMTP server on 127.0.0.1 (smtp-server + mailparser) for tests and the sandbox's
 * mailbox: records every message it accepts, parsed; can reject a recipient permanently (550) or
 * the next messages temporarily (451) or permanently (554).
 *
 * Its two packages are optional dependencies: load this module with a dynamic `import()` from
 * runtime code (the sandbox does) so a service installed without them still starts.
 */

export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  html: string;
  headers: Map<string, unknown>;
  /** Header lines as written (List-Unsubscribe…), lower-case names. */
  raw: string;
  /** The Message-ID header (`<teltec-…@domain>`), '' when absent. */
  messageId: string;
  /** When the server accepted it. */
  at: Date;
  /** Attached files (an invitation's inline QR: `cid` is its Content-ID without brackets). */
  attachments: { filename: string; contentType: string; cid: string | null; content: Buffer }[];
}

export interface SmtpStandin {
  readonly port: number;
  /** smtp://127.0.0.1:port (no TLS, any login accepted unless `requireAuth`). */
  readonly url: string;
  readonly mails: ReceivedMail[];
  /** RCPT TO for this address answers 550 (unknown mailbox). */
  rejectRecipient(address: string): void;
  /** The next `times` DATA commands answer `code` (451 = retry later, 554 = refused). */
  failNext(code: number, times?: number): void;
  waitForMails(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export async function startSmtpStandin(
  opts: { user?: string; pass?: string; clock?: { now(): Date } } = {},
): Promise<SmtpStandin> {
  const mails: ReceivedMail[] = [];
  const rejected = new Set<string>();
  const faults: number[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: opts.user === undefined,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === opts.user && auth.password === opts.pass)
        return cb(null, { user: auth.username });
      const err = new Error('Authentication failed') as Error & { responseCode: number };
      err.responseCode = 535;
      cb(err);
    },
    onRcptTo(address, _session, cb) {
      if (rejected.has(address.address.toLowerCase())) {
        const err = new Error('5.1.1 Mailbox does not exist') as Error & { responseCode: number };
        err.responseCode = 550;
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const code = faults.shift();
        if (code !== undefined) {
          const err = new Error(code >= 500 ? 'Message refused' : 'Try again later') as Error & {
            responseCode: number;
          };
          err.responseCode = code;
          return cb(err);
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            mails.push({
              to: session.envelope.rcptTo.map((r) => r.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              headers: parsed.headers as Map<string, unknown>,
              raw: raw.toString('utf8'),
              messageId: parsed.messageId ?? '',
              at: opts.clock?.now() ?? new Date(),
              attachments: parsed.attachments.map((a) => ({
                filename: a.filename ?? '',
                contentType: a.contentType,
                cid: a.cid ?? null,
                content: a.content,
              })),
            });
            for (const w of waiters) w();
            cb();
          },
          (err: Error) => cb(err),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = (server as unknown as { server: { address(): AddressInfo } }).server.address();
  const auth = opts.user !== undefined ? `${opts.user}:${opts.pass ?? ''}@` : '';
  return {
    port,
    url: `smtp://${auth}127.0.0.1:${port}`,
    mails,
    rejectRecipient: (a) => rejected.add(a.toLowerCase()),
    failNext(code, times = 1) {
      for (let i = 0; i < times; i++) faults.push(code);
    },
    waitForMails(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        if (mails.length >= n) return resolve(mails.slice());
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the SMTP stand-in got ${mails.length} of ${n} mails`));
        }, timeoutMs);
        const check = () => {
          if (mails.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(mails.slice());
        };
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
