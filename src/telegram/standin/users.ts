import type { FileStore } from './files.js';
import type { ChatInfo, ChatStore, MessageObject } from './state.js';
import type { BotInfo, FakeUser, FakeUserOptions, MessageEntity } from './types.js';
import { unixNow } from './util.js';

/** What a fake user needs from the stand-in. */
export interface UserHost {
  readonly chats: ChatStore;
  readonly botInfo: BotInfo;
  readonly files: FileStore;
  /** Queues an update (allowed_updates applies); resolves as described on FakeUser. */
  deliverUpdate(body: Record<string, unknown>): Promise<void>;
  nextCallbackQueryId(): string;
}

/** '/command' or '/command@bot' at the start of a text, as Telegram recognises it. */
const LEADING_COMMAND = /^\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\p{L}\p{N}_/<>@])/u;

/** The bot_command entity Telegram adds to a text that starts with a command. */
export function commandEntities(text: string): MessageEntity[] {
  const match = LEADING_COMMAND.exec(text);
  return match ? [{ type: 'bot_command', offset: 0, length: match[0].length }] : [];
}

export class SimulatedUser implements FakeUser {
  readonly chatId: number;
  readonly userId: number;
  private readonly from: Record<string, unknown>;
  private readonly chat: ChatInfo;

  constructor(
    private readonly host: UserHost,
    opts: FakeUserOptions,
  ) {
    const chatType = opts.chatType ?? 'private';
    this.chatId = opts.chatId;
    this.userId = opts.userId ?? (chatType === 'private' ? opts.chatId : Math.abs(opts.chatId));
    const firstName = opts.firstName ?? 'Test';
    this.from = {
      id: this.userId,
      is_bot: false,
      first_name: firstName,
      ...(opts.username !== undefined && { username: opts.username }),
      ...(opts.languageCode !== undefined && { language_code: opts.languageCode }),
    };
    this.chat =
      chatType === 'private'
        ? {
            id: this.chatId,
            type: 'private',
            first_name: firstName,
            ...(opts.username !== undefined && { username: opts.username }),
          }
        : { id: this.chatId, type: chatType, title: `Chat ${this.chatId}` };
    host.chats.register(this.chat);
  }

  send(text: string): Promise<void> {
    const entities = commandEntities(text);
    return this.sendMessage(entities.length > 0 ? { text, entities } : { text });
  }

  command(cmd: string, payload?: string): Promise<void> {
    const command = cmd.startsWith('/') ? cmd : `/${cmd}`;
    return this.send(payload ? `${command} ${payload}` : command);
  }

  shareContact(phone: string, opts: { userId?: number | null; firstName?: string } = {}): Promise<void> {
    const userId = opts.userId === undefined ? this.userId : opts.userId;
    const contact = {
      phone_number: phone,
      first_name: opts.firstName ?? this.from.first_name,
      ...(userId !== null && { user_id: userId }),
    };
    return this.sendMessage({ contact });
  }

  sendPhoto(bytes: Uint8Array, opts: { caption?: string; fileSize?: number } = {}): Promise<void> {
    const file = this.host.files.add(bytes, 'photos', 'jpg', opts.fileSize);
    // Telegram sends the sizes it made; the stand-in sends the file as its largest size.
    const photo = [
      {
        file_id: file.fileId,
        file_unique_id: file.uniqueId,
        width: 800,
        height: 600,
        file_size: file.reportedSize,
      },
    ];
    return this.sendMessage({ photo, ...(opts.caption !== undefined && { caption: opts.caption }) });
  }

  sendDocument(
    bytes: Uint8Array,
    opts: { fileName: string; mimeType?: string; fileSize?: number; caption?: string },
  ): Promise<void> {
    const ext = /\.([A-Za-z0-9]{1,8})$/.exec(opts.fileName)?.[1] ?? 'bin';
    const file = this.host.files.add(bytes, 'documents', ext, opts.fileSize);
    const document = {
      file_id: file.fileId,
      file_unique_id: file.uniqueId,
      file_name: opts.fileName,
      ...(opts.mimeType !== undefined && { mime_type: opts.mimeType }),
      file_size: file.reportedSize,
    };
    return this.sendMessage({ document, ...(opts.caption !== undefined && { caption: opts.caption }) });
  }

  press(data: string, messageId?: number): Promise<void> {
    const { chats } = this.host;
    const message: MessageObject | undefined =
      messageId === undefined
        ? chats.lastBotMessage(this.chatId)
        : chats.get(this.chatId, messageId)?.message;
    if (messageId === undefined && !message) {
      return Promise.reject(
        new Error(`press: the bot has no message in chat ${this.chatId} to press a button on`),
      );
    }
    return this.host.deliverUpdate({
      callback_query: {
        id: this.host.nextCallbackQueryId(),
        from: this.from,
        // A message the stand-in does not know is "inaccessible" (date 0), like on Telegram.
        message: message ?? { chat: this.chat, message_id: messageId, date: 0 },
        chat_instance: String(Math.abs(this.chatId) * 7919),
        data,
      },
    });
  }

  block(): Promise<void> {
    this.host.chats.blocked.add(this.chatId);
    return this.memberUpdate('member', 'kicked');
  }

  unblock(): Promise<void> {
    this.host.chats.blocked.delete(this.chatId);
    return this.memberUpdate('kicked', 'member');
  }

  private sendMessage(content: Record<string, unknown>): Promise<void> {
    const message: MessageObject = {
      message_id: this.host.chats.nextMessageId(this.chatId),
      from: this.from,
      chat: this.chat,
      date: unixNow(),
      ...content,
    };
    this.host.chats.save(message, false);
    return this.host.deliverUpdate({ message });
  }

  private memberUpdate(oldStatus: 'member' | 'kicked', newStatus: 'member' | 'kicked'): Promise<void> {
    const { id, first_name, username } = this.host.botInfo;
    const bot = { id, is_bot: true, first_name, username };
    return this.host.deliverUpdate({
      my_chat_member: {
        chat: this.chat,
        from: this.from,
        date: unixNow(),
        old_chat_member: { user: bot, status: oldStatus, ...(oldStatus === 'kicked' && { until_date: 0 }) },
        new_chat_member: { user: bot, status: newStatus, ...(newStatus === 'kicked' && { until_date: 0 }) },
      },
    });
  }
}
