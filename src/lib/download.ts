/**
 * Downloads a file, stopping as soon as it passes `maxBytes` — on the stated Content-Length
 * before reading anything, and again while reading (a server may state less than it sends, or
 * nothing). `url` and `headers` may carry a token: they MUST NOT be logged, and errors never
 * include them.
 */

/** Thrown while downloading when the file is bigger than allowed (stated or actual size). */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(readonly bytes: number) {
    super(`file larger than allowed (${bytes} bytes)`);
  }
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Request headers (WhatsApp's media URL wants the Bearer token). */
  headers?: Record<string, string>;
}

export async function downloadLimited(
  url: string,
  maxBytes: number,
  o: DownloadOptions = {},
): Promise<Buffer> {
  let res: Response;
  try {
    res = await fetch(url, {
      signal: o.signal ?? AbortSignal.timeout(30_000),
      ...(o.headers && { headers: o.headers }),
    });
  } catch (err) {
    throw new Error(`no se pudo descargar el archivo: ${(err as Error).name}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new Error(`no se pudo descargar el archivo: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body.cancel().catch(() => {});
    throw new FileTooLargeError(declared);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new FileTooLargeError(size);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
