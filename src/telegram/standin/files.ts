import { createHash, randomBytes } from 'node:crypto';

/**
 * Files users send to the bot (photos, documents) and what `getFile` and the file download
 * (`GET /file/bot<token>/<file_path>`) serve. Like Telegram: `file_unique_id` is the same for the
 * same content, `file_id` is new for each upload; bots may not download files over 20 MB.
 */

/** Telegram's limit on files a bot downloads with getFile. */
export const BOT_DOWNLOAD_LIMIT = 20 * 1024 * 1024;

export interface StoredFile {
  fileId: string;
  uniqueId: string;
  path: string;
  bytes: Buffer;
  /** The size told to the bot (file_size); the real length unless a test says otherwise. */
  reportedSize: number;
}

export class FileStore {
  private readonly byId = new Map<string, StoredFile>();
  private readonly byPath = new Map<string, StoredFile>();
  private seq = 0;

  add(bytes: Uint8Array, kind: 'photos' | 'documents', ext: string, reportedSize?: number): StoredFile {
    this.seq++;
    const buf = Buffer.from(bytes);
    const uniqueId = `AQAD${createHash('sha256').update(buf).digest('base64url').slice(0, 16)}`;
    const fileId = `BQAC${randomBytes(12).toString('base64url')}${this.seq}`;
    const file: StoredFile = {
      fileId,
      uniqueId,
      path: `${kind}/file_${this.seq}.${ext}`,
      bytes: buf,
      reportedSize: reportedSize ?? buf.length,
    };
    this.byId.set(fileId, file);
    this.byPath.set(file.path, file);
    return file;
  }

  get(fileId: string): StoredFile | undefined {
    return this.byId.get(fileId);
  }

  byFilePath(path: string): StoredFile | undefined {
    return this.byPath.get(path);
  }
}
