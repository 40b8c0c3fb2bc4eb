import type { ChannelAdapter } from '../channels/types.js';
import type { WhatsAppConfig } from '../config.js';
import { type Db, isDatabaseUnavailable } from '../db/index.js';
import { createBatcher, type ItemResult } from '../lib/index.js';
import type { Logger } from '../logger.js';
import { createWhatsAppAdapter } from './adapter.js';
import { createWhatsAppClient, type WhatsAppClient } from './graph.js';
import { verifyWebhookSignature } from './signature.js';
import { createTemplateSync, type TemplateSync } from './templates.js';
import {
  type InboundWithClient,
  type IngestResult,
  ingestWebhook,
  type ParsedWebhook,
  parseWebhook,
  type SettleAsyncFailures,
} from './webhook.js';

/**
 * The WhatsApp channel's parts, built (not started) from the settings: the Cloud API client, the
 * channel adapter, the template sync, and the webhook's acceptance. `main.ts` builds it when
 * WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID are set and runs `run(signal)` (template sync at
 * start and hourly).
 */

/** The few logging calls the webhook makes (a Fastify request logger or pino). */
export interface WebhookLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type InboundHandler = (m: InboundWithClient) => Promise<void> | void;

export type WebhookAcceptance =
  | { status: 200; resultado: 'aceptado' | 'ignorado'; result?: IngestResult }
  | { status: 401; reason: 'firma' }
  | { status: 503; reason: 'base_de_datos' | 'sin_secreto' };

export interface WhatsAppService {
  readonly client: WhatsAppClient;
  readonly adapter: ChannelAdapter;
  readonly templateSync: TemplateSync;
  readonly verifyToken: string | undefined;
  /** Checks the signature of the raw body, then parses and applies it (one transaction). */
  acceptWebhook(
    raw: Buffer | undefined,
    signature: string | undefined,
    log: WebhookLog,
  ): Promise<WebhookAcceptance>;
  /**
   * Registers what happens when a client writes (helper waui: ESTADO, BAJA, opt-in answers).
   * Called once per new message, after it is recorded and the window opened; errors are logged.
   */
  onInbound(handler: InboundHandler): () => void;
  /** The last failed send of this process (code, Spanish text, when), or null. */
  lastError(): { codigo: string; mensaje: string; at: Date } | null;
  /** Template sync at once and hourly until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

export interface WhatsAppServiceDeps {
  db: Db;
  config: WhatsAppConfig & { token: string; phoneNumberId: string };
  clock: { now(): Date };
  logger: Logger;
  /** The outbox's settle step for attempts a `failed` status closed (retry, template, unreachable…). */
  settleAsyncFailures?: SettleAsyncFailures;
  /** Seam for tests: a client on the stand-in is built from config.apiRoot anyway. */
  client?: WhatsAppClient;
}

export function createWhatsAppService(deps: WhatsAppServiceDeps): WhatsAppService {
  const { config, logger } = deps;
  const client =
    deps.client ??
    createWhatsAppClient({
      token: config.token,
      phoneNumberId: config.phoneNumberId,
      ...(config.businessAccountId && { businessAccountId: config.businessAccountId }),
      apiRoot: config.apiRoot,
      apiVersion: config.apiVersion,
    });
  const base = createWhatsAppAdapter({
    client,
    ratePerSecond: config.ratePerSecond,
    dailyLimit: config.dailyLimit,
  });
  let lastError: { codigo: string; mensaje: string; at: Date } | null = null;
  // The adapter as the dispatcher sees it, remembering the channel's last failure (Ajustes shows it).
  const adapter: ChannelAdapter = {
    ...base,
    pacing: () => base.pacing(),
    classify: (f) => base.classify(f),
    async send(m) {
      const r = await base.send(m);
      if (!r.ok) {
        lastError = { codigo: r.failure.code, mensaje: r.failure.message, at: deps.clock.now() };
        void deps.db
          .query('UPDATE whatsapp_state SET ultimo_error = $1, ultimo_error_at = $2 WHERE id = 1', [
            `${lastError.codigo}: ${lastError.mensaje}`,
            lastError.at,
          ])
          .catch(() => {});
      }
      return r;
    },
  };
  const templateSync = createTemplateSync({ db: deps.db, client, clock: deps.clock, logger });
  const handlers = new Set<InboundHandler>();

  async function dispatchInbound(messages: InboundWithClient[], log: WebhookLog): Promise<void> {
    for (const m of messages) {
      for (const h of handlers) {
        try {
          await h(m);
        } catch (err) {
          log.error({ err, wamid: m.wamid, clientId: m.clientId }, 'error al atender un mensaje de WhatsApp');
        }
      }
    }
  }

  /** Merges several parsed webhooks into one (one transaction for all of them). */
  const merge = (items: ParsedWebhook[]): ParsedWebhook => ({
    statuses: items.flatMap((i) => i.statuses),
    messages: items.flatMap((i) => i.messages),
    templates: items.flatMap((i) => i.templates),
    ignored: items.reduce((n, i) => n + i.ignored, 0),
  });
  const afterCommit = (result: IngestResult) => {
    if (result.unknown.length) {
      logger.info(
        { desconocidos: result.unknown.length, ejemplo: result.unknown[0] },
        'estados de WhatsApp de mensajes que no conocemos (aún): guardados por si el envío se registra después',
      );
    }
    if (result.needsTemplateSync) void templateSync.runOnce();
    // Replies (ESTADO, BAJA…) go after the answer: Meta waits for nobody's reply.
    if (result.inbound.length) void dispatchInbound(result.inbound, logger);
  };
  // Group commit: webhooks arriving together are applied in one transaction (Meta sends many at
  // once under load). If the batch fails for its data, each webhook is applied on its own, so one
  // bad body cannot take the others down with it.
  const ingest = createBatcher<ParsedWebhook, IngestResult>(async (items) => {
    try {
      const result = await ingestWebhook(deps, merge(items));
      afterCommit(result);
      return items.map(() => ({ ok: true as const, value: result }));
    } catch (err) {
      if (items.length === 1 || isDatabaseUnavailable(err))
        return items.map(() => ({ ok: false as const, error: err }));
      const out: ItemResult<IngestResult>[] = [];
      for (const item of items) {
        try {
          const result = await ingestWebhook(deps, item);
          afterCommit(result);
          out.push({ ok: true, value: result });
        } catch (error) {
          out.push({ ok: false, error });
        }
      }
      return out;
    }
  }, 200);

  return {
    client,
    adapter,
    templateSync,
    verifyToken: config.verifyToken,
    async acceptWebhook(raw, signature, log) {
      if (!config.appSecret) return { status: 503, reason: 'sin_secreto' };
      const body = raw ?? Buffer.alloc(0);
      if (!verifyWebhookSignature(config.appSecret, body, signature)) return { status: 401, reason: 'firma' };
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        log.warn({ bytes: body.length }, 'webhook de WhatsApp firmado pero no es JSON: ignorado');
        return { status: 200, resultado: 'ignorado' };
      }
      const parsed = parseWebhook(json, deps.clock.now());
      if (parsed.statuses.length + parsed.messages.length + parsed.templates.length === 0) {
        log.info(
          { ignored: parsed.ignored },
          'webhook de WhatsApp sin estados, mensajes ni plantillas: ignorado',
        );
        return { status: 200, resultado: 'ignorado' };
      }
      let result: IngestResult;
      try {
        result = await ingest.push(parsed);
      } catch (err) {
        if (isDatabaseUnavailable(err)) return { status: 503, reason: 'base_de_datos' };
        const code = (err as { code?: unknown }).code;
        // Data the database refuses (a constraint, a value out of range): redelivery cannot help.
        if (typeof code === 'string' && /^2[23]/.test(code)) {
          log.warn({ err }, 'webhook de WhatsApp con datos que la base no acepta: ignorado');
          return { status: 200, resultado: 'ignorado' };
        }
        log.error({ err }, 'no se pudo registrar un webhook de WhatsApp; Meta lo reenviará');
        return { status: 503, reason: 'base_de_datos' };
      }
      return { status: 200, resultado: 'aceptado', result };
    },
    onInbound(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    lastError: () => lastError,
    run: (signal) => templateSync.run(signal),
  };
}
