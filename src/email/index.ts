/** E-mail through SMTP (issue 11): sender, channel adapter, one-click unsubscribe. */
export {
  classifyEmailFailure,
  createEmailChannel,
  type EmailChannelOptions,
  emailChannelFromConfig,
  withUnsubscribe,
} from './channel.js';
export { createEmailSender, type EmailSender, type EmailSenderOptions, toEmailFailure } from './sender.js';
export {
  isUnsubscribeToken,
  loadUnsubscribeKey,
  recordEmailUnsubscribe,
  UNSUBSCRIBE_PATH,
  unsubscribeToken,
  unsubscribeUrl,
} from './unsubscribe.js';
