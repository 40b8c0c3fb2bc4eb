import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Receipt files: what may be stored (by content, never by the name or type the client claims),
 * how big, and where. Files live under DATA_DIR/comprobantes (0700 folders, 0600 files), never
 * under a public path; staff read them only through the authenticated API.
 */

/** The largest receipt accepted (10 MB). */
export const RECEIPT_MAX_BYTES = 10 * 1024 * 1024;

export const receiptTypes = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'application/pdf': 'pdf',
} as const;
export type ReceiptMime = keyof typeof receiptTypes;

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The type of a file by its first bytes (magic numbers); null = not an image or PDF we accept. */
export function sniffReceiptType(head: Uint8Array): ReceiptMime | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(head, ascii('%PDF-'))) return 'application/pdf';
  return null;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The one bounded download (src/lib/download.ts), re-exported where receipts are handled. */
export { downloadLimited, FileTooLargeError } from '../lib/download.js';

export const RECEIPTS_FOLDER = 'comprobantes';

/**
 * Stores a receipt under DATA_DIR/comprobantes/<client>/<sha256>.<ext> and returns the path
 * relative to that folder. The name comes from the content, never from the client.
 */
export function storeReceiptFile(
  dataDir: string,
  clientId: number,
  bytes: Uint8Array,
  mime: ReceiptMime,
): string {
  const rel = `${clientId}/${sha256Hex(bytes)}.${receiptTypes[mime]}`;
  const full = path.join(dataDir, RECEIPTS_FOLDER, rel);
  mkdirSync(path.dirname(full), { recursive: true, mode: 0o700 });
  writeFileSync(full, bytes, { mode: 0o600 });
  return rel;
}

/** Reads a stored receipt (the relative path from the database, checked to stay inside the folder). */
export function readReceiptFile(dataDir: string, rel: string): Buffer {
  const root = path.resolve(dataDir, RECEIPTS_FOLDER);
  const full = path.resolve(root, rel);
  if (!full.startsWith(root + path.sep)) throw new Error('ruta de comprobante fuera de su carpeta');
  return readFileSync(full);
}

/**
 * Removes every stored receipt of a client (DATA_DIR/comprobantes/<client>/): called once the
 * client's row is deleted (its receipt rows go with it, ON DELETE CASCADE), so no file outlives
 * its client. Idempotent; a client without receipts has no folder.
 */
export function removeClientReceiptFiles(dataDir: string, clientId: number): void {
  if (!Number.isSafeInteger(clientId) || clientId <= 0) throw new Error('cliente no válido');
  rmSync(path.join(dataDir, RECEIPTS_FOLDER, String(clientId)), { recursive: true, force: true });
}
