export { ATTEMPT_WINDOW_MS, MAX_FAILED_ATTEMPTS } from './attempts.js';
export {
  ALLOWED_UPDATES,
  type BotDeps,
  type BotService,
  createBot,
  describe as describeBotError,
  type HandledUpdate,
  type ReceiveOutcome,
} from './bot.js';
export type { BotContext } from './conversation.js';
export { cachedBotUsername } from './identity.js';
export {
  createInvitationsStore,
  type Invitation,
  type InvitationState,
  type InvitationsStore,
  invitationState,
  inviteLink,
} from './invitations.js';
export {
  type LinkMethod,
  type StaffLinkResult,
  setChatByStaff,
  type VerifyResult,
  verifyLinkByStaff,
} from './links.js';
export { LOOKUPS_PER_USER, type LookupSummary, lookupSummary } from './lookups.js';
export { createPollingRunner, type PollingRunner } from './polling.js';
export { qrPng, qrSvg } from './qr.js';
export { type BotMode, type BotRuntime, startBotRuntime, WEBHOOK_ROUTE } from './runtime.js';
export {
  invitationTotals,
  type StatsGrouping,
  type StatsPeriod,
  telegramSeries,
  telegramTotals,
} from './stats.js';
export { clientStatusText } from './status.js';
export { commandMenu, createTexts, statusText, type Texts } from './texts.js';
export { acceptWebhookBody, type WebhookResult } from './webhook.js';
export { resolveWebhookSecret } from './webhook-secret.js';
export { purgeReceiptWaits, receiptWaitsJob } from './whatsapp-payments.js';
export {
  connectWhatsAppReplies,
  createWhatsAppReplies,
  type WhatsAppIncoming,
  type WhatsAppReplies,
  whatsappKeyword,
} from './whatsapp-replies.js';
