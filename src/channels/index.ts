/**
 * Channels: each one an adapter behind one interface (send, classify, pacing, check). The
 * outbox and the dispatcher choose and pace by channel; they never branch on a channel's name.
 */
import { CHANNEL_NAMES, type ChannelAdapter, type ChannelName, type ChannelRegistry } from './types.js';

export { recordEnabledChannels } from './enabled.js';
export {
  classifyTelegramChannelFailure,
  createTelegramChannel,
  type TelegramChannelOptions,
  toChannelFailure,
} from './telegram.js';
export {
  CHANNEL_NAMES,
  type ChannelAdapter,
  type ChannelFailure,
  type ChannelMessage,
  type ChannelName,
  type ChannelPacing,
  type ChannelRegistry,
  type ChannelSendResult,
  type ChannelVerdict,
  type ComposedForChannel,
  type TemplateRef,
} from './types.js';

/** The channels this process sends by; one adapter per name (a second one is a wiring mistake). */
export function createChannelRegistry(adapters: readonly ChannelAdapter[]): ChannelRegistry {
  const byName = new Map<ChannelName, ChannelAdapter>();
  for (const a of adapters) {
    if (byName.has(a.name)) throw new Error(`channel ${a.name} registered twice`);
    byName.set(a.name, a);
  }
  const names = CHANNEL_NAMES.filter((n) => byName.has(n));
  return {
    get: (name) => byName.get(name),
    has: (name) => byName.has(name),
    names: () => [...names],
    all: () => names.map((n) => byName.get(n)!),
  };
}

export function isChannelName(v: unknown): v is ChannelName {
  return typeof v === 'string' && (CHANNEL_NAMES as readonly string[]).includes(v);
}
