import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the admin page, held in memory with its validators. */
export interface StaticFile {
  /** Absolute path and modification time it was read at. */
  file: string;
  mtimeMs: number;
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/**
 * Loads every file under `dir` whose type we know, keyed by its URL path ('/assets/app.js').
 * Only these keys are ever served: a request path is looked up, never joined onto the folder,
 * so `..` and symlinks cannot reach outside it. `transform` may rewrite text files (HTML).
 */
export function loadStaticFiles(
  dir: string,
  transform: (urlPath: string, text: string) => string = (_p, t) => t,
): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (sub: string) => {
    for (const e of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const rel = path.posix.join(sub, e.name);
      if (e.isDirectory()) {
        walk(rel);
        continue;
      }
      const type = TYPES[path.extname(e.name).toLowerCase()];
      if (!e.isFile() || !type) continue;
      const urlPath = '/' + rel;
      files.set(
        urlPath,
        readStaticFile(path.join(dir, rel), type, (text) => transform(urlPath, text)),
      );
    }
  };
  walk('');
  return files;
}

function readStaticFile(file: string, type: string, transform: (text: string) => string): StaticFile {
  const mtimeMs = statSync(file).mtimeMs;
  let body = readFileSync(file);
  if (type.startsWith('text/html')) body = Buffer.from(transform(body.toString('utf8')));
  const compressible = !type.startsWith('image/png');
  return {
    file,
    mtimeMs,
    body,
    gzip: compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : null,
    type,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

/**
 * The file as it is now: re-read when it changed on disk since it was loaded (an edit during
 * development shows on the next reload; in production nothing changes and this is one stat).
 */
export function freshStaticFile(
  files: Map<string, StaticFile>,
  urlPath: string,
  transform: (urlPath: string, text: string) => string = (_p, t) => t,
): StaticFile | undefined {
  const f = files.get(urlPath);
  if (!f) return undefined;
  try {
    if (statSync(f.file).mtimeMs === f.mtimeMs) return f;
    const fresh = readStaticFile(f.file, f.type, (text) => transform(urlPath, text));
    files.set(urlPath, fresh);
    return fresh;
  } catch {
    return f;
  }
}
