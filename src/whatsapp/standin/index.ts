export {
  type InjectedError,
  type StandinCall,
  type StandinMessage,
  type StandinTemplate,
  type StatusName,
  startWhatsAppStandin,
  type ThreadEntry,
  type WebhookRecord,
  type WhatsAppStandin,
  type WhatsAppStandinOptions,
} from './server.js';
