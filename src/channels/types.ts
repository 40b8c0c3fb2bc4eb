/**
 * A channel is an adapter behind one interface: the outbox, the channel policy and the
 * statistics never branch on "is this Telegram". Pure types; this module imports nothing.
 *
 * Terminology: a **notice** is one logical outbox row (`notifications`); an **envío** (attempt)
 * is one try of it on one channel (`notification_envios`), with the provider's message id.
 */

/** Every channel a notice can go by (same values as `channelNames` in src/vocabulary.ts). */
export type ChannelName = 'telegram' | 'whatsapp' | 'sms' | 'email';

export const CHANNEL_NAMES: readonly ChannelName[] = ['telegram', 'whatsapp', 'sms', 'email'];

/** An approved WhatsApp template: name, language and the ordered body parameters ({{1}}, {{2}}…). */
export interface TemplateRef {
  name: string;
  /** 'es' by default. */
  language: string;
  params: string[];
  /** Quick-reply buttons the approved template has (its BUTTONS component); unknown = none used. */
  quickReplies?: number;
  /** Payloads of those buttons, in order (payment notices: which notice, which action). */
  buttonPayloads?: string[];
}

/**
 * What a channel sends for one notice, made by notifications/compose.ts for that channel.
 * `text` is always there (Telegram HTML when `html`, plain text otherwise): WhatsApp free text,
 * SMS, the e-mail's plain part, and what staff see for a template.
 */
/** An image carried in an e-mail and shown by its HTML as `<img src="cid:{cid}">`. */
export interface InlineImage {
  cid: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface ComposedForChannel {
  text: string;
  /** `text` is Telegram HTML (values escaped). */
  html: boolean;
  /** E-mail subject. */
  subject?: string;
  /** E-mail HTML body. */
  htmlBody?: string;
  /** E-mail: images the HTML body shows inline (`cid:`), e.g. an invitation's QR code. */
  inlineImages?: InlineImage[];
  /** WhatsApp outside the 24 h window: send this template instead of `text`. */
  template?: TemplateRef;
  /**
   * Reply buttons where the channel has them (Telegram inline keyboard; WhatsApp interactive
   * buttons inside the window — at most 3, titles of at most 20 characters).
   */
  buttons?: { id: string; title: string }[];
}

/** One attempt handed to an adapter. */
export interface ChannelMessage {
  notificationId: number;
  /** The attempt's row in `notification_envios` (0 for sends outside the outbox, e.g. "probar"). */
  envioId: number;
  clientId: number | null;
  tipo: string;
  /** Chat id | 5939XXXXXXXX | e-mail address. */
  to: string;
  composed: ComposedForChannel;
  /** Promotional (ofertas): needs marketing consent where the channel asks for it. */
  marketing: boolean;
  signal: AbortSignal;
}

/** A failed call: the provider's code (never judged by its text), staff-readable message. */
export interface ChannelFailure {
  /** Stable code: the provider's error code ('131026', '403'), 'network' or 'timeout'. */
  code: string;
  /** Staff-readable description; never carries a token. */
  message: string;
  /** The provider asked to wait this long (429 retry_after). */
  retryAfterMs?: number;
  /** Could not reach the provider (refused, reset, timed out). */
  network?: boolean;
  httpStatus?: number;
}

export type ChannelSendResult =
  | {
      ok: true;
      /** The provider's message id, unique per channel (Telegram: 'chatId:messageId'; WhatsApp: wamid). */
      providerId: string;
      /** Telegram's numeric message_id (kept in notifications.telegram_message_id). */
      messageNumber?: number;
    }
  | { ok: false; failure: ChannelFailure };

/** What the engine does after a failure. One classifier per channel decides it, by code. */
export type ChannelVerdict =
  /** The whole channel waits (rate-limit storm); the attempt goes back to the queue, uncounted. */
  | { action: 'pause'; waitMs: number; reason: string; capped?: boolean }
  /** This attempt later, with the engine's backoff (at least `minDelayMs`). */
  | { action: 'retry'; reason: string; minDelayMs?: number }
  /**
   * This attempt can never succeed. `reason` is the notice's `motivo` (a `notificationReasons`
   * value). `unreachable` marks the client unreachable on this channel (`days`: it expires; none:
   * until the client comes back). `optOut` records a revocation in the consent ledger.
   */
  | {
      action: 'fail';
      reason: string;
      unreachable?: { reason: string; days?: number };
      optOut?: 'marketing' | 'servicio';
    }
  /** Halt the whole channel and alert staff (credentials refused). The attempt is not counted. */
  | { action: 'stop'; reason: string }
  /** WhatsApp 131047/470 (outside the 24 h window): compose again as a template and resend. */
  | { action: 'template'; reason: string };

/** The channel's real limits; several instances share them through the database. */
export interface ChannelPacing {
  /** Sends per second for the channel (Infinity: no limit). */
  ratePerSecond: number;
  /** At most one message to one recipient per this many ms (WhatsApp: 6000). */
  perRecipientIntervalMs: number;
  /** Sends in flight at once. */
  concurrency: number;
  /** Unique recipients per rolling 24 h (WhatsApp's tier); beyond it notices wait. */
  dailyUniqueRecipients?: number;
}

export interface ChannelAdapter {
  readonly name: ChannelName;
  /** The channel reports delivery (and reads): 'enviado' then never counts as delivered. */
  readonly reportsDelivery: boolean;
  pacing(): ChannelPacing;
  /** Never throws: a failure is a value. */
  send(m: ChannelMessage): Promise<ChannelSendResult>;
  /** Pure: same failure, same verdict; by code, never by message text. */
  classify(f: ChannelFailure): ChannelVerdict;
  /** Checks the credentials (used to resume a stopped channel). */
  check?(signal?: AbortSignal): Promise<{ ok: boolean; detail: string }>;
  /**
   * Whether the channel may send now (SMS: SMS_WINDOW, local routes deliver only then). Absent =
   * always. A closed channel is skipped by the channel policy: a must-deliver notice moves on.
   */
  isOpen?(now: Date): boolean;
}

/** The channels this process can send by. */
export interface ChannelRegistry {
  get(name: ChannelName): ChannelAdapter | undefined;
  has(name: ChannelName): boolean;
  /** Names of the configured channels, in CHANNEL_NAMES order. */
  names(): ChannelName[];
  all(): ChannelAdapter[];
}
