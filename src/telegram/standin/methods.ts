/**
 * The Bot API methods the stand-in implements. A handler validates its parameters like Telegram, changes
 * the stand-in's state and returns the `result` (plus an optional `description`); errors are thrown as
 * ApiError. Faults, latency and HTTP are the server's business (server.ts).
 */
import type { BotCommand, StandinCore } from './core.js';
import { ApiError, badRequest } from './errors.js';
import { BOT_DOWNLOAD_LIMIT } from './files.js';
import { MarkupError, parseMarkup, trimFormatted } from './markup.js';
import type { MessageObject } from './state.js';
import type { MessageEntity, SentMessage } from './types.js';
import { isRecord, unixNow } from './util.js';

export type Params = Record<string, unknown>;

export interface CallContext {
  core: StandinCore;
  params: Params;
  /** Aborted when the client goes away before the answer. */
  clientGone: AbortSignal;
}

export interface Answer {
  result: unknown;
  description?: string;
}

type Handler = (ctx: CallContext) => Answer | Promise<Answer>;

const MAX_TEXT_LENGTH = 4096;
const MAX_POLL_TIMEOUT_S = 50;

const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

// ------------------------------------------------------------------------------------ parameters

/** An integer parameter; numeric strings count (form and query parameters are strings). */
function optionalInt(params: Params, key: string): number | undefined {
  const value = params[key];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw badRequest(`invalid ${key} specified`);
  return n;
}

function optionalString(params: Params, key: string): string | undefined {
  const value = params[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw badRequest(`invalid ${key} specified`);
}

function optionalBool(params: Params, key: string): boolean {
  const value = params[key];
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** An object or array parameter, which form and query parameters carry as JSON text. */
function optionalJson(params: Params, key: string): unknown {
  const value = params[key];
  if (typeof value !== 'string') return value ?? undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`can't parse ${key} JSON object`);
  }
}

/** The chat_id, which must be a numeric id: '@username' chats are unknown to the stand-in. */
export function chatIdOf(params: Params): number | undefined {
  const value = params.chat_id;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

function requireChatId(params: Params): number {
  const value = params.chat_id;
  if (value === undefined || value === null || value === '') throw badRequest('chat_id is empty');
  const chatId = chatIdOf(params);
  if (chatId === undefined) throw badRequest('chat not found');
  return chatId;
}

function optionalStringArray(params: Params, key: string): string[] | undefined {
  const value = optionalJson(params, key);
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw badRequest(`can't parse ${key} JSON array`);
  }
  return value;
}

// -------------------------------------------------------------------------------------- messages

interface MessageText {
  raw: string;
  parseMode: string | undefined;
  text: string;
  entities: MessageEntity[];
}

/** text + parse_mode (or entities) -> plain text and entities, validated like Telegram. */
function messageText(params: Params): MessageText {
  const raw = optionalString(params, 'text') ?? '';
  const parseMode = optionalString(params, 'parse_mode') || undefined;
  let formatted: { text: string; entities: MessageEntity[] };
  try {
    formatted = parseMarkup(raw, parseMode);
  } catch (error) {
    if (error instanceof MarkupError) {
      if (error.message.startsWith('Unsupported parse_mode')) throw badRequest('unsupported parse_mode');
      throw badRequest(`can't parse entities: ${error.message}`);
    }
    throw error;
  }
  const explicit = optionalJson(params, 'entities');
  if (parseMode === undefined && Array.isArray(explicit)) formatted.entities = explicit as MessageEntity[];
  const { text, entities } = trimFormatted(formatted);
  if (text.length === 0) throw badRequest('message text is empty');
  if (text.length > MAX_TEXT_LENGTH) throw badRequest('message is too long');
  return { raw, parseMode, text, entities };
}

/** Checks the shape Telegram checks; inline buttons need a text, and callback_data must be 1-64 bytes. */
function replyMarkup(params: Params): unknown {
  const markup = optionalJson(params, 'reply_markup');
  if (markup === undefined || markup === null) return undefined;
  if (!isRecord(markup)) throw badRequest("can't parse reply keyboard markup JSON object");
  for (const field of ['inline_keyboard', 'keyboard'] as const) {
    const rows = markup[field];
    if (rows === undefined) continue;
    if (!Array.isArray(rows) || !rows.every(Array.isArray)) {
      throw badRequest(
        `field "${field}" of the ${field === 'keyboard' ? 'ReplyKeyboardMarkup' : 'InlineKeyboardMarkup'} should be an Array of Arrays`,
      );
    }
    for (const button of rows.flat() as unknown[]) {
      // A reply keyboard button may be given as its bare text.
      if (field === 'keyboard' && typeof button === 'string') continue;
      if (!isRecord(button) || typeof button.text !== 'string' || button.text === '') {
        throw badRequest(
          `can't parse ${field === 'keyboard' ? 'keyboard' : 'inline keyboard'} button: Text must be non-empty`,
        );
      }
      const data = button.callback_data;
      if (field === 'inline_keyboard' && data !== undefined) {
        const bytes = typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : 0;
        if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
      }
    }
  }
  return markup;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function botUser(core: StandinCore): Record<string, unknown> {
  const { id, first_name, username } = core.botInfo;
  return { id, is_bot: true, first_name, username };
}

function sentRecord(
  message: MessageObject,
  text: MessageText,
  markup: unknown,
  method: SentMessage['method'],
) {
  return {
    message_id: message.message_id,
    chat_id: message.chat.id,
    text: text.raw,
    parse_mode: text.parseMode,
    reply_markup: markup,
    date: message.date,
    method,
  } satisfies SentMessage;
}

const sendMessage: Handler = ({ core, params }) => {
  const chatId = requireChatId(params);
  const text = messageText(params);
  const markup = replyMarkup(params);
  core.checkChatWritable(chatId);
  core.rateLimit(chatId);
  const message: MessageObject = {
    message_id: core.chats.nextMessageId(chatId),
    from: botUser(core),
    chat: core.chats.chat(chatId),
    date: unixNow(),
    text: text.text,
    ...(text.entities.length > 0 && { entities: text.entities }),
    ...(markup !== undefined && { reply_markup: markup }),
  };
  core.chats.save(message, true);
  core.recordSent(sentRecord(message, text, markup, 'sendMessage'));
  return { result: message };
};

const editMessageText: Handler = ({ core, params }) => {
  if (params.inline_message_id !== undefined) {
    // Inline messages live outside any chat the stand-in knows: validate and accept.
    messageText(params);
    replyMarkup(params);
    return { result: true };
  }
  const chatId = requireChatId(params);
  const messageId = optionalInt(params, 'message_id');
  if (messageId === undefined) throw badRequest('message identifier is not specified');
  const text = messageText(params);
  const markup = replyMarkup(params);
  core.checkChatWritable(chatId);
  const stored = core.chats.get(chatId, messageId);
  if (!stored) throw badRequest('message to edit not found');
  if (!stored.fromBot) throw badRequest("message can't be edited");
  const old = stored.message;
  if (
    old.text === text.text &&
    sameJson(old.entities ?? [], text.entities) &&
    sameJson(old.reply_markup, markup)
  ) {
    throw badRequest(NOT_MODIFIED);
  }
  core.rateLimit(chatId);
  // Editing the text without reply_markup removes the inline keyboard, as on Telegram.
  const { entities: _entities, reply_markup: _markup, ...rest } = old;
  const message: MessageObject = {
    ...rest,
    text: text.text,
    ...(text.entities.length > 0 && { entities: text.entities }),
    ...(markup !== undefined && { reply_markup: markup }),
    edit_date: unixNow(),
  };
  core.chats.save(message, true);
  core.recordSent(sentRecord(message, text, markup, 'editMessageText'));
  return { result: message };
};

const deleteMessage: Handler = ({ core, params }) => {
  const chatId = requireChatId(params);
  const messageId = optionalInt(params, 'message_id');
  if (messageId === undefined) throw badRequest('message identifier is not specified');
  core.checkChatWritable(chatId);
  if (!core.chats.delete(chatId, messageId)) throw badRequest('message to delete not found');
  return { result: true };
};

const sendChatAction: Handler = ({ core, params }) => {
  const chatId = requireChatId(params);
  const action = optionalString(params, 'action');
  if (!action || !CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  core.checkChatWritable(chatId);
  return { result: true };
};

const answerCallbackQuery: Handler = ({ params }) => {
  const id = optionalString(params, 'callback_query_id');
  if (!id) throw badRequest('query is too old and response timeout expired or query ID is invalid');
  const text = optionalString(params, 'text');
  if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
  return { result: true };
};

// -------------------------------------------------------------------------------------- commands

function commandsKey(params: Params): string {
  const scope = optionalJson(params, 'scope') ?? { type: 'default' };
  if (!isRecord(scope) || typeof scope.type !== 'string')
    throw badRequest("can't parse BotCommandScope JSON object");
  const language = optionalString(params, 'language_code') ?? '';
  if (language !== '' && !/^[a-z]{2}$/.test(language)) throw badRequest('invalid language code specified');
  return JSON.stringify([scope.type, scope.chat_id ?? null, scope.user_id ?? null, language]);
}

const setMyCommands: Handler = ({ core, params }) => {
  const key = commandsKey(params);
  const commands = optionalJson(params, 'commands');
  if (!Array.isArray(commands)) throw badRequest("can't parse commands JSON array");
  if (commands.length > 100) throw badRequest('too many commands specified');
  const parsed: BotCommand[] = commands.map((c: unknown) => {
    if (!isRecord(c) || typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) {
      throw badRequest('BOT_COMMAND_INVALID');
    }
    const description = typeof c.description === 'string' ? c.description.trim() : '';
    if (description.length < 1 || description.length > 256)
      throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command: c.command, description };
  });
  if (parsed.length === 0) core.commands.delete(key);
  else core.commands.set(key, parsed);
  return { result: true };
};

const deleteMyCommands: Handler = ({ core, params }) => {
  core.commands.delete(commandsKey(params));
  return { result: true };
};

const getMyCommands: Handler = ({ core, params }) => ({
  result: core.commands.get(commandsKey(params)) ?? [],
});

// --------------------------------------------------------------------------------------- updates

const getUpdates: Handler = async ({ core, params, clientGone }) => {
  if (core.delivery.config) {
    throw new ApiError(
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  }
  // Like Telegram, a new getUpdates ends the one still waiting.
  core.finishPollers('terminated');
  const offset = optionalInt(params, 'offset') ?? 0;
  const limit = Math.min(100, Math.max(1, optionalInt(params, 'limit') ?? 100));
  const timeout = Math.min(MAX_POLL_TIMEOUT_S, Math.max(0, optionalInt(params, 'timeout') ?? 0));
  const allowed = optionalStringArray(params, 'allowed_updates');
  if (allowed !== undefined) core.pollingAllowedUpdates = allowed;
  core.updates.confirm(offset);

  const ready = core.updates.peek(limit);
  if (ready.length > 0 || timeout === 0) return { result: ready };
  const end = await core.waitForUpdates(timeout * 1000, clientGone);
  if (end === 'terminated') {
    throw new ApiError(
      409,
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    );
  }
  if (end === 'webhook') {
    throw new ApiError(409, 'Conflict: terminated by setWebhook request');
  }
  return { result: end === 'close' ? [] : core.updates.peek(limit) };
};

const setWebhook: Handler = ({ core, params }) => {
  const url = optionalString(params, 'url') ?? '';
  if (optionalBool(params, 'drop_pending_updates')) core.dropPendingUpdates();
  if (url === '') {
    const had = core.delivery.config !== undefined;
    core.delivery.remove();
    return { result: true, description: had ? 'Webhook was deleted' : 'Webhook is already deleted' };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest('bad webhook: Failed to resolve host: Name or service not known');
  }
  // Telegram requires HTTPS; the stand-in also accepts http for local test servers.
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
  }
  const secret = optionalString(params, 'secret_token');
  if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret)) {
    throw badRequest('secret token contains unallowed characters');
  }
  const maxConnections = optionalInt(params, 'max_connections') ?? 40;
  if (maxConnections < 1 || maxConnections > 100) throw badRequest('invalid max_connections specified');
  const allowedUpdates =
    optionalStringArray(params, 'allowed_updates') ?? core.delivery.config?.allowedUpdates;
  const same = core.delivery.config?.url === url;
  core.finishPollers('webhook');
  core.delivery.set({
    url,
    maxConnections,
    ...(secret !== undefined && { secret }),
    ...(allowedUpdates !== undefined && { allowedUpdates }),
  });
  return { result: true, description: same ? 'Webhook is already set' : 'Webhook was set' };
};

const deleteWebhook: Handler = ({ core, params }) => {
  if (optionalBool(params, 'drop_pending_updates')) core.dropPendingUpdates();
  const had = core.delivery.config !== undefined;
  core.delivery.remove();
  return { result: true, description: had ? 'Webhook was deleted' : 'Webhook is already deleted' };
};

const getWebhookInfo: Handler = ({ core }) => {
  const { config, lastError } = core.delivery;
  return {
    result: {
      url: config?.url ?? '',
      has_custom_certificate: false,
      pending_update_count: core.updates.length,
      ...(lastError && { last_error_date: lastError.date, last_error_message: lastError.message }),
      ...(config && { max_connections: config.maxConnections }),
      ...(config?.allowedUpdates && { allowed_updates: config.allowedUpdates }),
    },
  };
};

const getMe: Handler = ({ core }) => ({ result: core.botInfo });

const getFile: Handler = ({ core, params }) => {
  const fileId = optionalString(params, 'file_id');
  if (!fileId) throw badRequest('file_id not specified');
  const file = core.files.get(fileId);
  if (!file) throw badRequest('invalid file_id');
  if (file.bytes.length > BOT_DOWNLOAD_LIMIT) throw badRequest('file is too big');
  return {
    result: {
      file_id: file.fileId,
      file_unique_id: file.uniqueId,
      file_size: file.reportedSize,
      file_path: file.path,
    },
  };
};

/** Handlers by lower-case method name: Bot API method names are case-insensitive. */
export const METHODS: ReadonlyMap<string, { name: string; handler: Handler }> = new Map(
  Object.entries({
    getMe,
    getFile,
    sendMessage,
    editMessageText,
    deleteMessage,
    sendChatAction,
    answerCallbackQuery,
    setMyCommands,
    deleteMyCommands,
    getMyCommands,
    getUpdates,
    setWebhook,
    deleteWebhook,
    getWebhookInfo,
  }).map(([name, handler]) => [name.toLowerCase(), { name, handler }]),
);
