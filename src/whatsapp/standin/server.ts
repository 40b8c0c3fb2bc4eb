/**
 * A WhatsApp Cloud API stand-in: a real node:http server on 127.0.0.1 (port 0) speaking the Graph
 * paths the service uses, with Meta's limits and Meta's error JSON, and the webhook side — signed
 * status callbacks and a test acting as the client. Used by every WhatsApp test, the bench and the
 * sandbox. Never logs or echoes the token.
 *
 *   POST /{version}/{phone_number_id}/messages       text (24 h window) or template
 *   GET  /{version}/{waba_id}/message_templates      its own registry (paging cursors)
 *   GET  /{version}/{phone_number_id}                number data (token check)
 *   GET  /{version}/{media_id}                       a client's image/document: url, type, sha256, size
 *   GET  /whatsapp_business/attachments/?mid=…       the media itself (Bearer token required)
 *
 * It checks what Meta checks on the shapes we send: template name, language, body parameters and
 * quick-reply button parameters against its registry; interactive messages (1–3 reply buttons,
 * titles ≤ 20 characters, body ≤ 1024; lists of ≤ 10 rows, titles ≤ 24). A test acts as the
 * client: text, a template's quick reply (`button`), an interactive reply, an image or document.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhookBody } from '../signature.js';
import { suggestedTemplates } from '../suggested-templates.js';

export type StatusName = 'sent' | 'delivered' | 'read';

export interface StandinTemplate {
  name: string;
  language: string;
  status: string;
  category: string;
  body: string;
  id?: string;
  /** Quick-reply buttons (their texts), in order. */
  buttons?: string[];
}

export interface WhatsAppStandinOptions {
  /** Defaults are random, built at start (no token-shaped literal in the repo). */
  token?: string;
  phoneNumberId?: string;
  businessAccountId?: string;
  appSecret?: string;
  /** Where signed webhooks go (the service's POST /api/whatsapp/webhook); settable later. */
  webhookUrl?: string;
  /** Global throughput: messages per second before 130429 (default 80, Meta's base). */
  ratePerSecond?: number;
  /** Burst of the global bucket (default = ratePerSecond / 10, at least 1: Meta counts per second). */
  burst?: number;
  /** Pair rate: one message to the same number every this many ms (default 6000; 0 = off). */
  pairIntervalMs?: number;
  /** Lateness forgiven on the pair rate (network jitter; default 150 ms). */
  pairToleranceMs?: number;
  /** Unique recipients of business-initiated messages per 24 h before 131048 (default 250; 0 = off). */
  dailyLimit?: number;
  /** Delay of each status webhook after the send (ms); null = never sent. Default 0 / 5 / 10. */
  statusDelaysMs?: Partial<Record<StatusName, number | null>>;
  /** 'reverse' sends read, then delivered, then sent; 'shuffle' a seeded random order. */
  statusOrder?: 'normal' | 'reverse' | 'shuffle';
  /** Share of status webhooks dropped (seeded), 0–1. */
  dropRate?: number;
  /** Statuses grouped in one webhook POST (Meta batches under load; default 1). */
  statusBatch?: number;
  /** Latency of every API answer (ms). */
  latencyMs?: number;
  /** Templates in its registry (default: the project's suggested texts, APPROVED). */
  templates?: StandinTemplate[];
  /** Clock (ms) for windows and the daily tier; rates use performance.now(). */
  now?: () => number;
  /** Seed of the drop/shuffle randomness. */
  seed?: number;
  host?: string;
  port?: number;
}

/** An error injected for one recipient: answered now (`sync`) or as a `failed` status webhook. */
export interface InjectedError {
  code: number;
  mode?: 'sync' | 'status';
  /** How many sends it hits (default: all). */
  times?: number;
  message?: string;
}

export interface StandinMessage {
  wamid: string;
  to: string;
  type: 'text' | 'template' | 'interactive';
  text?: string;
  template?: { name: string; language: string; params: string[] };
  /** Interactive reply buttons or list rows the client sees. */
  interactive?: { type: 'button' | 'list'; options: { id: string; title: string }[] };
  /** A template's quick replies as the client sees them, with the payload each sends back. */
  quickReplies?: { text: string; payload: string }[];
  /** Body as the client would see it (template parameters substituted). */
  rendered: string;
  at: number;
  status: 'accepted' | StatusName | 'failed';
}

export interface ThreadEntry {
  direction: 'out' | 'in';
  wamid: string;
  text: string;
  at: number;
  status?: StandinMessage['status'];
}

export interface StandinCall {
  method: string;
  path: string;
  status: number;
  errorCode?: number;
  at: number;
}

export interface WebhookRecord {
  body: string;
  status: number;
  at: number;
}

export interface WhatsAppStandin {
  readonly url: string;
  readonly token: string;
  readonly phoneNumberId: string;
  readonly businessAccountId: string;
  readonly appSecret: string;
  readonly apiVersion: string;
  /** Every accepted message, in order. */
  readonly messages: StandinMessage[];
  readonly calls: StandinCall[];
  readonly webhooks: WebhookRecord[];
  /** Counts of answers by Graph error code. */
  readonly errorCounts: Map<number, number>;
  setWebhookUrl(url: string | undefined): void;
  failRecipient(to: string, e: InjectedError): void;
  clearFaults(): void;
  setTemplate(t: StandinTemplate, opts?: { notify?: boolean }): Promise<void>;
  setTemplateCategory(name: string, language: string, category: string): Promise<void>;
  removeTemplate(name: string, language: string): void;
  templates(): StandinTemplate[];
  /** The client writes a text (opens its 24 h window); resolves with the inbound wamid. */
  clientSends(from: string, text: string, opts?: { name?: string }): Promise<string>;
  /** The client presses a quick-reply button of a template (`button`) or interactive reply. */
  clientPresses(from: string, button: { payload: string; text: string }): Promise<string>;
  /** The client answers an interactive message (`interactive.button_reply` / `list_reply`), as given. */
  clientTaps(from: string, reply: { id: string; title: string }, kind?: 'button' | 'list'): Promise<string>;
  /**
   * The client presses the button titled `title` of the message `wamid` it received: a template's
   * quick reply (`button` with its payload) or an interactive reply. Throws if there is no such button.
   */
  clientChooses(wamid: string, title: string): Promise<string>;
  /**
   * The client sends an image or a document. `statedSize` is the size `GET /{media-id}` states
   * (default the real one); when it differs the download carries no Content-Length, as a lying
   * or streaming server would.
   */
  clientSendsMedia(
    from: string,
    m: {
      kind: 'image' | 'document';
      bytes: Buffer;
      mime: string;
      filename?: string;
      caption?: string;
      statedSize?: number;
    },
  ): Promise<{ wamid: string; mediaId: string }>;
  /** Downloads of media served (with the right token), by media id. */
  readonly mediaDownloads: string[];
  /** Open window until (ms), or undefined. */
  windowUntil(number: string): number | undefined;
  /** Messages in and out of one number, oldest first (the sandbox phone). */
  thread(number: string): ThreadEntry[];
  /** Called on every accepted message and every client message (the sandbox's live view). */
  onEvent(fn: (e: { type: 'out' | 'in' | 'status'; number: string; wamid: string }) => void): () => void;
  /** The status a message has reached (accepted → sent → delivered → read, or failed). */
  statusOf(wamid: string): StandinMessage['status'] | undefined;
  /** Resolves when no webhook is scheduled or in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const API_VERSION_PATH = /^\/(v\d+\.\d+)\/([^/?]+)(?:\/([a-z_]+))?\/?$/;
const MEDIA_PATH = '/whatsapp_business/attachments/';
const MAX_BODY = 256 * 1024;

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

/** HTTP status Meta answers for a code. */
function httpStatusOf(code: number): number {
  if (code === 190 || code === 0) return 401;
  if (code === 10 || code === 3 || (code >= 200 && code <= 299)) return 403;
  if (code === 130429 || code === 80007 || code === 4 || code === 131056) return 429;
  if (code === 131000 || code === 133004 || code === 1 || code === 2) return 500;
  return 400;
}

const TITLES: Record<number, string> = {
  130429: 'Rate limit hit',
  131056: '(Business Account, Consumer Account) pair rate limit hit',
  131048: 'Spam rate limit hit',
  131026: 'Message undeliverable',
  131047: 'Re-engagement message',
  131050: 'User has stopped marketing messages',
  132000: 'Number of parameters does not match the expected number of params',
  132001: 'Template name does not exist in the translation',
  132015: 'Template is paused',
  132016: 'Template is disabled',
  131008: 'Required parameter is missing',
  131009: 'Parameter value is not valid',
  190: 'Invalid OAuth access token',
  100: 'Invalid parameter',
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function countParams(body: string): number {
  return new Set([...body.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1])).size;
}

export async function startWhatsAppStandin(opts: WhatsAppStandinOptions = {}): Promise<WhatsAppStandin> {
  const s = new Standin(opts);
  await s.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return s;
}

class Standin implements WhatsAppStandin {
  readonly token: string;
  readonly phoneNumberId: string;
  readonly businessAccountId: string;
  readonly appSecret: string;
  readonly apiVersion = 'v23.0';
  readonly messages: StandinMessage[] = [];
  readonly calls: StandinCall[] = [];
  readonly webhooks: WebhookRecord[] = [];
  readonly errorCounts = new Map<number, number>();
  readonly mediaDownloads: string[] = [];
  private readonly media = new Map<
    string,
    { bytes: Buffer; mime: string; sha256: string; statedSize: number | undefined }
  >();
  private address = '';
  private readonly server: Server;
  private webhookUrl: string | undefined;
  private readonly registry = new Map<string, StandinTemplate>();
  private readonly faults = new Map<string, InjectedError & { left: number }>();
  private readonly lastToRecipient = new Map<string, number>();
  private readonly windows = new Map<string, number>();
  private readonly daily = new Map<string, number>();
  private readonly inbound: (ThreadEntry & { from: string })[] = [];
  private readonly byWamid = new Map<string, StandinMessage>();
  private readonly listeners = new Set<
    (e: { type: 'out' | 'in' | 'status'; number: string; wamid: string }) => void
  >();
  private readonly random: () => number;
  private readonly now: () => number;
  private tokens: number;
  private lastRefill = performance.now();
  private readonly rate: number;
  private readonly burst: number;
  private pending = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private batch: { status: Record<string, unknown> }[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  /** One message's status POSTs, one after another (see `queueStatus`). */
  private readonly statusChains = new Map<string, Promise<void>>();
  private closed = false;
  private seq = 0;

  constructor(private readonly opts: WhatsAppStandinOptions) {
    this.token = opts.token ?? `EAAT${randomBytes(24).toString('hex')}`;
    this.phoneNumberId = opts.phoneNumberId ?? '109000000000001';
    this.businessAccountId = opts.businessAccountId ?? '209000000000001';
    this.appSecret = opts.appSecret ?? randomBytes(16).toString('hex');
    this.webhookUrl = opts.webhookUrl;
    this.random = mulberry32(opts.seed ?? 42);
    this.now = opts.now ?? Date.now;
    this.rate = opts.ratePerSecond ?? 80;
    this.burst = opts.burst ?? Math.max(1, this.rate / 10);
    this.tokens = this.burst;
    const initial =
      opts.templates ??
      suggestedTemplates.map((t) => ({
        name: t.name,
        language: t.language,
        status: 'APPROVED',
        category: t.category,
        body: t.body,
        ...(t.buttons && { buttons: [...t.buttons] }),
      }));
    for (const t of initial) this.registry.set(`${t.name}:${t.language}`, { id: this.nextId('tpl'), ...t });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    this.server.keepAliveTimeout = 30_000;
  }

  get url(): string {
    return this.address;
  }

  async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const { port: actual } = this.server.address() as AddressInfo;
    this.address = `http://${host}:${actual}`;
  }

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${Date.now().toString(36)}${this.seq.toString(36).padStart(6, '0')}`;
  }

  private newWamid(): string {
    this.seq += 1;
    const raw = `${this.phoneNumberId}:${this.seq}:${randomBytes(6).toString('hex')}`;
    return `wamid.${Buffer.from(raw).toString('base64url')}`;
  }

  setWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
  }

  failRecipient(to: string, e: InjectedError): void {
    this.faults.set(to, { ...e, left: e.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  templates(): StandinTemplate[] {
    return [...this.registry.values()];
  }

  async setTemplate(t: StandinTemplate, o: { notify?: boolean } = {}): Promise<void> {
    const key = `${t.name}:${t.language}`;
    const id = this.registry.get(key)?.id ?? t.id ?? this.nextId('tpl');
    this.registry.set(key, { ...t, id });
    if (o.notify !== false) {
      await this.postWebhook('message_template_status_update', {
        event: t.status,
        message_template_id: Number.parseInt(id.replace(/\D/g, '').slice(0, 15) || '1', 10),
        message_template_name: t.name,
        message_template_language: t.language,
        reason: t.status === 'REJECTED' ? 'INCORRECT_CATEGORY' : 'NONE',
      });
    }
  }

  async setTemplateCategory(name: string, language: string, category: string): Promise<void> {
    const t = this.registry.get(`${name}:${language}`);
    if (!t) return;
    const previous = t.category;
    t.category = category;
    await this.postWebhook('template_category_update', {
      message_template_id: 1,
      message_template_name: name,
      message_template_language: language,
      previous_category: previous,
      new_category: category,
    });
  }

  removeTemplate(name: string, language: string): void {
    this.registry.delete(`${name}:${language}`);
  }

  windowUntil(number: string): number | undefined {
    const w = this.windows.get(number);
    return w !== undefined && w > this.now() ? w : undefined;
  }

  thread(number: string): ThreadEntry[] {
    const out: ThreadEntry[] = this.messages
      .filter((m) => m.to === number)
      .map((m) => ({ direction: 'out', wamid: m.wamid, text: m.rendered, at: m.at, status: m.status }));
    for (const { from, ...e } of this.inbound) if (from === number) out.push(e);
    return out.sort((a, b) => a.at - b.at);
  }

  onEvent(fn: (e: { type: 'out' | 'in' | 'status'; number: string; wamid: string }) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: { type: 'out' | 'in' | 'status'; number: string; wamid: string }): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        // a listener's bug is not the stand-in's
      }
    }
  }

  async clientSends(from: string, text: string, o: { name?: string } = {}): Promise<string> {
    return this.inboundMessage(from, { type: 'text', text: { body: text } }, text, o.name);
  }

  async clientPresses(from: string, button: { payload: string; text: string }): Promise<string> {
    return this.inboundMessage(from, { type: 'button', button }, button.text);
  }

  async clientTaps(
    from: string,
    reply: { id: string; title: string },
    kind: 'button' | 'list' = 'button',
  ): Promise<string> {
    const key = kind === 'button' ? 'button_reply' : 'list_reply';
    return this.inboundMessage(
      from,
      { type: 'interactive', interactive: { type: key, [key]: reply } },
      reply.title,
    );
  }

  async clientChooses(wamid: string, title: string): Promise<string> {
    const msg = this.byWamid.get(wamid);
    if (!msg) throw new Error(`stand-in: no message ${wamid}`);
    const context = { from: '593990000000', id: wamid };
    const quick = msg.quickReplies?.find((q) => q.text === title);
    if (quick) {
      return this.inboundMessage(
        msg.to,
        { type: 'button', button: { payload: quick.payload, text: quick.text }, context },
        quick.text,
      );
    }
    const option = msg.interactive?.options.find((o) => o.title === title);
    if (option && msg.interactive) {
      const key = msg.interactive.type === 'button' ? 'button_reply' : 'list_reply';
      return this.inboundMessage(
        msg.to,
        { type: 'interactive', interactive: { type: key, [key]: option }, context },
        option.title,
      );
    }
    const titles = [
      ...(msg.quickReplies ?? []).map((q) => q.text),
      ...(msg.interactive?.options ?? []).map((o) => o.title),
    ];
    throw new Error(
      `stand-in: message ${wamid} has no button «${title}» (it has: ${titles.join(', ') || 'none'})`,
    );
  }

  async clientSendsMedia(
    from: string,
    m: {
      kind: 'image' | 'document';
      bytes: Buffer;
      mime: string;
      filename?: string;
      caption?: string;
      statedSize?: number;
    },
  ): Promise<{ wamid: string; mediaId: string }> {
    this.seq += 1;
    const mediaId = `${Date.now()}${String(this.seq).padStart(6, '0')}`;
    const sha256 = createHash('sha256').update(m.bytes).digest('base64');
    this.media.set(mediaId, { bytes: m.bytes, mime: m.mime, sha256, statedSize: m.statedSize });
    const content = {
      id: mediaId,
      mime_type: m.mime,
      sha256,
      ...(m.caption && { caption: m.caption }),
      ...(m.kind === 'document' && m.filename && { filename: m.filename }),
    };
    const wamid = await this.inboundMessage(
      from,
      { type: m.kind, [m.kind]: content },
      m.caption ?? (m.kind === 'image' ? '[imagen]' : `[documento${m.filename ? `: ${m.filename}` : ''}]`),
    );
    return { wamid, mediaId };
  }

  private async inboundMessage(from: string, content: Record<string, unknown>, text: string, name?: string) {
    const at = this.now();
    const wamid = this.newWamid();
    this.windows.set(from, at + 24 * 3600_000);
    const entry = { direction: 'in' as const, wamid, text, at, from };
    this.inbound.push(entry);
    this.emit({ type: 'in', number: from, wamid });
    await this.postWebhook('messages', {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '593990000000', phone_number_id: this.phoneNumberId },
      contacts: [{ profile: { name: name ?? 'Cliente' }, wa_id: from }],
      messages: [{ from, id: wamid, timestamp: String(Math.floor(at / 1000)), ...content }],
    });
    return wamid;
  }

  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.pending = 0;
    for (const w of this.idleWaiters.splice(0)) w();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- HTTP ---------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    const method = req.method ?? 'GET';
    let status = 200;
    let body: unknown;
    let errorCode: number | undefined;
    try {
      const raw = await readBody(req);
      if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
      const auth = req.headers.authorization ?? '';
      if (url.pathname === MEDIA_PATH && method === 'GET') {
        if (auth !== `Bearer ${this.token}`) {
          throw new GraphError(401, 190, 'Invalid OAuth access token - Cannot parse access token');
        }
        const id = url.searchParams.get('mid') ?? '';
        const media = this.media.get(id);
        if (!media) throw new GraphError(404, 100, 'Media not found');
        this.mediaDownloads.push(id);
        this.calls.push({ method, path: url.pathname, status: 200, at });
        if (res.destroyed) return;
        // A stated size that is not the real one: no Content-Length, the reader must count.
        const honest = media.statedSize === undefined || media.statedSize === media.bytes.length;
        res.writeHead(200, {
          'content-type': media.mime,
          ...(honest && { 'content-length': media.bytes.length }),
        });
        for (let i = 0; i < media.bytes.length && !res.destroyed; i += 256 * 1024) {
          if (!res.write(media.bytes.subarray(i, i + 256 * 1024))) {
            await new Promise<void>((resolve) => {
              res.once('drain', resolve);
              res.once('close', resolve);
            });
          }
        }
        res.end();
        return;
      }
      const m = API_VERSION_PATH.exec(url.pathname);
      if (!m) throw new GraphError(404, 100, 'Unknown path components');
      if (auth !== `Bearer ${this.token}`) {
        throw new GraphError(401, 190, 'Invalid OAuth access token - Cannot parse access token');
      }
      const [, , object, edge] = m;
      if (method === 'POST' && edge === 'messages' && object === this.phoneNumberId) {
        body = this.sendMessage(parseJson(raw));
      } else if (method === 'GET' && edge === 'message_templates' && object === this.businessAccountId) {
        body = this.listTemplates(url.searchParams);
      } else if (method === 'GET' && !edge && object !== undefined && this.media.has(object)) {
        const media = this.media.get(object)!;
        body = {
          messaging_product: 'whatsapp',
          url: `${this.address}${MEDIA_PATH}?mid=${object}&ext=${Date.now()}`,
          mime_type: media.mime,
          sha256: media.sha256,
          file_size: media.statedSize ?? media.bytes.length,
          id: object,
        };
      } else if (method === 'GET' && !edge && object === this.phoneNumberId) {
        body = {
          id: this.phoneNumberId,
          display_phone_number: '+593 99 000 0000',
          verified_name: 'TelTec (simulador)',
          quality_rating: 'GREEN',
          messaging_limit_tier: `TIER_${this.opts.dailyLimit ?? 250}`,
        };
      } else {
        throw new GraphError(
          400,
          100,
          `Unsupported ${method.toLowerCase()} request. Object with ID '${object}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
        );
      }
    } catch (thrown) {
      const e = thrown instanceof GraphError ? thrown : new GraphError(500, 1, 'An unknown error occurred');
      status = e.status;
      errorCode = e.code;
      this.errorCounts.set(e.code, (this.errorCounts.get(e.code) ?? 0) + 1);
      body = {
        error: {
          message: `(#${e.code}) ${e.message}`,
          type: e.code === 190 ? 'OAuthException' : 'OAuthException',
          code: e.code,
          ...(e.details && { error_data: { messaging_product: 'whatsapp', details: e.details } }),
          fbtrace_id: randomBytes(8).toString('base64url'),
        },
      };
    }
    this.calls.push({
      method,
      path: url.pathname,
      status,
      at,
      ...(errorCode !== undefined && { errorCode }),
    });
    if (this.calls.length > 100_000) this.calls.splice(0, 50_000);
    const data = JSON.stringify(body);
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
    res.end(data);
  }

  private listTemplates(q: URLSearchParams): unknown {
    const all = [...this.registry.values()].sort((a, b) =>
      (a.name + a.language).localeCompare(b.name + b.language),
    );
    const limit = Math.max(1, Math.min(1000, Number(q.get('limit') ?? 25) || 25));
    const start = q.get('after') ? Number(Buffer.from(q.get('after')!, 'base64url').toString()) || 0 : 0;
    const page = all.slice(start, start + limit);
    const next =
      start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64url') : undefined;
    return {
      data: page.map((t) => ({
        id: t.id,
        name: t.name,
        language: t.language,
        status: t.status,
        category: t.category,
        components: [
          { type: 'BODY', text: t.body },
          ...(t.buttons?.length
            ? [{ type: 'BUTTONS', buttons: t.buttons.map((text) => ({ type: 'QUICK_REPLY', text })) }]
            : []),
        ],
      })),
      paging: {
        cursors: { before: Buffer.from(String(start)).toString('base64url'), after: next ?? '' },
        ...(next && {
          next: `${this.address}/${this.apiVersion}/${this.businessAccountId}/message_templates?after=${next}`,
        }),
      },
    };
  }

  private takeGlobalToken(): boolean {
    const t = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.lastRefill) / 1000) * this.rate);
    this.lastRefill = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private sendMessage(p: Record<string, unknown>): unknown {
    if (p.messaging_product !== 'whatsapp') {
      throw new GraphError(400, 100, 'The parameter messaging_product is required.');
    }
    const to = typeof p.to === 'string' ? p.to.replace(/^\+/, '') : '';
    if (!/^\d{8,15}$/.test(to))
      throw new GraphError(400, 100, 'Invalid parameter', 'to must be a phone number');
    const type = p.type ?? 'text';
    let rendered: string;
    let template: StandinMessage['template'];
    let interactive: StandinMessage['interactive'];
    let quickReplies: StandinMessage['quickReplies'];
    let text: string | undefined;
    if (type === 'text') {
      const body = (p.text as { body?: unknown } | undefined)?.body;
      if (typeof body !== 'string' || body.trim() === '') {
        throw new GraphError(400, 131008, 'Required parameter is missing', 'text.body is required');
      }
      if (body.length > 4096) throw new GraphError(400, 100, 'Invalid parameter', 'text.body is too long');
      text = body;
      rendered = body;
    } else if (type === 'template') {
      const t = p.template as
        | {
            name?: unknown;
            language?: { code?: unknown };
            components?: {
              type?: string;
              sub_type?: unknown;
              index?: unknown;
              parameters?: { type?: string; text?: unknown; payload?: unknown }[];
            }[];
          }
        | undefined;
      const name = typeof t?.name === 'string' ? t.name : '';
      const language = typeof t?.language?.code === 'string' ? t.language.code : '';
      if (!name || !language) {
        throw new GraphError(
          400,
          131008,
          'Required parameter is missing',
          'template.name and template.language.code are required',
        );
      }
      const reg = this.registry.get(`${name}:${language}`);
      if (!reg) {
        throw new GraphError(
          400,
          132001,
          TITLES[132001]!,
          `template name (${name}) does not exist in ${language}`,
        );
      }
      if (reg.status === 'PAUSED') throw new GraphError(400, 132015, TITLES[132015]!);
      if (reg.status === 'DISABLED') throw new GraphError(400, 132016, TITLES[132016]!);
      if (reg.status !== 'APPROVED') {
        throw new GraphError(400, 132001, TITLES[132001]!, `template (${name}) is ${reg.status}`);
      }
      const params = (t?.components ?? []).find((c) => c.type === 'body')?.parameters ?? [];
      const values: string[] = [];
      for (const [i, prm] of params.entries()) {
        if (typeof prm.text !== 'string' || prm.text.trim() === '') {
          throw new GraphError(400, 131008, TITLES[131008]!, `body parameter ${i + 1} is empty`);
        }
        if (/[\n\t]| {5,}/.test(prm.text)) {
          throw new GraphError(400, 132012, 'Parameter format does not match format in the created template');
        }
        values.push(prm.text);
      }
      const expected = countParams(reg.body);
      if (values.length !== expected) {
        throw new GraphError(400, 132000, TITLES[132000]!, `expected ${expected}, received ${values.length}`);
      }
      const quick = reg.buttons ?? [];
      const payloads = new Map<number, string>();
      for (const c of t?.components ?? []) {
        if (c.type === 'body' || c.type === 'header') continue;
        if (c.type !== 'button') {
          throw new GraphError(
            400,
            100,
            'Invalid parameter',
            `component type ${String(c.type)} is not valid`,
          );
        }
        if (c.sub_type !== 'quick_reply') {
          throw new GraphError(
            400,
            131009,
            TITLES[131009]!,
            `button sub_type ${String(c.sub_type)} is not valid`,
          );
        }
        const index = typeof c.index === 'string' || typeof c.index === 'number' ? String(c.index) : '';
        if (!/^\d{1,2}$/.test(index) || Number(index) >= quick.length) {
          throw new GraphError(
            400,
            132000,
            TITLES[132000]!,
            `button at index ${index || '?'} does not exist in template (${name}), which has ${quick.length} quick replies`,
          );
        }
        if (payloads.has(Number(index))) {
          throw new GraphError(400, 131009, TITLES[131009]!, `button index ${index} is repeated`);
        }
        const prm = c.parameters ?? [];
        const payload = prm[0]?.payload;
        if (prm.length !== 1 || prm[0]?.type !== 'payload' || typeof payload !== 'string' || payload === '') {
          throw new GraphError(
            400,
            131008,
            TITLES[131008]!,
            `button ${index} needs exactly one payload parameter`,
          );
        }
        if (payload.length > 1000) {
          throw new GraphError(400, 131009, TITLES[131009]!, `button ${index} payload is too long`);
        }
        payloads.set(Number(index), payload);
      }
      template = { name, language, params: values };
      // Without a payload, Meta sends the button's text back.
      quickReplies = quick.map((text, i) => ({ text, payload: payloads.get(i) ?? text }));
      rendered = reg.body.replace(/\{\{\s*(\d+)\s*\}\}/g, (_, n: string) => values[Number(n) - 1] ?? '');
    } else if (type === 'interactive') {
      interactive = checkInteractive(p.interactive);
      const body = (p.interactive as { body: { text: string } }).body.text;
      rendered = `${body}\n${interactive.options.map((o) => `[${o.title}]`).join(' ')}`;
    } else {
      throw new GraphError(
        400,
        100,
        'Invalid parameter',
        `type ${String(type)} is not supported by the stand-in`,
      );
    }

    // Injected errors for this recipient.
    const fault = this.faults.get(to);
    let statusFault: number | undefined;
    if (fault && fault.left > 0) {
      fault.left -= 1;
      if ((fault.mode ?? 'sync') === 'sync') {
        throw new GraphError(
          httpStatusOf(fault.code),
          fault.code,
          fault.message ?? TITLES[fault.code] ?? 'Injected error',
        );
      }
      statusFault = fault.code;
    }

    // Limits, as Meta counts them: throughput, pair rate, daily tier of business-initiated users.
    const nowMono = performance.now();
    const pair = this.opts.pairIntervalMs ?? 6000;
    const last = this.lastToRecipient.get(to);
    if (pair > 0 && last !== undefined && nowMono - last < pair - (this.opts.pairToleranceMs ?? 150)) {
      throw new GraphError(
        429,
        131056,
        TITLES[131056]!,
        'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
      );
    }
    if (!this.takeGlobalToken()) {
      throw new GraphError(429, 130429, TITLES[130429]!, 'Cloud API message throughput has been reached.');
    }
    const now = this.now();
    const inWindow = (this.windows.get(to) ?? 0) > now;
    const limit = this.opts.dailyLimit ?? 250;
    if (!inWindow && type === 'template' && limit > 0) {
      for (const [n, t] of this.daily) if (t <= now - 24 * 3600_000) this.daily.delete(n);
      if (!this.daily.has(to)) {
        if (this.daily.size >= limit) {
          throw new GraphError(
            400,
            131048,
            TITLES[131048]!,
            'Messaging limit of unique users reached for the current tier.',
          );
        }
        this.daily.set(to, now);
      }
    }
    this.lastToRecipient.set(to, nowMono);
    const wamid = this.newWamid();
    const msg: StandinMessage = {
      wamid,
      to,
      type: type as StandinMessage['type'],
      ...(text !== undefined && { text }),
      ...(template && { template }),
      ...(interactive && { interactive }),
      ...(quickReplies && quickReplies.length > 0 && { quickReplies }),
      rendered,
      at: now,
      status: 'accepted',
    };
    this.messages.push(msg);
    this.byWamid.set(wamid, msg);
    this.emit({ type: 'out', number: to, wamid });
    // Free text outside the window is accepted and fails by webhook, as on the real API.
    if ((type === 'text' || type === 'interactive') && !inWindow) statusFault = 131047;
    this.scheduleStatuses(msg, statusFault);
    return {
      messaging_product: 'whatsapp',
      contacts: [{ input: p.to, wa_id: to }],
      messages: [{ id: wamid, ...(type === 'template' && { message_status: 'accepted' }) }],
    };
  }

  // --- Webhooks -----------------------------------------------------------------------------------

  private scheduleStatuses(msg: StandinMessage, failCode?: number): void {
    if (!this.webhookUrl) return;
    const delays = { sent: 0, delivered: 5, read: 10, ...this.opts.statusDelaysMs };
    type Planned = { status: StatusName | 'failed'; delay: number; code?: number };
    let plan: Planned[] = [];
    if (failCode !== undefined) plan = [{ status: 'failed', delay: delays.sent ?? 0, code: failCode }];
    else {
      for (const s of ['sent', 'delivered', 'read'] as const) {
        const d = delays[s];
        if (d !== null && d !== undefined) plan.push({ status: s, delay: d });
      }
      if (this.opts.statusOrder === 'reverse') {
        const ds = plan.map((p) => p.delay);
        plan = plan.reverse().map((p, i) => ({ ...p, delay: ds[i]! }));
      } else if (this.opts.statusOrder === 'shuffle') {
        const ds = plan.map((p) => p.delay);
        for (let i = plan.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [plan[i], plan[j]] = [plan[j]!, plan[i]!];
        }
        plan = plan.map((p, i) => ({ ...p, delay: ds[i]! }));
      }
    }
    for (const p of plan) {
      if (this.opts.dropRate && this.random() < this.opts.dropRate) continue;
      this.pending += 1;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (p.status !== 'failed') msg.status = laterOf(msg.status, p.status);
        else msg.status = 'failed';
        this.emit({ type: 'status', number: msg.to, wamid: msg.wamid });
        this.queueStatus({
          id: msg.wamid,
          status: p.status,
          timestamp: String(Math.floor(this.now() / 1000)),
          recipient_id: msg.to,
          ...(p.status !== 'failed' &&
            msg.type === 'template' && {
              pricing: { billable: true, pricing_model: 'PMP', category: this.categoryOf(msg) },
            }),
          ...(p.status === 'failed' && {
            errors: [
              {
                code: p.code,
                title: TITLES[p.code!] ?? 'Error',
                message: TITLES[p.code!] ?? 'Error',
                error_data: { details: TITLES[p.code!] ?? 'Injected error' },
              },
            ],
          }),
        });
        this.done();
      }, p.delay);
      this.timers.add(timer);
    }
  }

  private categoryOf(msg: StandinMessage): string {
    const t = msg.template && this.registry.get(`${msg.template.name}:${msg.template.language}`);
    return (t?.category ?? 'utility').toLowerCase();
  }

  private queueStatus(status: Record<string, unknown>): void {
    const size = this.opts.statusBatch ?? 1;
    if (size <= 1) {
      // A message's statuses reach the webhook in the order they happened: each POST waits for the
      // one before it (separate POSTs 5 ms apart could overtake each other on a busy machine).
      // Different messages' statuses still go at once.
      const id = String(status.id);
      this.pending += 1;
      const next = (this.statusChains.get(id) ?? Promise.resolve())
        .then(() => this.postWebhook('messages', this.statusValue([status])))
        .finally(() => {
          if (this.statusChains.get(id) === next) this.statusChains.delete(id);
          this.done();
        });
      this.statusChains.set(id, next);
      return;
    }
    this.batch.push({ status });
    if (this.batch.length >= size) this.flushBatch();
    else this.batchTimer ??= setTimeout(() => this.flushBatch(), 5);
  }

  private flushBatch(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const items = this.batch.splice(0);
    if (items.length) void this.postWebhook('messages', this.statusValue(items.map((i) => i.status)));
  }

  private statusValue(statuses: Record<string, unknown>[]) {
    return {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '593990000000', phone_number_id: this.phoneNumberId },
      statuses,
    };
  }

  private done(): void {
    this.pending -= 1;
    if (this.pending <= 0) {
      this.pending = 0;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** POSTs one signed webhook (retried 3 times on a non-2xx answer, like Meta but faster). */
  private async postWebhook(field: string, value: unknown): Promise<void> {
    const url = this.webhookUrl;
    if (!url || this.closed) return;
    this.pending += 1;
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: this.businessAccountId, changes: [{ value, field }] }],
    });
    try {
      for (let attempt = 0; attempt < 3 && !this.closed; attempt++) {
        let status = 0;
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-hub-signature-256': signWebhookBody(this.appSecret, body),
            },
            body,
          });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          status = 0;
        }
        this.webhooks.push({ body, status, at: Date.now() });
        if (this.webhooks.length > 100_000) this.webhooks.splice(0, 50_000);
        if (status >= 200 && status < 300) return;
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      }
    } finally {
      this.done();
    }
  }

  /** The status a message has now (tests). */
  statusOf(wamid: string): StandinMessage['status'] | undefined {
    return this.byWamid.get(wamid)?.status;
  }
}

const rank: Record<StandinMessage['status'], number> = {
  accepted: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: 4,
};
function laterOf(a: StandinMessage['status'], b: StandinMessage['status']): StandinMessage['status'] {
  return rank[b] > rank[a] ? b : a;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new GraphError(413, 100, 'Request too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(raw: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // falls through
  }
  throw new GraphError(400, 100, 'Invalid JSON body');
}

/** Unicode characters, as Meta counts a title's length. */
const chars = (v: string) => [...v].length;

/**
 * Meta's checks on an interactive message: reply buttons (1–3, unique ids and titles, title
 * 1–20 characters, id ≤ 256) or a list (button ≤ 20, 1–10 sections, 1–10 rows in all, row title
 * ≤ 24, description ≤ 72, id ≤ 200, unique); body text 1–1024. Throws Meta's error otherwise.
 */
function checkInteractive(raw: unknown): NonNullable<StandinMessage['interactive']> {
  const bad = (details: string) => new GraphError(400, 131009, 'Parameter value is not valid', details);
  const i = raw as
    | {
        type?: unknown;
        body?: { text?: unknown };
        action?: {
          buttons?: { type?: unknown; reply?: { id?: unknown; title?: unknown } }[];
          button?: unknown;
          sections?: { title?: unknown; rows?: { id?: unknown; title?: unknown; description?: unknown }[] }[];
        };
      }
    | undefined;
  if (!i || typeof i !== 'object') {
    throw new GraphError(400, 131008, 'Required parameter is missing', 'interactive is required');
  }
  const body = i.body?.text;
  if (typeof body !== 'string' || body.trim() === '') {
    throw new GraphError(400, 131008, 'Required parameter is missing', 'interactive.body.text is required');
  }
  if (chars(body) > 1024) throw bad('Body text length invalid. Max length: 1024');
  const options: { id: string; title: string }[] = [];
  if (i.type === 'button') {
    const buttons = Array.isArray(i.action?.buttons) ? i.action.buttons : [];
    if (buttons.length < 1 || buttons.length > 3) {
      throw bad(
        `Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3 (got ${buttons.length})`,
      );
    }
    for (const b of buttons) {
      const id = b?.reply?.id;
      const title = b?.reply?.title;
      if (b?.type !== 'reply') throw bad('Button type must be reply');
      if (typeof id !== 'string' || id === '' || chars(id) > 256)
        throw bad('Button id length invalid. Max length: 256');
      if (typeof title !== 'string' || title.trim() === '' || chars(title) > 20) {
        throw bad(`Button title length invalid. Min length: 1, Max length: 20 («${String(title)}»)`);
      }
      options.push({ id, title });
    }
  } else if (i.type === 'list') {
    const button = i.action?.button;
    if (typeof button !== 'string' || button.trim() === '' || chars(button) > 20) {
      throw bad('Button label length invalid. Min length: 1, Max length: 20');
    }
    const sections = Array.isArray(i.action?.sections) ? i.action.sections : [];
    if (sections.length < 1 || sections.length > 10) throw bad('Invalid sections count. Min: 1, Max: 10');
    for (const sec of sections) {
      if (sections.length > 1 && (typeof sec?.title !== 'string' || chars(sec.title) > 24)) {
        throw bad('Section title is required with more than one section (max length 24)');
      }
      for (const r of Array.isArray(sec?.rows) ? sec.rows : []) {
        if (typeof r?.id !== 'string' || r.id === '' || chars(r.id) > 200)
          throw bad('Row id length invalid. Max length: 200');
        if (typeof r.title !== 'string' || r.title.trim() === '' || chars(r.title) > 24) {
          throw bad(`Row title length invalid. Min length: 1, Max length: 24 («${String(r.title)}»)`);
        }
        if (r.description !== undefined && (typeof r.description !== 'string' || chars(r.description) > 72)) {
          throw bad('Row description length invalid. Max length: 72');
        }
        options.push({ id: r.id, title: r.title });
      }
    }
    if (options.length < 1 || options.length > 10)
      throw bad(`Invalid rows count. Min: 1, Max: 10 (got ${options.length})`);
  } else {
    throw new GraphError(
      400,
      100,
      'Invalid parameter',
      `interactive type ${String(i.type)} is not supported`,
    );
  }
  if (new Set(options.map((o) => o.id)).size !== options.length) throw bad('Reply ids must be unique');
  if (new Set(options.map((o) => o.title)).size !== options.length) throw bad('Reply titles must be unique');
  return { type: i.type, options };
}
