import {
  type FakeUser,
  type MessageEntity,
  parseMarkup,
  type SentMessage,
  type Standin,
} from '../telegram/standin/index.js';

/**
 * The sandbox's side of a conversation: what the person playing a client did (typed, shared a
 * contact, tapped a button), merged with what the bot sent to that chat in the stand-in.
 *
 * Terminology: an *action* is something the person did; an *entry* is one bubble on the page.
 * Ordering invariant: an action is placed after the bot messages that existed when it happened
 * (`afterBot`), so replies always come after what they answer.
 */

export interface ChatButton {
  texto: string;
  /** callback_data of an inline button. */
  data?: string;
  url?: string;
  /** A reply-keyboard button that shares the contact (request_contact). */
  contacto?: boolean;
}

export interface ChatEntry {
  /** 'b<message_id>' for the bot's messages, 'c<n>' for the person's actions. */
  id: string;
  de: 'bot' | 'cliente' | 'sistema';
  message_id: number | null;
  texto: string;
  entidades: MessageEntity[];
  /** Inline keyboard of a bot message. */
  botones: ChatButton[][] | null;
  fecha: string;
  editado: boolean;
}

export interface Conversation {
  chat_id: number;
  /** Changes whenever something is added; the page long-polls with it. */
  version: number;
  mensajes: ChatEntry[];
  /** The reply keyboard the bot is showing now (under the text field), if any. */
  teclado: ChatButton[][] | null;
}

export type Action =
  | { kind: 'text'; text: string; at: number; afterBot: number }
  | { kind: 'contact'; phone: string; at: number; afterBot: number }
  | { kind: 'press'; data: string; messageId: number; at: number; afterBot: number }
  /** A photo or document (a payment receipt, issue 13). */
  | { kind: 'file'; name: string; at: number; afterBot: number };

/** At most this many bubbles are returned (the most recent ones). */
const MAX_ENTRIES = 200;

export function createSandboxChats(standin: Standin) {
  const users = new Map<number, FakeUser>();
  const actions = new Map<number, Action[]>();

  function userFor(chatId: number, firstName?: string): FakeUser {
    let u = users.get(chatId);
    if (!u) {
      u = standin.user({ chatId, firstName: firstName?.trim() || 'Cliente de prueba', languageCode: 'es' });
      users.set(chatId, u);
    }
    return u;
  }

  function record(chatId: number, action: Action): void {
    const list = actions.get(chatId) ?? [];
    list.push(action);
    actions.set(chatId, list);
  }

  function version(chatId: number): number {
    return standin.sentTo(chatId).length + (actions.get(chatId)?.length ?? 0);
  }

  return {
    async sendText(chatId: number, text: string, firstName?: string): Promise<void> {
      const user = userFor(chatId, firstName);
      record(chatId, { kind: 'text', text, at: Date.now(), afterBot: standin.sentTo(chatId).length });
      await user.send(text);
    },

    async shareContact(chatId: number, phone: string, firstName?: string): Promise<void> {
      const user = userFor(chatId, firstName);
      record(chatId, { kind: 'contact', phone, at: Date.now(), afterBot: standin.sentTo(chatId).length });
      await user.shareContact(phone);
    },

    async press(chatId: number, data: string, messageId: number, firstName?: string): Promise<void> {
      const user = userFor(chatId, firstName);
      record(chatId, {
        kind: 'press',
        data,
        messageId,
        at: Date.now(),
        afterBot: standin.sentTo(chatId).length,
      });
      await user.press(data, messageId);
    },

    /** Sends a file as the client: images as a photo, anything else as a document (as Telegram apps do). */
    async sendFile(
      chatId: number,
      file: { bytes: Uint8Array; name: string; mime: string },
      firstName?: string,
    ): Promise<void> {
      const user = userFor(chatId, firstName);
      record(chatId, {
        kind: 'file',
        name: file.name,
        at: Date.now(),
        afterBot: standin.sentTo(chatId).length,
      });
      if (/^image\/(jpeg|png|webp)$/.test(file.mime)) await user.sendPhoto(file.bytes);
      else await user.sendDocument(file.bytes, { fileName: file.name, mimeType: file.mime });
    },

    version,

    conversation(chatId: number): Conversation {
      return toConversation(chatId, standin.sentTo(chatId), actions.get(chatId) ?? []);
    },

    /** Resolves when the chat changes from `known`, after `timeoutMs`, or when `signal` aborts. */
    async waitForChange(
      chatId: number,
      known: number,
      timeoutMs: number,
      signal: AbortSignal,
    ): Promise<void> {
      if (version(chatId) !== known || signal.aborted) return;
      const seen = new Set(standin.sentTo(chatId));
      let onAbort: (() => void) | undefined;
      await Promise.race([
        standin.waitForSent((m) => m.chat_id === chatId && !seen.has(m), timeoutMs).catch(() => undefined),
        new Promise<void>((resolve) => {
          onAbort = resolve;
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    },
  };
}

export type SandboxChats = ReturnType<typeof createSandboxChats>;

interface Markup {
  inline_keyboard?: { text: string; callback_data?: string; url?: string }[][];
  keyboard?: ({ text: string; request_contact?: boolean } | string)[][];
  one_time_keyboard?: boolean;
  remove_keyboard?: boolean;
}

function asMarkup(value: unknown): Markup | undefined {
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Markup;
    } catch {
      return undefined;
    }
  }
  return value && typeof value === 'object' ? (value as Markup) : undefined;
}

function inlineButtons(markup: Markup | undefined): ChatButton[][] | null {
  if (!markup?.inline_keyboard) return null;
  return markup.inline_keyboard.map((row) =>
    row.map((b) => ({
      texto: b.text,
      ...(b.callback_data !== undefined && { data: b.callback_data }),
      ...(b.url !== undefined && { url: b.url }),
    })),
  );
}

function replyButtons(markup: Markup): ChatButton[][] {
  return (markup.keyboard ?? []).map((row) =>
    row.map((b) =>
      typeof b === 'string' ? { texto: b } : { texto: b.text, ...(b.request_contact && { contacto: true }) },
    ),
  );
}

function formatted(m: SentMessage): { texto: string; entidades: MessageEntity[] } {
  try {
    const f = parseMarkup(m.text, m.parse_mode);
    return { texto: f.text, entidades: f.entities };
  } catch {
    return { texto: m.text, entidades: [] };
  }
}

/**
 * Pure: the bubbles of one chat. Edits (editMessageText) replace the message they edit in place; an
 * edit without reply_markup removes the inline keyboard, as on Telegram.
 */
export function toConversation(chatId: number, sent: readonly SentMessage[], actions: readonly Action[]) {
  const entries: ChatEntry[] = [];
  const byMessageId = new Map<number, ChatEntry>();
  const inlineOf = new Map<number, ChatButton[][] | null>();
  let keyboard: ChatButton[][] | null = null;
  let oneTime = false;
  let next = 0;

  const pushAction = (a: Action, n: number) => {
    const base = {
      id: `c${n}`,
      message_id: null,
      entidades: [],
      botones: null,
      fecha: new Date(a.at).toISOString(),
      editado: false,
    };
    if (a.kind === 'press') {
      const label = inlineOf
        .get(a.messageId)
        ?.flat()
        .find((b) => b.data === a.data)?.texto;
      entries.push({ ...base, de: 'sistema', texto: `Tocó el botón «${label ?? a.data}»` });
      return;
    }
    entries.push({
      ...base,
      de: 'cliente',
      texto:
        a.kind === 'text'
          ? a.text
          : a.kind === 'file'
            ? `📎 ${a.name}`
            : `📞 Contacto compartido: ${a.phone}`,
    });
    if (oneTime) {
      keyboard = null;
      oneTime = false;
    }
  };

  sent.forEach((m, index) => {
    while (next < actions.length && actions[next]!.afterBot <= index) {
      pushAction(actions[next]!, next);
      next++;
    }
    const markup = asMarkup(m.reply_markup);
    const { texto, entidades } = formatted(m);
    if (m.method === 'editMessageText') {
      const original = byMessageId.get(m.message_id);
      if (original) {
        original.texto = texto;
        original.entidades = entidades;
        original.botones = inlineButtons(markup);
        original.editado = true;
        inlineOf.set(m.message_id, original.botones);
      }
      return;
    }
    const entry: ChatEntry = {
      id: `b${m.message_id}`,
      de: 'bot',
      message_id: m.message_id,
      texto,
      entidades,
      botones: inlineButtons(markup),
      fecha: new Date(m.date * 1000).toISOString(),
      editado: false,
    };
    entries.push(entry);
    byMessageId.set(m.message_id, entry);
    inlineOf.set(m.message_id, entry.botones);
    if (markup?.keyboard) {
      keyboard = replyButtons(markup);
      oneTime = markup.one_time_keyboard === true;
    } else if (markup?.remove_keyboard) {
      keyboard = null;
      oneTime = false;
    }
  });
  while (next < actions.length) {
    pushAction(actions[next]!, next);
    next++;
  }
  return {
    chat_id: chatId,
    version: sent.length + actions.length,
    mensajes: entries.slice(-MAX_ENTRIES),
    teclado: keyboard,
  } satisfies Conversation;
}
