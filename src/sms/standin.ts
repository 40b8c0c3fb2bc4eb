import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in SMS gateway: a real HTTP server on 127.0.0.1 that speaks the "gateway genérico"
 * (`to`, `message`, `id` in the query, a form body or a JSON body, on any path). It records every
 * message it accepts, can be told to fail the next requests (5xx, 4xx, 429, a body that says
 * "ERROR", or a dropped connection), can post delivery reports to the service's
 * POST /api/sms/estado, and can forward a client's SMS (SALIR) to POST /api/sms/entrante. Tests and the sandbox point SMS_GATEWAY_URL at it.
 */

export interface StandinSms {
  to: string;
  message: string;
  id: string;
  method: string;
  at: Date;
}

export type StandinFault =
  | { kind: 'status'; status: number; body?: string; retryAfter?: number }
  | { kind: 'drop' };

export interface SmsGatewayStandin {
  /** Base URL, e.g. http://127.0.0.1:43121 */
  readonly url: string;
  /** GET URL for SMS_GATEWAY_URL with the generic gateway's placeholders. */
  readonly sendUrl: string;
  /** Every accepted message, oldest first. */
  readonly messages: StandinSms[];
  /** Every request received (accepted or failed), for asserting retries. */
  readonly requests: { at: Date; status: number | 'drop' }[];
  /** Messages received by one number (the sandbox's SMS inbox). */
  inbox(to: string): StandinSms[];
  /** The next `times` requests fail this way (queued after any fault already queued). */
  failNext(fault: StandinFault, times?: number): void;
  /** Answers every request slowly (ms), to test timeouts. */
  setDelay(ms: number): void;
  /** Calls `listener` with every message accepted from now on (the sandbox's inbox and reports). */
  onMessage(listener: (m: StandinSms) => void): void;
  /** Waits until `n` messages were accepted (tests). */
  waitForMessages(n: number, timeoutMs?: number): Promise<StandinSms[]>;
  /**
   * Posts a delivery report for message `id` to `target` (the service's /api/sms/estado) the way
   * a generic gateway does: form fields `id`, `estado` and the shared secret in `X-Sms-Secret`.
   */
  reportDelivery(
    target: string,
    report: { id: string; estado: string; secret?: string; error?: string },
  ): Promise<{ status: number; body: string }>;
  /**
   * A client's SMS to the provider's number, forwarded to `target` (the service's
   * /api/sms/entrante) the way a generic gateway does: form fields `from`, `text` and the shared
   * secret in `X-Sms-Secret`.
   */
  clientSends(
    target: string,
    m: { from: string; text: string; secret?: string },
  ): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function fieldsOf(req: IncomingMessage, url: URL, body: string): Record<string, string> {
  const out: Record<string, string> = Object.fromEntries(url.searchParams);
  const type = req.headers['content-type'] ?? '';
  if (body && type.includes('json')) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      for (const [k, v] of Object.entries(parsed)) out[k] = String(v);
    } catch {
      // a body that is not JSON carries no fields
    }
  } else if (body) {
    for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  }
  return out;
}

export async function startSmsGatewayStandin(
  opts: { host?: string; clock?: { now(): Date } } = {},
): Promise<SmsGatewayStandin> {
  const now = () => opts.clock?.now() ?? new Date();
  const messages: StandinSms[] = [];
  const requests: { at: Date; status: number | 'drop' }[] = [];
  const faults: StandinFault[] = [];
  const waiters = new Set<() => void>();
  const listeners: ((m: StandinSms) => void)[] = [];
  let delayMs = 0;
  let seq = 0;

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://standin');
    const body = await readBody(req);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const fault = faults.shift();
    if (fault?.kind === 'drop') {
      requests.push({ at: now(), status: 'drop' });
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      requests.push({ at: now(), status: fault.status });
      res.writeHead(fault.status, {
        'content-type': 'text/plain; charset=utf-8',
        ...(fault.retryAfter !== undefined && { 'retry-after': String(fault.retryAfter) }),
      });
      res.end(fault.body ?? `ERROR ${fault.status}`);
      return;
    }
    const f = fieldsOf(req, url, body);
    // Twilio's field names too, so its preset can be tried against the stand-in.
    const to = (f['to'] ?? f['To'] ?? f['destinatario'] ?? '').replace(/^\+/, '');
    const message = f['message'] ?? f['Body'] ?? f['mensaje'] ?? f['text'] ?? '';
    if (!/^\d{8,15}$/.test(to) || message === '') {
      requests.push({ at: now(), status: 400 });
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', error: 'faltan to o message' }));
      return;
    }
    const id = f['id'] ?? `standin-${++seq}`;
    const accepted = { to, message, id, method: req.method ?? 'GET', at: now() };
    messages.push(accepted);
    requests.push({ at: now(), status: 200 });
    for (const w of waiters) w();
    for (const l of listeners) l(accepted);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', id }));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://${opts.host ?? '127.0.0.1'}:${port}`;

  return {
    url: base,
    sendUrl: `${base}/send?to={to}&message={message}&id={id}`,
    messages,
    requests,
    inbox: (to) => messages.filter((m) => m.to === to),
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    onMessage(listener) {
      listeners.push(listener);
    },
    setDelay(ms) {
      delayMs = ms;
    },
    waitForMessages(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        if (messages.length >= n) return resolve(messages.slice());
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the SMS stand-in got ${messages.length} of ${n} messages`));
        }, timeoutMs);
        const check = () => {
          if (messages.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages.slice());
        };
        waiters.add(check);
      });
    },
    async reportDelivery(target, r) {
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(r.secret !== undefined && { 'x-sms-secret': r.secret }),
        },
        body: new URLSearchParams({
          id: r.id,
          estado: r.estado,
          ...(r.error && { error: r.error }),
        }).toString(),
      });
      return { status: res.status, body: await res.text() };
    },
    async clientSends(target, m) {
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(m.secret !== undefined && { 'x-sms-secret': m.secret }),
        },
        body: new URLSearchParams({ from: m.from, text: m.text }).toString(),
      });
      return { status: res.status, body: await res.text() };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
