import type {
  ChannelAdapter,
  ChannelFailure,
  ChannelMessage,
  ChannelPacing,
  ChannelSendResult,
  ChannelVerdict,
} from '../channels/types.js';
import type { SmsConfig } from '../config.js';
import { isInstantInWeekWindow, parseWeekWindow } from '../lib/week-window.js';
import { createSmsGateway, type SmsGateway } from './gateway.js';

/**
 * The SMS channel: an adapter over the HTTP gateway (./gateway.ts). The text is the notice's SMS
 * text, composed (GSM-7, at most 160 characters) by notifications/compose.ts. `{id}` sent to the
 * gateway is the attempt's id: it is the attempt's `proveedor_id`, and the gateway's delivery
 * reports (POST /api/sms/estado) name it.
 *
 * SMS go out only inside SMS_WINDOW (local routes deliver only then): `isOpen(now)` tells the
 * channel policy, which moves a must-deliver notice on to the next channel when it is closed.
 */

export interface SmsChannelOptions {
  gateway: SmsGateway;
  /** SMS_WINDOW, e.g. 'lun-vie 09:00-18:00'. */
  window: string;
  timeZone: string;
  ratePerSecond: number;
  /** Delivery reports are configured (SMS_DLR_SECRET): 'enviado' is not yet delivered. */
  reportsDelivery: boolean;
  concurrency?: number;
}

export interface SmsChannel extends ChannelAdapter {
  /** Whether SMS may be sent at `now` (SMS_WINDOW). */
  isOpen(now: Date): boolean;
}

/** Codes of a failed delivery report (the gateway said the message did not arrive). */
export const SMS_DLR_FAILED = 'sms_no_entregado';

/** The SMS classifier: by code, never by text. Pure. */
export function classifySmsFailure(f: ChannelFailure): ChannelVerdict {
  switch (f.code) {
    case 'sms_red':
    case 'sms_error_servidor':
      return { action: 'retry', reason: f.code };
    case 'sms_limite':
      return { action: 'pause', waitMs: Math.min(f.retryAfterMs ?? 30_000, 300_000), reason: 'sms_limite' };
    case 'sms_credenciales':
      return { action: 'stop', reason: 'sms_credenciales' };
    case SMS_DLR_FAILED:
      // The route did not deliver: this number does not take SMS for now.
      return {
        action: 'fail',
        reason: 'sms_inalcanzable',
        unreachable: { reason: 'sms_inalcanzable', days: 7 },
      };
    default:
      // 4xx, a 2xx whose body said no, anything unknown: the same message would be refused again.
      return { action: 'fail', reason: 'sms_rechazado' };
  }
}

export function createSmsChannel(o: SmsChannelOptions): SmsChannel {
  const window = parseWeekWindow(o.window);
  const pacing: ChannelPacing = {
    ratePerSecond: o.ratePerSecond,
    perRecipientIntervalMs: 1000,
    concurrency: o.concurrency ?? 4,
  };
  return {
    name: 'sms',
    reportsDelivery: o.reportsDelivery,
    pacing: () => pacing,
    isOpen: (now) => isInstantInWeekWindow(window, now, o.timeZone),
    classify: classifySmsFailure,
    async send(m: ChannelMessage): Promise<ChannelSendResult> {
      const id = m.envioId > 0 ? String(m.envioId) : `n${m.notificationId}`;
      const r = await o.gateway.send({ to: m.to, message: m.composed.text, id, signal: m.signal });
      if (r.ok) return { ok: true, providerId: r.providerId };
      const f = r.failure;
      return {
        ok: false,
        failure: {
          code: f.code,
          message: f.message,
          ...(f.httpStatus !== undefined && { httpStatus: f.httpStatus }),
          ...(f.network && { network: true }),
          ...(f.retryAfterMs !== undefined && { retryAfterMs: f.retryAfterMs }),
        },
      };
    },
  };
}

/** The SMS channel from the settings (SMS_GATEWAY_*, SMS_WINDOW, SMS_RATE), or undefined without a gateway. */
export function smsChannelFromConfig(
  config: { sms?: SmsConfig | undefined; timeZone: string },
  opts: { fetch?: typeof fetch } = {},
): SmsChannel | undefined {
  const s = config.sms;
  if (!s) return undefined;
  return createSmsChannel({
    gateway: createSmsGateway({ ...s, ...(opts.fetch && { fetch: opts.fetch }) }),
    window: s.window,
    timeZone: config.timeZone,
    ratePerSecond: s.ratePerSecond,
    reportsDelivery: s.dlrSecret !== null,
  });
}
