import { randomBytes, randomInt } from 'node:crypto';
import { type Config, whatsappEnabled } from '../config.js';
import type { Logger } from '../logger.js';
import { type Standin, startStandin } from '../telegram/standin/index.js';
import { startWhatsAppStandin, type WhatsAppStandin } from '../whatsapp/standin/index.js';
import { createSandboxChats, type SandboxChats } from './chat.js';
import { createSandboxWhatsApp, type SandboxWhatsApp } from './whatsapp-phone.js';

/**
 * Sandbox mode: with no TELEGRAM_BOT_TOKEN the service talks to the built-in Bot API stand-in on
 * 127.0.0.1 instead of Telegram, so a newcomer without a bot or Internet sees the product work.
 *
 * Invariant: the sandbox is never active while a real token is set (`startSandbox` returns null).
 */
export interface Sandbox {
  readonly standin: Standin;
  /** The client's WhatsApp phone on the sandbox page (with `whatsapp`). */
  readonly phones?: SandboxWhatsApp;
  readonly chats: SandboxChats;
  /** The config the bot and the engine must use: the stand-in's apiRoot and token, long polling. */
  readonly config: Config;
  readonly bot: { username: string; nombre: string };
  /**
   * WhatsApp simulated too (issue 10), unless real WHATSAPP_* settings are given: the Cloud API
   * stand-in. `main.ts` points its signed webhooks at the service once it listens
   * (`whatsapp.setWebhookUrl`); the sandbox page plays the client with `clientSends` / `thread`.
   */
  readonly whatsapp?: WhatsAppStandin;
  close(): Promise<void>;
}

export async function startSandbox(config: Config, logger: Logger): Promise<Sandbox | null> {
  if (config.telegram.token) return null;
  // A fresh random token per start (Telegram's shape, long enough for the log redaction).
  const botId = randomInt(100_000_000, 999_999_999);
  const standin = await startStandin({
    host: '127.0.0.1',
    port: 0,
    token: `${botId}:${randomBytes(27).toString('base64url')}`,
    botInfo: { id: botId, first_name: 'TelTec (sandbox)', username: 'TelTecSandboxBot' },
  });
  logger.warn(
    { sandbox: true, botApi: standin.url },
    'MODO SANDBOX: no hay TELEGRAM_BOT_TOKEN. Telegram está simulado dentro del servicio ' +
      `(Bot API de prueba en ${standin.url}); ningún mensaje sale a Internet. ` +
      'Abra /sandbox para chatear con el bot como si fuera un cliente.',
  );
  const whatsapp = whatsappEnabled(config.whatsapp)
    ? undefined
    : // No pair rate: a person typing on the sandbox phone gets every answer (the dispatcher paces itself).
      await startWhatsAppStandin({ host: '127.0.0.1', port: 0, pairIntervalMs: 0 });
  if (whatsapp) {
    logger.warn(
      { sandbox: true, graphApi: whatsapp.url },
      `MODO SANDBOX: WhatsApp también está simulado (Cloud API de prueba en ${whatsapp.url}).`,
    );
  }
  return {
    standin,
    phones: whatsapp ? createSandboxWhatsApp(whatsapp) : undefined,
    chats: createSandboxChats(standin),
    config: {
      ...config,
      telegram: { ...config.telegram, token: standin.token, apiRoot: standin.url, publicUrl: undefined },
      ...(whatsapp && {
        whatsapp: {
          ...config.whatsapp,
          token: whatsapp.token,
          phoneNumberId: whatsapp.phoneNumberId,
          businessAccountId: whatsapp.businessAccountId,
          appSecret: whatsapp.appSecret,
          verifyToken: randomBytes(16).toString('hex'),
          apiRoot: whatsapp.url,
        },
      }),
    },
    bot: { username: standin.botInfo.username, nombre: standin.botInfo.first_name },
    ...(whatsapp && { whatsapp }),
    close: async () => {
      await whatsapp?.close();
      await standin.close();
    },
  };
}
