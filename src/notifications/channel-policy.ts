import { CHANNEL_NAMES, type ChannelName } from '../channels/types.js';
import { tryOrder } from './fallback-policy.js';

/**
 * Which channel a notice goes by. Pure: the facts come from the send-time re-check
 * (`teltec_channel_reasons`, migration 013 — the one SQL home of "can this channel reach this
 * client"), the configured channels from the registry.
 *
 * Rule (issue 10 §8): the client's preferred channel (`clients.canal_preferido`) when it is usable;
 * otherwise the default order — Telegram when linked, then WhatsApp when the client consented and
 * has a number and is not marked unreachable, then the others. A channel is usable when the re-check
 * found no reason against it AND this process has an adapter for it.
 *
 * Fallback: `exclude` lists the channels already tried and failed permanently for this notice;
 * `chooseChannel` then answers the next usable one (fallback-policy.ts says when a notice may).
 */

/** The default order when the client has no (usable) preference. */
export const DEFAULT_CHANNEL_ORDER: readonly ChannelName[] = CHANNEL_NAMES;

export interface ChannelFacts {
  /** Per channel: null = usable, a reason otherwise; a channel missing here is not usable. */
  reasons: Partial<Record<ChannelName, string | null>>;
  preferred: ChannelName | null;
}

/** How the order is read (issue 11 §3): FALLBACK_ORDER and channels closed right now (SMS_WINDOW). */
export interface OrderOptions {
  /** The order after the preferred channel (FALLBACK_ORDER); default telegram, whatsapp, sms, email. */
  order?: readonly ChannelName[] | undefined;
  /** false = the channel may not send now (SMS outside SMS_WINDOW): skipped. */
  isOpen?: ((canal: ChannelName) => boolean) | undefined;
}

/** The usable channels in the order they would be tried. */
export function channelOrder(
  facts: ChannelFacts,
  configured: readonly ChannelName[],
  exclude: readonly ChannelName[] = [],
  opts: OrderOptions = {},
): ChannelName[] {
  const usable = (c: ChannelName) =>
    configured.includes(c) &&
    !exclude.includes(c) &&
    c in facts.reasons &&
    facts.reasons[c] === null &&
    (opts.isOpen?.(c) ?? true);
  return tryOrder(facts.preferred, opts.order ?? DEFAULT_CHANNEL_ORDER).filter(usable);
}

export type ChannelChoice = { ok: true; canal: ChannelName } | { ok: false; motivo: string; detalle: string };

/** The channel to try now, or why there is none (`motivo` for the notice). */
export function chooseChannel(
  facts: ChannelFacts,
  configured: readonly ChannelName[],
  exclude: readonly ChannelName[] = [],
  opts: OrderOptions = {},
): ChannelChoice {
  const canal = channelOrder(facts, configured, exclude, opts)[0];
  if (canal) return { ok: true, canal };
  // The re-check closes notices no channel can reach; here the usable ones are not configured
  // (or were all tried). Say what each channel lacks.
  const why = DEFAULT_CHANNEL_ORDER.filter((c) => c in facts.reasons)
    .map((c) => {
      const r = facts.reasons[c];
      if (exclude.includes(c)) return `${c}: ya se intentó`;
      if (r === null && configured.includes(c)) return `${c}: fuera de horario`;
      if (r === null) return `${c}: canal no configurado`;
      return `${c}: ${r}`;
    })
    .join('; ');
  return {
    ok: false,
    motivo: 'sin_canal',
    detalle: `Ningún canal disponible (${why || 'sin datos del cliente'}).`,
  };
}

/** A notice queued for a chat without a client (staff tests, invitations) goes by Telegram only. */
export const CHAT_ONLY_FACTS: ChannelFacts = { reasons: { telegram: null }, preferred: 'telegram' };

/** The address of a client on a channel, from the re-checked row. */
export function addressOn(
  canal: ChannelName,
  r: {
    chat_id: number | string | null;
    whatsapp?: string | null;
    telefono_norm?: string | null;
    email?: string | null;
  },
): string | null {
  const addresses: Record<ChannelName, string | null | undefined> = {
    telegram: r.chat_id === null ? null : String(r.chat_id),
    whatsapp: r.whatsapp,
    sms: r.telefono_norm,
    email: r.email,
  };
  return addresses[canal] ?? null;
}
