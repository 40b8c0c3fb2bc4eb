import { setMaxListeners } from 'node:events';
import type { ChannelAdapter, ChannelName, ChannelRegistry } from '../channels/types.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { BackoffOptions, TelegramSender } from '../telegram/send.js';
import type { TemplateResolver } from './compose.js';
import type { EngineMetrics } from './metrics.js';
import type { ClaimedRow } from './outbox.js';
import type { PaceClock } from './rate-limiter.js';
import type { EngineSettings } from './types.js';

/** The dispatcher's public shapes: options, dependencies, the report of a pass, its events. */

export interface DispatcherOptions {
  /** Messages per second for all instances together (Infinity = no pacing, for benchmarks). */
  ratePerSecond: number;
  /** Channel order after the client's preferred one (FALLBACK_ORDER; default telegram, whatsapp, sms, email). */
  fallbackOrder?: readonly ChannelName[];
  /**
   * FALLBACK_NO_DELIVERY_MINUTES: a must-deliver notice sent by a channel that reports delivery and
   * not delivered within this many minutes moves on to the next channel (outbox.moveUndelivered).
   * Absent: the dispatcher does not look.
   */
  noDeliveryMinutes?: number;
  /** How often (by the injected clock) the dispatcher looks for such notices (default 60 s). */
  noDeliveryCheckMs?: number;
  perChatPerSecond: number;
  /** Telegram calls in flight at most. */
  concurrency: number;
  /** Attempts per row (≤ 6); retries also stop 24 h after the first attempt. */
  maxAttempts: number;
  paidBroadcast?: boolean;
  /** Lease of a claimed row (≤ 60 s); renewed when its attempt begins. */
  leaseMs?: number;
  /** Poll interval when the queue is empty (default 1 s). */
  idleMs?: number;
  /** Longest pause a 429 imposes (default 60 s, and below the lease). */
  maxPauseMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Retries stop this long after the first attempt (default 24 h). */
  retryHorizonMs?: number;
  /** Rows claimed at once (default: 2 s of sending, between 10 and 500). */
  claimSize?: number;
  /** Reserve global send slots in the database, shared by instances (default true). */
  sharedPacer?: boolean;
  /** Embedded database only: rows claimed by the previous (dead) process return at start. */
  releaseOrphansAtStart?: boolean;
  /** While the database fails, waits grow from `idleMs` up to this (default 30 s). */
  maxDbBackoffMs?: number;
  /** While the token is refused (401), check it again this often (default 60 s). */
  tokenRecheckMs?: number;
  /** Worker id written in locked_by (default host-pid-random). */
  worker?: string;
  random?: () => number;
  paceClock?: PaceClock;
}

export interface DispatcherDeps {
  db: Db;
  /** Telegram; without `channels`, the only channel (wrapped by createTelegramChannel). */
  sender?: TelegramSender;
  /**
   * The channels to send by (src/channels). Default: Telegram through `sender`. The pump paces
   * `engineChannel` (options.ratePerSecond, perChatPerSecond, concurrency); every other channel
   * is paced by its own `adapter.pacing()`.
   */
  channels?: ChannelRegistry;
  /** Channels besides the default Telegram one (SMS, e-mail…), when `channels` is not given. */
  extraChannels?: readonly ChannelAdapter[];
  /** Default 'telegram'. */
  engineChannel?: ChannelName;
  /** WhatsApp templates outside the 24 h window (waapi's registry); default: the placeholder mapping. */
  resolveTemplate?: TemplateResolver;
  clock: Clock;
  logger: Logger;
  settings: EngineSettings;
  /** Ajustes (issue 14): the settings in effect, read once per claim so a change needs no restart. */
  getSettings?: () => Promise<EngineSettings>;
  metrics?: EngineMetrics;
  options: DispatcherOptions;
}

/** What one pass did (the answer of POST /procesar/). */
export interface PassReport {
  reclamadas: number;
  enviadas: number;
  reintentos: number;
  fallidas: number;
  canceladas: number;
  /** Returned to the queue untouched (stop, 401) or taken over by another worker. */
  liberadas: number;
  /** 429 answers received. */
  limitadas: number;
  /** Whether the send window was open (automatic notices only go inside it). */
  en_ventana: boolean;
}

export type DispatcherEvent =
  | { type: 'sent'; id: number; clientId: number | null; messageId: number; canal?: ChannelName }
  | { type: 'failed'; id: number; clientId: number | null; motivo: string }
  | { type: 'retry'; id: number; clientId: number | null; error: string }
  | { type: 'cancelled'; id: number; clientId: number | null; motivo: string }
  | { type: 'paused'; ms: number }
  | { type: 'unauthorized' }
  | { type: 'resumed' }
  /** A channel other than the engine's refused our credentials: it is halted (and alerted). */
  | { type: 'channel_stopped'; canal: ChannelName; error: string }
  | { type: 'channel_resumed'; canal: ChannelName };

export interface Dispatcher {
  readonly worker: string;
  /** One pass: claims what is due now (up to `limit` rows), sends it, records it, returns. */
  runOnce(opts?: { limit?: number }): Promise<PassReport>;
  /** Runs until `signal` aborts or `stop()`; resolves when everything it held is released. */
  run(signal?: AbortSignal): Promise<void>;
  /** Stops claiming, finishes or releases what it holds within `drainMs` (default 15 s). */
  stop(opts?: { drainMs?: number }): Promise<void>;
  /** A row was queued: look now instead of at the next poll. */
  wake(): void;
  readonly state: 'detenido' | 'activo' | 'pausado' | 'token_invalido';
  on(listener: (e: DispatcherEvent) => void): () => void;
}

export interface QueuedRow extends ClaimedRow {
  /** false after a 429: the retry is not a new attempt of the row. */
  countAttempt: boolean;
}

/** Every send in flight listens on it (one listener per call): no listener limit. */
export function newSendAbort(): AbortController {
  const c = new AbortController();
  setMaxListeners(0, c.signal);
  return c;
}

export const emptyReport = (): PassReport => ({
  reclamadas: 0,
  enviadas: 0,
  reintentos: 0,
  fallidas: 0,
  canceladas: 0,
  liberadas: 0,
  limitadas: 0,
  en_ventana: false,
});
