// The SMTP stand-in lives in src/email/standin.ts (the sandbox's mailbox uses it too).
export { type ReceivedMail, type SmtpStandin, startSmtpStandin } from '../../src/email/standin.js';
