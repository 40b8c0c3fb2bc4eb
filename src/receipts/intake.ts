import type { Db } from '../db/index.js';
import { sha256Hex, sniffReceiptType, storeReceiptFile } from './files.js';
import { type NewReceiptResult, type ReviewContext, recordReceipt } from './store.js';

/**
 * The one door for a receipt file a client sent by chat, whatever the channel (Telegram's photo
 * or document, WhatsApp's image or document): the type by its first bytes (never by the name or
 * type the client claims), stored under DATA_DIR/comprobantes, recorded once (a resend of the
 * same file is recognised), the cycle's notices paused. The caller downloaded `bytes` within
 * RECEIPT_MAX_BYTES and answers the client from the result.
 */
export type ReceiptIntake = NewReceiptResult | { ok: false; reason: 'tipo' };

export async function takeReceipt(
  db: Db,
  r: {
    dataDir: string;
    clientId: number;
    /** Telegram chat it came from; null for other channels. */
    chatId: number | null;
    bytes: Buffer;
    pauseDays: number;
  },
  c: ReviewContext,
): Promise<ReceiptIntake> {
  const mime = sniffReceiptType(r.bytes.subarray(0, 16));
  if (!mime) return { ok: false, reason: 'tipo' };
  const archivo = storeReceiptFile(r.dataDir, r.clientId, r.bytes, mime);
  return db.transaction((tx) =>
    recordReceipt(
      tx,
      {
        clientId: r.clientId,
        chatId: r.chatId,
        mime,
        size: r.bytes.length,
        sha256: sha256Hex(r.bytes),
        archivo,
        pauseDays: r.pauseDays,
      },
      c,
    ),
  );
}
