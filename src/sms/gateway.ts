import type { SmsConfig } from '../config.js';
import { redactBotToken, rememberSecret } from '../telegram/redact.js';

/**
 * SMS through any HTTP gateway: the provider's aggregator, a billing system's "gateway genérico"
 * (`?to={to}&message={message}`) or Twilio's Messages API. One request per message:
 *
 * - `GET`: everything in the URL; placeholders are URL-encoded.
 * - `POST`: a form body (`SMS_GATEWAY_BODY`, default `to={to}&message={message}&id={id}`); values
 *   form-encoded.
 * - `POST_JSON`: a JSON body template (`{"to":"{to}","text":"{message}"}`); values JSON-escaped
 *   (the template supplies the quotes).
 *
 * Placeholders in the URL are always URL-encoded. `{id}` is ours (the attempt's id): gateways that
 * post delivery reports send it back, and it is the attempt's `proveedor_id`.
 *
 * Success = a 2xx answer and, when `SMS_GATEWAY_OK_REGEX` is set, a body it matches. The URL,
 * headers and body template may hold the gateway's secret: they are remembered for redaction and
 * never appear in an error text.
 */

export type SmsGatewayFailureCode =
  /** 4xx (other than 401/403/429): the gateway refused this message; sending it again changes nothing. */
  | 'sms_rechazado'
  /** 401/403: the gateway refused our credentials. */
  | 'sms_credenciales'
  /** 429: too many requests. */
  | 'sms_limite'
  /** 5xx: the gateway failed; later may work. */
  | 'sms_error_servidor'
  /** 2xx whose body did not match SMS_GATEWAY_OK_REGEX (the gateway said no in its body). */
  | 'sms_respuesta_no_ok'
  /** Could not reach the gateway, or it did not answer in time. */
  | 'sms_red';

export interface SmsGatewayFailure {
  code: SmsGatewayFailureCode;
  /** Spanish, without secrets. */
  message: string;
  httpStatus?: number;
  network?: boolean;
  retryAfterMs?: number;
}

export type SmsGatewayResult = { ok: true; providerId: string } | { ok: false; failure: SmsGatewayFailure };

export interface SmsGatewayMessage {
  /** International digits, 5939XXXXXXXX. */
  to: string;
  /** GSM-7 text, at most 160 characters (compose made it). */
  message: string;
  /** Our id for this attempt; the gateway's delivery reports carry it back. */
  id: string;
  signal?: AbortSignal;
}

export interface SmsGateway {
  send(m: SmsGatewayMessage): Promise<SmsGatewayResult>;
}

export type SmsGatewayOptions = Pick<
  SmsConfig,
  'url' | 'method' | 'body' | 'headers' | 'okRegex' | 'timeoutMs'
> & {
  /** Tests and benches may pass their own fetch; the default is Node's. */
  fetch?: typeof fetch;
};

type Values = { to: string; message: string; id: string };

function fill(template: string, values: Values, encode: (s: string) => string): string {
  return template.replace(/\{(to|message|id)\}/g, (_m, k: keyof Values) => encode(values[k]));
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
const jsonEscape = (s: string) => JSON.stringify(s).slice(1, -1);

/** The request a message becomes (pure: tests compare it). */
export function buildGatewayRequest(
  o: Pick<SmsGatewayOptions, 'url' | 'method' | 'body' | 'headers'>,
  values: Values,
): { url: string; init: RequestInit & { method: string; headers: Record<string, string> } } {
  const url = fill(o.url, values, encodeURIComponent);
  const headers: Record<string, string> = { ...o.headers };
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (o.method === 'GET') return { url, init: { method: 'GET', headers } };
  if (o.method === 'POST') {
    if (!has('content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
    const body = fill(o.body ?? 'to={to}&message={message}&id={id}', values, formEncode);
    return { url, init: { method: 'POST', headers, body } };
  }
  if (!has('content-type')) headers['content-type'] = 'application/json';
  return { url, init: { method: 'POST', headers, body: fill(o.body ?? '{}', values, jsonEscape) } };
}

/** Remembers every secret-looking part of the gateway settings, so no log or error shows them. */
function rememberGatewaySecrets(o: SmsGatewayOptions): void {
  for (const v of Object.values(o.headers)) {
    rememberSecret(v);
    const bearer = /^(Bearer|Basic|Token)\s+(.+)$/i.exec(v);
    if (bearer) rememberSecret(bearer[2]);
  }
  try {
    const u = new URL(o.url.replace(/\{(to|message|id)\}/g, 'x'));
    rememberSecret(u.password);
    for (const [, v] of u.searchParams) if (v !== 'x') rememberSecret(v);
  } catch {
    // the config already checked the shape; a template that is not a URL has nothing to remember
  }
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function excerpt(body: string): string {
  return redactBotToken(body.replace(/\s+/g, ' ').trim()).slice(0, 200);
}

export function createSmsGateway(o: SmsGatewayOptions): SmsGateway {
  rememberGatewaySecrets(o);
  const okRegex = o.okRegex ? new RegExp(o.okRegex) : null;
  const doFetch = o.fetch ?? fetch;
  return {
    async send(m) {
      const { url, init } = buildGatewayRequest(o, m);
      const timeout = AbortSignal.timeout(o.timeoutMs);
      const signal = m.signal ? AbortSignal.any([m.signal, timeout]) : timeout;
      let res: Response;
      let body: string;
      try {
        res = await doFetch(url, { ...init, signal, redirect: 'manual' });
        body = await res.text();
      } catch (err) {
        const timedOut = timeout.aborted;
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return {
          ok: false,
          failure: {
            code: 'sms_red',
            network: true,
            message: timedOut
              ? `la pasarela SMS no respondió en ${Math.round(o.timeoutMs / 1000)} s`
              : `no se pudo conectar con la pasarela SMS${cause ? ` (${cause})` : ''}`,
          },
        };
      }
      const status = res.status;
      if (status >= 200 && status < 300) {
        if (okRegex && !okRegex.test(body)) {
          return {
            ok: false,
            failure: {
              code: 'sms_respuesta_no_ok',
              httpStatus: status,
              message: `la pasarela SMS respondió ${status} sin confirmar el envío: ${excerpt(body)}`,
            },
          };
        }
        return { ok: true, providerId: m.id };
      }
      const text = `la pasarela SMS respondió ${status}${body.trim() ? `: ${excerpt(body)}` : ''}`;
      if (status === 429) {
        const after = retryAfterMs(res.headers.get('retry-after'));
        return {
          ok: false,
          failure: {
            code: 'sms_limite',
            httpStatus: status,
            message: text,
            ...(after !== undefined && { retryAfterMs: after }),
          },
        };
      }
      if (status === 401 || status === 403) {
        return { ok: false, failure: { code: 'sms_credenciales', httpStatus: status, message: text } };
      }
      if (status >= 500)
        return { ok: false, failure: { code: 'sms_error_servidor', httpStatus: status, message: text } };
      // 3xx (we never follow a redirect with the secret) and 4xx: this message will not go this way.
      return { ok: false, failure: { code: 'sms_rechazado', httpStatus: status, message: text } };
    },
  };
}
