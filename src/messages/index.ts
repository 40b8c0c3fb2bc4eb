export {
  ACK_AGAIN_AFTER_MS,
  archiveMessage,
  type InboxMessage,
  type IncomingMessage,
  listMessages,
  type MessageReply,
  recordIncoming,
  replyToMessage,
} from './messages.js';
