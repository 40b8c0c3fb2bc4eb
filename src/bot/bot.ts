import { type Api, Bot, BotError, GrammyError, HttpError } from 'grammy';
import type { Update } from 'grammy/types';
import { createBatcher } from '../lib/batch.js';
import { sleep } from '../lib/sleep.js';
import { howToPayMessage, toEngineSettings } from '../notifications/index.js';
import { rememberSecret } from '../telegram/redact.js';
import { createAttemptsStore } from './attempts.js';
import { createChatStateStore } from './chat-state.js';
import { type BotContext, createConversation } from './conversation.js';
import { isDatabaseUnavailable } from './db-errors.js';
import { createDeliveryControl } from './delivery.js';
import { describe } from './describe.js';
import { saveBotIdentity } from './identity.js';
import { createInbox, type Inbox, type InboxRow, type IncomingUpdate, parseIncoming } from './inbox.js';
import { createInvitationsStore } from './invitations.js';
import { createKeyedQueue } from './keyed-queue.js';
import { createLinksStore } from './links.js';
import { createLookupGuard } from './lookups.js';
import { createBotMetrics } from './metrics.js';
import { installReplyPacer } from './reply-pacer.js';
import type { BotDeps, BotService, HandledUpdate } from './service.js';

export { describe } from './describe.js';
export type { BotDeps, BotService, HandledUpdate, ReceiveOutcome } from './service.js';

import { commandMenu, liveTexts } from './texts.js';

/** grammY types its AbortSignal with a shim; a native one works at run time. */
export type GrammySignal = Parameters<Api['getUpdates']>[1];

/** Update kinds asked from Telegram (setWebhook and getUpdates). */
export const ALLOWED_UPDATES = ['message', 'callback_query', 'my_chat_member'] as const;

/** Handled updates are remembered this long for de-duplication (Telegram retries for 24 h). */
const KEEP_UPDATES_MS = 7 * 86_400_000;

/**
 * Waits before handling an update again, in this process, after a passing database failure
 * (a deadlock, a serialization failure, no free connection on the server). Past the last one the
 * update is left to the sweeper, which takes it again once its lease ends (a minute or more).
 */
const PROMPT_RETRY_MS = [50, 250, 1000] as const;

/** Bot API methods that only read: calling them tells nobody anything. */
const READ_ONLY_METHODS = new Set([
  'getMe',
  'getFile',
  'getChat',
  'getChatMember',
  'getUpdates',
  'getWebhookInfo',
]);

/** Builds the bot (not started: no network until `init`, `receive` or a runner uses it). */
export function createBot(deps: BotDeps): BotService {
  const token = deps.token ?? deps.config.telegram.token;
  if (!token) throw new Error('createBot: no bot token');
  rememberSecret(token);
  const botId = Number(token.split(':')[0]);
  const log = deps.logger.child({ component: 'bot' });
  const leaseMs = deps.leaseMs ?? 60_000;
  const maxAttempts = deps.maxAttempts ?? 5;
  // Handlers mostly wait (database, Telegram, the pacer's next slot): enough of them overlap that
  // waiting, and the group commits (inbox, pacer, link reads) get batches worth sharing.
  const concurrency = Math.max(1, deps.concurrency ?? 32);
  const maxQueued = Math.max(1, deps.maxQueued ?? 10_000);
  // Ajustes (issue 14): /contact and every "contáctenos" line follow the company data in effect.
  const company = deps.company ?? (() => deps.config.company);
  const texts = liveTexts(company);

  const apiRoot = deps.apiRoot ?? deps.config.telegram.apiRoot;
  const engineSettings = deps.getEngineSettings ?? (async () => toEngineSettings(deps.config));

  const bot = new Bot<BotContext>(token, {
    client: { apiRoot, timeoutSeconds: 30 },
    ...(deps.botInfo && { botInfo: deps.botInfo }),
  });

  const { db, clock } = deps;
  const rate = deps.config.engine.ratePerSecond;
  installReplyPacer(bot.api, {
    db,
    ratePerSecond: rate,
    logger: log,
    maxWaitMs: Math.max(1000, leaseMs - 10_000),
  });
  const inbox = createInbox(db, botId);
  // Group commit: concurrent webhook deliveries share one INSERT, finished updates one UPDATE.
  const recorder = createBatcher<IncomingUpdate, boolean>((us) => inbox.recordMany(us, clock.now(), leaseMs));
  const finisher = createBatcher<Parameters<Inbox['finishMany']>[0][number], void>(async (outcomes) => {
    await inbox.finishMany(outcomes, clock.now());
    return outcomes.map(() => ({ ok: true, value: undefined }));
  });
  const links = createLinksStore(db);
  const metrics = createBotMetrics();

  /** Updates whose current attempt called Telegram to say something (a retry would say it again). */
  const told = new Set<number>();
  bot.use((ctx, next) => {
    const updateId = ctx.update.update_id;
    ctx.api.config.use(async (prev, method, payload, signal) => {
      if (READ_ONLY_METHODS.has(method)) return prev(method, payload, signal);
      try {
        const res = await prev(method, payload, signal);
        told.add(updateId);
        return res;
      } catch (err) {
        // The pacer's own database failure happens before the call: Telegram heard nothing.
        if (!isDatabaseUnavailable(err)) told.add(updateId);
        throw err;
      }
    });
    return next();
  });

  bot.use(
    createConversation({
      log,
      db,
      config: deps.config,
      clock,
      company,
      texts,
      links,
      chats: createChatStateStore(db),
      attempts: createAttemptsStore(db),
      invitations: createInvitationsStore(db, { ttlDays: deps.config.inviteTtlDays }),
      lookups: createLookupGuard(db, links, { perHour: deps.config.bot.cedulaLookupsPerHour }),
      metrics,
      engineSettings,
      username: () => bot.botInfo.username,
      fileUrl: (filePath) => `${apiRoot}/file/bot${token}/${filePath}`,
      // Issue 13 §5: the provider's accounts, payment points and link (Ajustes), or how to ask.
      howToPay: async () => howToPayMessage(await engineSettings()),
      async tellPreviousChat(chatId) {
        try {
          await bot.api.sendMessage(chatId, texts.movedAway);
        } catch (err) {
          log.warn({ chatId, err: describe(err) }, 'no se pudo avisar al chat anterior');
        }
      },
    }),
  );

  // ------------------------------------------------------------------ handling queue
  let inited: Promise<void> | undefined = deps.botInfo ? Promise.resolve() : undefined;
  let stopping = false;
  /** Update ids scheduled and not yet handled (a redelivery or a sweep never runs one twice). */
  const inFlight = new Set<number>();
  const queue = createKeyedQueue(concurrency);

  function schedule(
    u: { updateId: number; chatId: number | null; tipo: string; update: Update },
    t0: number,
  ) {
    if (inFlight.has(u.updateId)) return;
    inFlight.add(u.updateId);
    // A chat's updates run one after another, in arrival order.
    queue.push(u.chatId === null ? `u${u.updateId}` : `c${u.chatId}`, () =>
      handle(u, t0)
        .catch((err) =>
          log.error({ err, updateId: u.updateId }, 'error inesperado al atender una actualización'),
        )
        .finally(() => inFlight.delete(u.updateId)),
    );
  }

  async function handle(
    u: { updateId: number; chatId: number | null; tipo: string; update: Update },
    t0: number,
  ) {
    const scoped = log.child({ updateId: u.updateId, chatId: u.chatId ?? undefined });
    let outcome: HandledUpdate['outcome'] = 'procesado';
    let error: string | null = null;
    for (let retry = 0; ; retry++) {
      told.delete(u.updateId);
      try {
        await ensureInit();
        await bot.handleUpdate(u.update);
        outcome = 'procesado';
        error = null;
        break;
      } catch (thrown) {
        const err = thrown instanceof BotError ? thrown.error : thrown;
        error = describe(err);
        if (!isDatabaseUnavailable(err)) {
          outcome = 'fallido';
          if (err instanceof GrammyError || err instanceof HttpError) {
            scoped.warn({ err: error }, 'Telegram no aceptó la respuesta');
          } else {
            scoped.error({ err }, 'error al atender la actualización');
          }
          break;
        }
        outcome = 'reintentar';
        // Handled again at once only while nothing was said to the chat: the whole handler runs
        // again, and a reply already sent would be sent twice.
        const wait = PROMPT_RETRY_MS[retry];
        if (wait === undefined || told.has(u.updateId) || stopping) {
          scoped.warn({ err: error }, 'base de datos no disponible: la actualización se reintentará');
          break;
        }
        scoped.info(
          { err: error, esperaMs: wait },
          'fallo pasajero de la base de datos: se atiende otra vez',
        );
        await sleep(wait);
      }
    }
    told.delete(u.updateId);
    try {
      const now = clock.now();
      if (outcome === 'reintentar') await inbox.retryLater(u.updateId, error ?? '', maxAttempts, now);
      else await finisher.push({ updateId: u.updateId, estado: outcome, error });
    } catch (err) {
      // The row stays 'pendiente'; the sweeper takes it again when its lease ends.
      scoped.warn({ err: describe(err) }, 'no se pudo registrar el resultado de la actualización');
    }
    deps.onUpdate?.({
      updateId: u.updateId,
      chatId: u.chatId,
      tipo: u.tipo,
      outcome,
      ms: performance.now() - t0,
    });
  }

  function ensureInit(signal?: AbortSignal): Promise<void> {
    // getMe ourselves: grammY's init() retries a network failure forever and silently, so the
    // caller could never say "Telegram is unreachable" (issue 12 §7). One call, its error thrown.
    inited ??= bot.api.getMe(signal as unknown as GrammySignal).then(
      async (me) => {
        bot.botInfo = me;
        // Remembered for invitation links while Telegram is unreachable.
        await saveBotIdentity(db, botId, me, clock.now()).catch(() => {});
      },
      (err) => {
        inited = undefined;
        throw err;
      },
    );
    return inited;
  }

  /** Schedules claimed inbox rows; returns how many. */
  async function reschedule(rows: InboxRow[], now: Date): Promise<number> {
    let n = 0;
    for (const row of rows) {
      if (inFlight.has(row.updateId)) continue;
      let update: Update;
      try {
        update = JSON.parse(row.json) as Update;
      } catch {
        await inbox.finish(row.updateId, 'fallido', 'JSON ilegible en la bandeja', now);
        continue;
      }
      n++;
      schedule({ updateId: row.updateId, chatId: row.chatId, tipo: row.tipo, update }, performance.now());
    }
    return n;
  }

  const service: BotService = {
    bot,
    api: bot.api,
    botId,
    webhookSecret: deps.webhookSecret ?? deps.config.telegram.webhookSecret,
    texts,
    delivery: createDeliveryControl(bot.api, deps.logger),
    metrics,
    username: () => (bot.isInited() ? bot.botInfo.username : undefined),
    init: (signal) => ensureInit(signal),

    async registerCommands() {
      try {
        await bot.api.setMyCommands([...commandMenu]);
        return true;
      } catch (err) {
        log.warn({ err: describe(err) }, 'no se pudieron registrar los comandos del bot (setMyCommands)');
        return false;
      }
    },

    async receive(body, rawJson) {
      const t0 = performance.now();
      const parsed = parseIncoming(body, rawJson);
      if (!parsed.ok) {
        log.warn(
          { reason: parsed.reason },
          'cuerpo recibido que no es una actualización de Telegram: ignorado',
        );
        return 'ignorado';
      }
      const u: IncomingUpdate = parsed.incoming;
      if (stopping) throw Object.assign(new Error('el bot se está deteniendo'), { code: 'BOT_STOPPING' });
      const fresh = await recorder.push(u);
      if (!fresh) {
        log.debug({ updateId: u.updateId }, 'actualización repetida: ya se había recibido');
        return 'duplicado';
      }
      if (u.tipo === 'otro' || !u.wellFormed) {
        log.info(
          { updateId: u.updateId, tipo: u.tipo },
          'actualización no atendida (tipo o forma inesperados)',
        );
        return 'aceptado';
      }
      if (inFlight.size < maxQueued) schedule(u, t0);
      else log.warn({ updateId: u.updateId }, 'demasiadas actualizaciones en espera: queda en la bandeja');
      return 'aceptado';
    },

    drain: () => queue.idle(),

    async runOnce() {
      const now = clock.now();
      let reclaimed = 0;
      for (;;) {
        const room = Math.min(100, maxQueued - inFlight.size);
        if (room <= 0) break;
        const rows = await inbox.claimStale(now, leaseMs, room);
        reclaimed += await reschedule(rows, now);
        if (rows.length < room) break;
      }
      if (reclaimed > 0) log.info({ reclaimed }, 'actualizaciones retomadas de la bandeja');
      const pruned = await inbox.prune(now, KEEP_UPDATES_MS);
      await db.query('DELETE FROM bot_failed_attempts WHERE at < $1', [new Date(now.getTime() - 86_400_000)]);
      await db.query('DELETE FROM bot_cedula_lookups WHERE at < $1', [new Date(now.getTime() - 86_400_000)]);
      return { reclaimed, pruned };
    },

    async run(signal, intervalMs = 30_000) {
      while (!signal.aborted) {
        try {
          await service.runOnce();
        } catch (err) {
          log.warn({ err: describe(err) }, 'barrido de la bandeja del bot fallido; se reintentará');
        }
        await sleep(intervalMs, signal);
      }
    },

    async stop(timeoutMs = 10_000) {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        service.drain(),
        new Promise<void>((r) => {
          timer = setTimeout(r, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
  };
  return service;
}
