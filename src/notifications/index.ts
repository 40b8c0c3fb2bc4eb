export {
  type CampaignFilters,
  type CampaignInput,
  type CampaignView,
  campaignSample,
  cancelCampaign,
  composeError,
  countAudience,
  createCampaign,
  getCampaign,
  listCampaigns,
  PREVIEW_SAMPLES,
  previewCampaign,
} from './campaigns.js';
export {
  addressOn,
  type ChannelChoice,
  type ChannelFacts,
  channelOrder,
  chooseChannel,
  DEFAULT_CHANNEL_ORDER,
} from './channel-policy.js';
export {
  type ChannelTextField,
  type ChannelTextRow,
  type ChannelTextSet,
  channelTextSet,
  defaultChannelTexts,
  defaultEmailSubjects,
  defaultSmsTemplates,
  EMAIL_SUBJECT_MAX_CHARS,
  emailHtml,
  gsm7Length,
  listChannelTextRows,
  loadChannelTexts,
  renderSms,
  SMS_MAX_CHARS,
  saveChannelTexts,
  smsWorstCaseValues,
  toGsm7,
  validateChannelText,
} from './channel-texts.js';
export {
  type Channel,
  type ChannelComposition,
  type ComposeClient,
  type Composed,
  type ComposeRefusal,
  compose,
  composeForChannel,
  defaultTemplateParameters,
  defaultTemplateResolver,
  loadComposeClients,
  type Notice,
  type TemplateResolution,
  type TemplateResolver,
} from './compose.js';
export {
  type ConversionOutcome,
  type ConversionReport,
  conversionOutcomes,
  conversionReport,
} from './conversion.js';
export {
  createDispatcher,
  type Dispatcher,
  type DispatcherDeps,
  type DispatcherEvent,
  type DispatcherOptions,
  type PassReport,
} from './dispatcher.js';
export {
  dueStatus,
  formatDate,
  formatDateTime,
  formatDays,
  formatMoney,
  formatTime,
  plural,
} from './format.js';
export { dispatcherFromConfig } from './from-config.js';
export {
  type GenerationReport,
  generatePaymentNotices,
  generateUnderLock,
  listUnreachableDue,
  REACHABLE_SQL,
  type RuleCount,
  type UnreachableClient,
} from './generator.js';
export { type BankAccountLike, type HowToPay, howToPayText } from './how-to-pay.js';
export { fingerprintOf, purgeIdempotencyKeys, withIdempotencyKey } from './idempotency.js';
export { engineJobs } from './jobs.js';
export { HOT_TABLES, vacuumHotTables } from './maintenance.js';
export { createManualNotification, type ManualInput } from './manual.js';
export { createEngineMetrics, type EngineMetrics } from './metrics.js';
export {
  applyDeliveryStatuses,
  applyParkedStatuses,
  type CancelTarget,
  type ClassifiedFailure,
  cancel,
  clearExpiredUnreachable,
  type DeliveryReport,
  type DeliveryStatus,
  type EnvioView,
  enqueue,
  enqueueFrom,
  type FailedEnvio,
  listEnvios,
  listenForQueued,
  markClientUnreachableOn,
  type NewNotice,
  OUTBOX_CHANNEL,
  purgeParkedStatuses,
  settleAsyncFailures,
} from './outbox.js';
export {
  hasPaymentButtons,
  type NoticeButton,
  type PaymentAction,
  parsePaymentButton,
  paymentButtonData,
  paymentButtonLabels,
  paymentButtonTypes,
  paymentReplyButtons,
  toInlineKeyboard,
} from './payment-buttons.js';
export { applyPaymentToOutbox, type PaymentEffect } from './payments.js';
export {
  type ChannelCost,
  type ClientChannel,
  channelReach,
  clientChannels,
  MARKETING_TYPES,
  monthCostByChannel,
  type PriceCategory,
  type Prices,
  type Reach,
  type WhatsAppCost,
} from './reach.js';
export {
  cancelNotification,
  getNotification,
  listNotifications,
  type NotificationFilters,
  type NotificationStats,
  type NotificationView,
  notificationPath,
  notificationStats,
  retryNotification,
} from './repository.js';
export {
  applyServiceStateToOutbox,
  reactivateIfPaidUp,
  type ServiceStateChange,
  type ServiceStateEffect,
} from './service-state.js';
export { clientCounts, notificationCounts, stateTotals } from './statistics.js';
export {
  defaultTemplates,
  deleteTemplate,
  howToPayMessage,
  listTemplateRows,
  loadTemplates,
  renderTemplate,
  saveTemplate,
  TELEGRAM_MAX_CHARS,
  templateValues,
  templateVariables,
  validateTemplate,
  visibleLength,
} from './templates.js';
export {
  type CampaignType,
  campaignTypes,
  type EngineSettings,
  type NotificationState,
  type NotificationType,
  notificationStates,
  notificationTypes,
  paymentNoticeTypes,
  serviceNoticeTypes,
  toEngineSettings,
} from './types.js';
export { createCalendar, isInSendWindow, isTimeInWindow } from './window.js';
