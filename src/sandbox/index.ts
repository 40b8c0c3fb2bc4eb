export {
  type ChatButton,
  type ChatEntry,
  type Conversation,
  createSandboxChats,
  toConversation,
} from './chat.js';
export {
  buildDemoClients,
  DEMO_CHAT_ID_BASE,
  DEMO_PLANS,
  DEMO_SECTORS,
  type DemoClient,
  type SeedResult,
  seedDemoData,
  seedDemoOnStart,
} from './demo-data.js';
export { createSandboxInboxes, type Mailbox, type SandboxInboxes, type SmsInbox } from './inboxes.js';
export { type Sandbox, type SandboxOptions, startSandbox } from './start.js';
export {
  createSandboxWhatsApp,
  type SandboxWhatsApp,
  type WhatsAppBubble,
  type WhatsAppThread,
} from './whatsapp-phone.js';
