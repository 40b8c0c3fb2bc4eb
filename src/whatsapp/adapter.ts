import type { ChannelAdapter, ChannelMessage, ChannelSendResult } from '../channels/types.js';
import { classifyWhatsAppFailure, PAIR_PACING_MS } from './classify.js';
import { INTERACTIVE_LIMITS, type WhatsAppClient } from './graph.js';

/** Whether a text and its buttons can go as one interactive message (Meta's limits). */
export function fitsInteractive(text: string, buttons: readonly { id: string; title: string }[]): boolean {
  return (
    text.trim() !== '' &&
    text.length <= INTERACTIVE_LIMITS.body &&
    buttons.length <= INTERACTIVE_LIMITS.buttons &&
    buttons.every(
      (b) => b.title.length >= 1 && b.title.length <= INTERACTIVE_LIMITS.buttonTitle && b.id.length <= 256,
    )
  );
}

/**
 * WhatsApp behind the one channel interface. Pacing is Meta's: `WHATSAPP_RATE` messages per second,
 * one message per client every 6 s (pair rate, paced at 6.5 s), `WHATSAPP_DAILY_LIMIT` unique users per 24 h for
 * business-initiated messages. Statuses come later by webhook (`reportsDelivery`): "enviado" here
 * only means Meta accepted the message.
 */
export interface WhatsAppAdapterOptions {
  client: WhatsAppClient;
  ratePerSecond: number;
  dailyLimit: number;
  /** Sends in flight (default: half a second's worth of the rate, 4 to 100). */
  concurrency?: number;
}

export function createWhatsAppAdapter(opts: WhatsAppAdapterOptions): ChannelAdapter {
  const concurrency = opts.concurrency ?? Math.min(100, Math.max(4, Math.ceil(opts.ratePerSecond / 2)));
  return {
    name: 'whatsapp',
    reportsDelivery: true,
    pacing: () => ({
      ratePerSecond: opts.ratePerSecond,
      perRecipientIntervalMs: PAIR_PACING_MS,
      concurrency,
      dailyUniqueRecipients: opts.dailyLimit,
    }),
    async send(m: ChannelMessage): Promise<ChannelSendResult> {
      const to = m.to.replace(/^\+/, '');
      const { template, text, buttons } = m.composed;
      if (template) {
        // Quick-reply payloads only for buttons the approved template has.
        const payloads = (template.buttonPayloads ?? []).slice(0, template.quickReplies ?? 0);
        const { quickReplies: _q, buttonPayloads: _b, ...rest } = template;
        return opts.client.sendTemplate(
          to,
          { ...rest, ...(payloads.length && { buttonPayloads: payloads }) },
          m.signal,
        );
      }
      // Inside the window: reply buttons when they fit Meta's limits, plain text otherwise.
      if (buttons?.length && fitsInteractive(text, buttons)) {
        return opts.client.sendInteractive(to, { body: text, buttons }, m.signal);
      }
      if (text.trim() !== '') return opts.client.sendText(to, text, m.signal);
      return {
        ok: false,
        failure: { code: '131008', message: 'El aviso no tiene texto ni plantilla de WhatsApp' },
      };
    },
    classify: classifyWhatsAppFailure,
    async check(signal) {
      const r = await opts.client.phoneNumber(signal);
      if (!r.ok) return { ok: false, detail: `${r.failure.code}: ${r.failure.message}` };
      const v = r.value;
      return {
        ok: true,
        detail: [v.display_phone_number, v.verified_name, v.quality_rating, v.messaging_limit_tier]
          .filter(Boolean)
          .join(' · '),
      };
    },
  };
}
