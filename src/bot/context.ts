import { type Context, GrammyError } from 'grammy';
import type { InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove } from 'grammy/types';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../logger.js';
import type { EngineSettings } from '../notifications/index.js';
import type { AttemptsStore } from './attempts.js';
import type { ChatStateStore } from './chat-state.js';
import type { InvitationsStore } from './invitations.js';
import type { LinksStore } from './links.js';
import type { LookupGuard } from './lookups.js';
import type { BotMetrics } from './metrics.js';
import { buttons, type PreferenceKey, type Texts } from './texts.js';

/** The context every handler sees: grammY's, plus a logger scoped to the update and chat. */
export type BotContext = Context & { log: Logger };

/** What the feature composers share (built once by `createBot`). */
export interface ConversationDeps {
  db: Db;
  config: Config;
  clock: Clock;
  /** The company data in effect (Ajustes): read per message, never kept. */
  company: () => Config['company'];
  texts: Texts;
  links: LinksStore;
  chats: ChatStateStore;
  attempts: AttemptsStore;
  invitations: InvitationsStore;
  lookups: LookupGuard;
  metrics: BotMetrics;
  /** The settings in effect (Ajustes: company data, how to pay, opening hours), read per use. */
  engineSettings(): Promise<EngineSettings>;
  /** Tells a chat that its client was linked elsewhere (best effort, never throws). */
  tellPreviousChat(chatId: number): Promise<void>;
  /** The bot's @username, for the group answer. */
  username(): string;
  /** Download URL of a file from getFile (carries the bot token: never log it). */
  fileUrl(filePath: string): string;
  /** The provider's "cómo pagar" text for the bot (issue 13 §5). */
  howToPay(): Promise<string>;
}

export const removeKeyboard: ReplyKeyboardRemove = { remove_keyboard: true };

export function contactKeyboard(): ReplyKeyboardMarkup {
  return {
    keyboard: [[{ text: buttons.shareContact, request_contact: true }], [{ text: buttons.cancel }]],
    resize_keyboard: true,
    one_time_keyboard: true,
  };
}

export function preferencesKeyboard(texts: Texts, p: { pref_ofertas: boolean; pref_mantenimiento: boolean }) {
  const row = (key: PreferenceKey, on: boolean) => [
    { text: texts.preferenceButton(key, on), callback_data: `pref:${key}:${on ? 0 : 1}` },
  ];
  return {
    inline_keyboard: [row('ofertas', p.pref_ofertas), row('mantenimiento', p.pref_mantenimiento)],
  } satisfies InlineKeyboardMarkup;
}

/** Digits with the separators people type: worth validating as a cédula outside the prompt. */
export const looksLikeCedula = (text: string) =>
  /^[\d\s.-]+$/.test(text) && text.replace(/\D/g, '').length >= 6;
export const isCancel = (text: string) => /^(cancelar|cancel)$/i.test(text);

export const isNotModified = (err: unknown) =>
  err instanceof GrammyError && err.description.includes('message is not modified');

/** Editing a message to the text it already has is not a failure. */
export function ignoreNotModified(err: unknown): void {
  if (!isNotModified(err)) throw err;
}
