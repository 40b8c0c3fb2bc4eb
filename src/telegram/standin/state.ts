import type { ChatType, MessageEntity } from './types.js';

export interface ChatInfo {
  id: number;
  type: ChatType;
  first_name?: string;
  username?: string;
  title?: string;
}

/** A Message object as the Bot API returns it (only the fields the stand-in produces are typed). */
export interface MessageObject {
  message_id: number;
  date: number;
  chat: ChatInfo;
  from?: Record<string, unknown>;
  text?: string;
  entities?: MessageEntity[];
  reply_markup?: unknown;
  edit_date?: number;
  [field: string]: unknown;
}

export interface StoredMessage {
  message: MessageObject;
  fromBot: boolean;
}

/** Chats the stand-in knows about and the messages in them. */
export class ChatStore {
  /** Chats that answer 400 'chat not found'. */
  readonly unknown = new Set<number>();
  /** Chats whose user blocked the bot (or removed it from the group). */
  readonly blocked = new Set<number>();
  private readonly chats = new Map<number, ChatInfo>();
  // Invariant: message ids only grow within a chat and are shared by user and bot messages, like in a
  // private chat on Telegram.
  private readonly lastMessageId = new Map<number, number>();
  private readonly messages = new Map<number, Map<number, StoredMessage>>();

  register(chat: ChatInfo): void {
    this.chats.set(chat.id, chat);
  }

  /** The chat as registered by a fake user, or a plausible default from the id alone. */
  chat(id: number): ChatInfo {
    const known = this.chats.get(id);
    if (known) return known;
    if (id > 0) return { id, type: 'private' };
    return { id, type: id <= -1_000_000_000_000 ? 'supergroup' : 'group', title: `Chat ${id}` };
  }

  nextMessageId(chatId: number): number {
    const id = (this.lastMessageId.get(chatId) ?? 0) + 1;
    this.lastMessageId.set(chatId, id);
    return id;
  }

  save(message: MessageObject, fromBot: boolean): void {
    let inChat = this.messages.get(message.chat.id);
    if (!inChat) {
      inChat = new Map();
      this.messages.set(message.chat.id, inChat);
    }
    inChat.set(message.message_id, { message, fromBot });
  }

  get(chatId: number, messageId: number): StoredMessage | undefined {
    return this.messages.get(chatId)?.get(messageId);
  }

  delete(chatId: number, messageId: number): boolean {
    return this.messages.get(chatId)?.delete(messageId) ?? false;
  }

  /** The bot's most recent message in the chat (highest message id). */
  lastBotMessage(chatId: number): MessageObject | undefined {
    let last: MessageObject | undefined;
    for (const stored of this.messages.get(chatId)?.values() ?? []) {
      if (stored.fromBot && (!last || stored.message.message_id > last.message_id)) last = stored.message;
    }
    return last;
  }
}

export type Update = { update_id: number } & Record<string, unknown>;

/** Update types Telegram leaves out unless allowed_updates lists them. */
const OPT_IN_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);

/** allowed_updates semantics: missing or empty = every type except the opt-in ones. */
export function isAllowedUpdate(type: string, allowed: readonly string[] | undefined): boolean {
  return allowed && allowed.length > 0 ? allowed.includes(type) : !OPT_IN_UPDATES.has(type);
}

/** The updates not yet confirmed (getUpdates) or delivered (webhook). */
export class UpdateQueue {
  // Invariants: items are sorted by update_id; nextId is greater than every update_id ever queued.
  private items: Update[] = [];
  private nextId = 1;

  get length(): number {
    return this.items.length;
  }

  /** Queues an update; a missing or non-integer update_id is replaced by the next one. */
  push(body: Record<string, unknown>): Update {
    const given = body.update_id;
    const id = typeof given === 'number' && Number.isSafeInteger(given) ? given : this.nextId;
    const update: Update = { ...body, update_id: id };
    this.nextId = Math.max(this.nextId, id + 1);
    const last = this.items.at(-1);
    this.items.push(update);
    if (last && last.update_id > id) this.items.sort((a, b) => a.update_id - b.update_id);
    return update;
  }

  /**
   * getUpdates `offset`: a positive offset confirms (forgets) every update with a lower id; a negative one
   * keeps only the last -offset updates.
   */
  confirm(offset: number): void {
    if (offset > 0) this.items = this.items.filter((u) => u.update_id >= offset);
    else if (offset < 0) this.items = this.items.slice(offset);
  }

  peek(limit: number): Update[] {
    return this.items.slice(0, limit);
  }

  first(): Update | undefined {
    return this.items[0];
  }

  remove(updateId: number): void {
    this.items = this.items.filter((u) => u.update_id !== updateId);
  }

  clear(): void {
    this.items = [];
  }
}
