import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

/**
 * Writes `dir` as a gzip'd tar to `file`, the layout PGlite's `dumpDataDir` writes and its
 * `loadDataDir` reads (ustar; every name relative to `dir` with a leading '/'; each folder before
 * what it holds), streamed one file piece at a time: memory stays flat however big the folder is.
 * Anything but plain files and folders is left out. Returns the bytes written.
 */
export async function writeFolderTarGz(dir: string, file: string): Promise<number> {
  const gzip = createGzip();
  const out = createWriteStream(file, { mode: 0o600 });
  const written = pipeline(gzip, out);
  // The write side fails with the file: stop feeding it then.
  written.catch(() => {});
  const put = async (chunk: Uint8Array) => {
    if (!gzip.write(chunk)) await Promise.race([once(gzip, 'drain'), written]);
  };
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const name = `${rel}/${e.name}`;
      const full = path.join(dir, name);
      if (e.isDirectory()) {
        const s = await stat(full);
        await put(tarHeader(name, { mode: s.mode, size: 0, mtime: s.mtime, type: 'folder' }));
        await walk(name);
      } else if (e.isFile()) {
        const s = await stat(full);
        await put(tarHeader(name, { mode: s.mode, size: s.size, mtime: s.mtime, type: 'file' }));
        let copied = 0;
        if (s.size > 0) {
          for await (const chunk of createReadStream(full, { end: s.size - 1, highWaterMark: 1 << 20 })) {
            await put(chunk as Buffer);
            copied += (chunk as Buffer).byteLength;
          }
        }
        // The size in the header is what was copied: a file that changed under us is an error.
        if (copied !== s.size) throw new Error(`${name} cambió durante la copia`);
        if (s.size % 512) await put(new Uint8Array(512 - (s.size % 512)));
      }
    }
  };
  try {
    await walk('');
    gzip.end(new Uint8Array(1024)); // end of archive: two empty records
  } catch (err) {
    gzip.destroy(err as Error);
    throw err;
  }
  await written;
  return (await stat(file)).size;
}

/** One ustar header record (512 bytes). */
export function tarHeader(
  name: string,
  h: { mode: number; size: number; mtime: Date; type: 'file' | 'folder' },
): Uint8Array {
  const record = Buffer.alloc(512);
  if (Buffer.byteLength(name) > 99) throw new Error(`nombre demasiado largo para el respaldo: ${name}`);
  const octal = (value: number, width: number) => `${value.toString(8).padStart(width - 1, '0')}\0`;
  record.write(name, 0, 'utf8');
  record.write(octal(h.mode & 0o7777, 8), 100, 'ascii');
  record.write(octal(0, 8), 108, 'ascii'); // uid
  record.write(octal(0, 8), 116, 'ascii'); // gid
  record.write(octal(h.size, 12), 124, 'ascii');
  record.write(octal(Math.floor(h.mtime.getTime() / 1000), 12), 136, 'ascii');
  record.write(h.type === 'file' ? '0' : '5', 156, 'ascii');
  record.write('ustar\x0000', 257, 'ascii');
  // The checksum counts its own field as spaces.
  record.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of record) sum += byte;
  record.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return record;
}
