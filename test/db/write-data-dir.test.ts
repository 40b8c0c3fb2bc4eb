import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgliteDb } from '../../src/db/index.js';
import { writeFolderTarGz } from '../../src/lib/index.js';

const dirs: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `teltec-${p}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('A PGlite folder is copied by streaming it (backups: flat memory at 100k clients)', () => {
  it('writes a tar that tar reads back byte for byte (empty, record-sized and odd-sized files, nested folders)', async () => {
    const src = tmp('carpeta');
    mkdirSync(path.join(src, 'base', '1'), { recursive: true });
    mkdirSync(path.join(src, 'vacia'));
    const files: Record<string, Buffer> = {
      PG_VERSION: Buffer.from('17\n'),
      'base/1/vacio': Buffer.alloc(0),
      'base/1/justo': Buffer.alloc(512, 7),
      'base/1/impar': Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 31) % 256)),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(src, name), data);
    const file = path.join(tmp('tar'), 'copia.tar.gz');
    const bytes = await writeFolderTarGz(src, file);
    expect(bytes).toBe(readFileSync(file).byteLength);
    // Names as PGlite's own dump writes them: relative to the folder, with a leading '/'.
    const tar = gunzipSync(readFileSync(file));
    expect(tar.subarray(0, 100).toString().replace(/\0.*$/s, '')).toMatch(/^\/[A-Za-z_]/);
    const out = tmp('extraido');
    execFileSync('tar', ['-xzf', file, '-C', out]);
    for (const [name, data] of Object.entries(files)) {
      expect(readFileSync(path.join(out, name)).equals(data), name).toBe(true);
    }
  });

  it("a database in a folder, copied while it runs, opens with PGlite's loadDataDir and holds its data", async () => {
    const dir = tmp('pglite');
    const db = await createPgliteDb(dir);
    try {
      await db.exec('CREATE TABLE t (id int PRIMARY KEY, v text)');
      await db.query(`INSERT INTO t SELECT i, repeat('x', i % 100) FROM generate_series(1, 5000) i`);
      // No CHECKPOINT: the copy is what a crash would leave, and PostgreSQL replays its WAL.
      const file = path.join(tmp('copia'), 'copia.tar.gz');
      await db.writeDataDir!(file);
      await db.query('INSERT INTO t VALUES (5001, $1)', ['después de la copia']);
      const copy = await PGlite.create({ loadDataDir: new Blob([readFileSync(file)]) });
      try {
        const { rows } = await copy.query<{ n: number; s: number }>(
          'SELECT count(*)::int AS n, sum(length(v))::int AS s FROM t',
        );
        expect(rows[0]).toEqual({ n: 5000, s: 247_500 }); // 50 × (0 + 1 + … + 99)
      } finally {
        await copy.close();
      }
    } finally {
      await db.close();
    }
  }, 60_000);
});
