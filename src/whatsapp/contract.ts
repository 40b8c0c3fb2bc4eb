/**
 * TEMPORARY: the channel contract as drafted in CHANNELS.md, until src/channels/types.ts lands
 * (owner: wacore). Every WhatsApp module imports the contract from here only, so switching to the
 * real one is a one-file change.
 */
export interface ChannelFailure {
  code: string;
  message: string;
  retryAfterMs?: number;
  network?: boolean;
  httpStatus?: number;
}

export type ChannelVerdict =
  | { action: 'pause'; waitMs: number; reason: string }
  | { action: 'retry'; reason: string; minDelayMs?: number }
  | {
      action: 'fail';
      reason: string;
      unreachable?: { reason: string; days?: number };
      optOut?: 'marketing';
    }
  | { action: 'stop'; reason: string }
  | { action: 'template'; reason: string };

export type ChannelSendResult = { ok: true; providerId: string } | { ok: false; failure: ChannelFailure };

export interface ChannelPacing {
  ratePerSecond: number;
  perRecipientIntervalMs: number;
  concurrency: number;
  dailyUniqueRecipients?: number;
}

export interface ComposedForChannel {
  text?: string;
  html?: boolean;
  subject?: string;
  template?: { name: string; language: string; params: string[] };
}

export interface ChannelMessage {
  notificationId: number;
  envioId: number;
  clientId: number | null;
  tipo: string;
  to: string;
  composed: ComposedForChannel;
  marketing: boolean;
  signal: AbortSignal;
}

export interface ChannelAdapter {
  readonly name: 'telegram' | 'whatsapp' | 'sms' | 'email';
  readonly reportsDelivery: boolean;
  pacing(): ChannelPacing;
  send(m: ChannelMessage): Promise<ChannelSendResult>;
  classify(f: ChannelFailure): ChannelVerdict;
  check?(signal?: AbortSignal): Promise<{ ok: boolean; detail: string }>;
}
