export { createWhatsAppAdapter, type WhatsAppAdapterOptions } from './adapter.js';
export { classifyWhatsAppFailure, PAIR_INTERVAL_MS, UNREACHABLE_DAYS, WHATSAPP_RULES } from './classify.js';
export {
  createWhatsAppClient,
  type GraphTemplate,
  type TemplateSend,
  type WhatsAppClient,
  type WhatsAppClientOptions,
} from './graph.js';
export {
  createWhatsAppService,
  type InboundHandler,
  type WebhookAcceptance,
  type WhatsAppService,
  type WhatsAppServiceDeps,
} from './service.js';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature } from './signature.js';
export { PROMOTIONAL_WORDS, type SuggestedTemplate, suggestedTemplates } from './suggested-templates.js';
export {
  checkTemplate,
  countBodyParameters,
  createTemplateSync,
  defaultTemplateMappings,
  listRegistry,
  listTemplateMappings,
  mappingProblems,
  resetTemplateMapping,
  resolveTemplate,
  saveTemplateMapping,
  type TemplateMapping,
  type TemplateResolution,
  type TemplateSync,
  templateResolverFor,
  templateStatusLabel,
} from './templates.js';
export {
  type ClassifiedFailure,
  type InboundMessage,
  type InboundWithClient,
  ingestWebhook,
  type ParsedWebhook,
  parseWebhook,
  recordInbound,
  type SettleAsyncFailures,
} from './webhook.js';
