export { DEFAULT_TOKEN } from './core.js';
export { type FormattedText, MarkupError, parseMarkup } from './markup.js';
export { startStandin } from './server.js';
export type {
  BotInfo,
  CallRecord,
  ChatType,
  FakeUser,
  FakeUserOptions,
  Fault,
  FaultFilter,
  MessageEntity,
  RateLimits,
  SentMessage,
  Standin,
  StandinOptions,
  StandinStats,
  WebhookStatus,
} from './types.js';
