import type { ChannelFailure, ChannelSendResult } from '../channels/types.js';
import { downloadLimited } from '../lib/download.js';
import { redactBotToken, rememberSecret } from '../telegram/redact.js';
import { whatsappErrorText } from './classify.js';

/**
 * The WhatsApp Cloud API client, on plain `fetch`. Two error kinds, as for Telegram: "Meta
 * answered no" (Graph's `{ error: { code, error_subcode, message, error_data } }`, code kept as
 * the failure's `code`) and "could not reach Meta" (`network: true`). Never throws; never puts
 * the token in a failure (it travels in the Authorization header, and is redacted anyway).
 */

export interface TemplateSend {
  name: string;
  /** 'es' by default (issue 10 §3). */
  language: string;
  /** Body parameters in order ({{1}}, {{2}}…); none may be empty. */
  params: string[];
  /** Payloads of the template's quick-reply buttons, in order (at most as many as it has). */
  buttonPayloads?: string[];
}

/** Interactive reply buttons (free-form: inside the 24 h window only). Meta: 1–3, titles ≤ 20. */
export interface InteractiveButtons {
  body: string;
  buttons: { id: string; title: string }[];
}

/** An interactive list (free-form): one section of at most 10 rows, titles ≤ 24. */
export interface InteractiveList {
  body: string;
  /** The button that opens the list (≤ 20 characters). */
  button: string;
  rows: { id: string; title: string; description?: string }[];
}

/** What `GET /{media-id}` answers: where to download a client's image or document. */
export interface MediaInfo {
  url: string;
  mime_type?: string;
  sha256?: string;
  /** Meta's stated size in bytes (checked before downloading, then again while downloading). */
  file_size?: number;
  id?: string;
}

/** Meta's limits on interactive messages (the stand-in checks the same). */
export const INTERACTIVE_LIMITS = {
  buttons: 3,
  buttonTitle: 20,
  body: 1024,
  listRows: 10,
  rowTitle: 24,
  rowDescription: 72,
  listButton: 20,
} as const;

/** One template as `GET /{waba_id}/message_templates` lists it (the fields we ask for). */
export interface GraphTemplate {
  id?: string;
  name: string;
  language: string;
  status: string;
  category?: string;
  rejected_reason?: string;
  components?: {
    type: string;
    text?: string;
    format?: string;
    buttons?: { type?: string; text?: string }[];
  }[];
}

export interface PhoneNumberInfo {
  display_phone_number?: string;
  verified_name?: string;
  quality_rating?: string;
  messaging_limit_tier?: string;
}

export type GraphResult<T> = { ok: true; value: T } | { ok: false; failure: ChannelFailure };

export interface WhatsAppClientOptions {
  token: string;
  phoneNumberId: string;
  businessAccountId?: string;
  /** Graph root without trailing slash: https://graph.facebook.com, or the stand-in's URL. */
  apiRoot: string;
  /** v23.0 */
  apiVersion: string;
  /** Longest wait for one call before it counts as a network failure (default 15 s). */
  timeoutMs?: number;
  /** Seam for tests of the client itself; everything else uses the stand-in through apiRoot. */
  fetch?: typeof fetch;
}

export interface WhatsAppClient {
  readonly phoneNumberId: string;
  /** Free text: only inside the client's 24 h service window. */
  sendText(to: string, text: string, signal?: AbortSignal): Promise<ChannelSendResult>;
  /** An approved template with body parameters. */
  sendTemplate(to: string, t: TemplateSend, signal?: AbortSignal): Promise<ChannelSendResult>;
  /** Every template of the WhatsApp Business account (follows the paging cursors). */
  listTemplates(signal?: AbortSignal): Promise<GraphResult<GraphTemplate[]>>;
  /** The phone number's data: proves the token works (Ajustes, resuming after a stop). */
  phoneNumber(signal?: AbortSignal): Promise<GraphResult<PhoneNumberInfo>>;
  /** Reply buttons or a list (free-form: only inside the client's 24 h window). */
  sendInteractive(
    to: string,
    m: InteractiveButtons | InteractiveList,
    signal?: AbortSignal,
  ): Promise<ChannelSendResult>;
  /** Where to download a media a client sent (`GET /{media-id}`). */
  mediaInfo(mediaId: string, signal?: AbortSignal): Promise<GraphResult<MediaInfo>>;
  /**
   * Downloads a media URL from `mediaInfo` with the token, at most `maxBytes` (throws
   * FileTooLargeError beyond it, Error otherwise; never with the token or the URL).
   */
  downloadMedia(url: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer>;
}

/** The body of `POST /messages` for a template (exported for the stand-in's tests and the preview). */
export function templatePayload(to: string, t: TemplateSend) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'template',
    template: {
      name: t.name,
      language: { code: t.language },
      ...((t.params.length > 0 || (t.buttonPayloads?.length ?? 0) > 0) && {
        components: [
          ...(t.params.length > 0
            ? [{ type: 'body', parameters: t.params.map((text) => ({ type: 'text', text })) }]
            : []),
          // One component per quick-reply button: the payload comes back when the client presses it.
          ...(t.buttonPayloads ?? []).map((payload, i) => ({
            type: 'button',
            sub_type: 'quick_reply',
            index: String(i),
            parameters: [{ type: 'payload', payload }],
          })),
        ],
      }),
    },
  };
}

export function interactivePayload(to: string, m: InteractiveButtons | InteractiveList) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'interactive',
    interactive:
      'buttons' in m
        ? {
            type: 'button',
            body: { text: m.body },
            action: {
              buttons: m.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })),
            },
          }
        : {
            type: 'list',
            body: { text: m.body },
            action: { button: m.button, sections: [{ rows: m.rows }] },
          },
  };
}

export function textPayload(to: string, text: string) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'text',
    text: { preview_url: false, body: text },
  };
}

/** Graph's error JSON (or any answer that is not) → a ChannelFailure. */
export function toGraphFailure(status: number, body: unknown, retryAfter?: string | null): ChannelFailure {
  const err = (body as { error?: Record<string, unknown> } | null)?.error;
  const retryAfterMs = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : undefined;
  if (err && typeof err === 'object' && (typeof err.code === 'number' || typeof err.code === 'string')) {
    const data = err.error_data as { details?: unknown } | undefined;
    const details = typeof data?.details === 'string' ? data.details : '';
    const message = typeof err.message === 'string' ? err.message : '';
    const sub = err.error_subcode !== undefined ? ` [${String(err.error_subcode)}]` : '';
    return {
      code: String(err.code),
      // Staff read it (ultimo_error): our Spanish words first, Meta's own after.
      message: redactBotToken(
        `${whatsappErrorText(String(err.code))} — Meta: ${message}${details && details !== message ? `: ${details}` : ''}${sub}`,
      ).slice(0, 500),
      httpStatus: status,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }
  return {
    code: `http_${status}`,
    message: `WhatsApp respondió HTTP ${status} sin detalle del error`,
    httpStatus: status,
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  };
}

function networkFailure(err: unknown, signal?: AbortSignal): ChannelFailure {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  const timeout = e?.name === 'TimeoutError' || (e?.name === 'AbortError' && !signal?.aborted);
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return {
    code: timeout ? 'timeout' : signal?.aborted ? 'aborted' : 'network',
    message: redactBotToken(`No se pudo conectar con WhatsApp: ${detail}`).slice(0, 500),
    network: true,
  };
}

export function createWhatsAppClient(opts: WhatsAppClientOptions): WhatsAppClient {
  rememberSecret(opts.token);
  const doFetch = opts.fetch ?? fetch;
  const base = `${opts.apiRoot.replace(/\/+$/, '')}/${opts.apiVersion}`;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const headers = { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' };

  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<GraphResult<T>> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: combined,
      });
      text = await res.text();
    } catch (err) {
      const f = networkFailure(err, signal);
      if (timeout.aborted && !signal?.aborted) f.code = 'timeout';
      return { ok: false, failure: f };
    }
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok)
      return { ok: false, failure: toGraphFailure(res.status, parsed, res.headers.get('retry-after')) };
    if (parsed === null || typeof parsed !== 'object') {
      return {
        ok: false,
        failure: { code: 'respuesta_invalida', message: 'Respuesta no JSON', httpStatus: res.status },
      };
    }
    return { ok: true, value: parsed as T };
  }

  async function send(payload: unknown, signal?: AbortSignal): Promise<ChannelSendResult> {
    const r = await call<{ messages?: { id?: string }[] }>(
      'POST',
      `/${opts.phoneNumberId}/messages`,
      payload,
      signal,
    );
    if (!r.ok) return r;
    const id = r.value.messages?.[0]?.id;
    if (typeof id !== 'string' || id === '') {
      // Accepted but without an id: we cannot follow it; count it as a server error (retried).
      return {
        ok: false,
        failure: { code: 'sin_wamid', message: 'WhatsApp no devolvió el id del mensaje', httpStatus: 502 },
      };
    }
    return { ok: true, providerId: id };
  }

  return {
    phoneNumberId: opts.phoneNumberId,
    sendText: (to, text, signal) => send(textPayload(to, text), signal),
    sendTemplate: (to, t, signal) => send(templatePayload(to, t), signal),
    async listTemplates(signal) {
      if (!opts.businessAccountId) {
        return {
          ok: false,
          failure: {
            code: 'sin_waba',
            message: 'Falta WHATSAPP_BUSINESS_ACCOUNT_ID para leer las plantillas',
          },
        };
      }
      const all: GraphTemplate[] = [];
      let after: string | undefined;
      for (let page = 0; page < 100; page++) {
        const q = new URLSearchParams({
          fields: 'id,name,language,status,category,components,rejected_reason',
          limit: '100',
          ...(after && { after }),
        });
        const r = await call<{
          data?: GraphTemplate[];
          paging?: { cursors?: { after?: string }; next?: string };
        }>('GET', `/${opts.businessAccountId}/message_templates?${q}`, undefined, signal);
        if (!r.ok) return r;
        all.push(...(r.value.data ?? []).filter((t) => t && typeof t.name === 'string'));
        after = r.value.paging?.next ? r.value.paging.cursors?.after : undefined;
        if (!after) break;
      }
      return { ok: true, value: all };
    },
    sendInteractive: (to, m, signal) => send(interactivePayload(to, m), signal),
    mediaInfo(mediaId, signal) {
      if (!/^[A-Za-z0-9_.-]{1,128}$/.test(mediaId)) {
        return Promise.resolve({
          ok: false,
          failure: { code: '100', message: 'Identificador de archivo de WhatsApp no válido' },
        });
      }
      return call<MediaInfo>('GET', `/${mediaId}`, undefined, signal);
    },
    downloadMedia(url, maxBytes, signal) {
      // Meta's media URLs are on its own hosts and want the same Bearer token.
      return downloadLimited(url, maxBytes, {
        headers: { authorization: headers.authorization },
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000),
      });
    },
    phoneNumber(signal) {
      return call<PhoneNumberInfo>(
        'GET',
        `/${opts.phoneNumberId}?fields=display_phone_number,verified_name,quality_rating,messaging_limit_tier`,
        undefined,
        signal,
      );
    },
  };
}
