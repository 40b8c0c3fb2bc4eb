import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, secureDataDir } from '../../src/db/index.js';

/** Every file and folder under `dir` with its permission bits (sockets and links left out). */
function modes(dir: string): { p: string; dir: boolean; mode: number }[] {
  const out: { p: string; dir: boolean; mode: number }[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink() || st.isSocket()) return;
    out.push({ p, dir: st.isDirectory(), mode: st.mode & 0o777 });
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return out;
}

function loosen(dir: string): void {
  for (const e of modes(dir)) chmodSync(e.p, e.dir ? 0o755 : 0o666);
}

const isPrivate = (e: { dir: boolean; mode: number }) => e.mode === (e.dir ? 0o700 : 0o600);

describe('DATA_DIR is the owner’s only (issue 12 §2)', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'teltec-private-'));
  const previousUmask = process.umask();
  afterAll(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });

  it('fixes an existing folder with 0666 files and 0755 folders, and says how many', () => {
    const dir = path.join(root, 'copied');
    mkdirSync(path.join(dir, 'pglite', 'base'), { recursive: true });
    writeFileSync(path.join(dir, 'admin-token'), 'x');
    writeFileSync(path.join(dir, 'pglite', 'base', '1234'), 'x');
    loosen(dir);
    const all = modes(dir);
    expect(all.filter(isPrivate)).toEqual([]);
    expect(secureDataDir(dir)).toEqual({ fixed: all.length });
    expect(modes(dir).filter((e) => !isPrivate(e))).toEqual([]);
    expect(secureDataDir(dir)).toEqual({ fixed: 0 }); // said once: nothing left to fix
  });

  it('an embedded database opened on a loose folder is made private, and the files it creates are born 0600', async () => {
    process.umask(0o022);
    const dir = path.join(root, 'service');
    let db = await openDatabase({ dataDir: dir });
    await db.exec('CREATE TABLE first (id int)');
    await db.close();
    loosen(dir);
    expect(modes(dir).filter(isPrivate)).toEqual([]);

    db = await openDatabase({ dataDir: dir });
    expect(modes(dir).filter((e) => !isPrivate(e))).toEqual([]);
    const before = new Set(modes(dir).map((e) => e.p));
    // New relations, indexes and WAL written by the running database.
    await db.exec(`CREATE TABLE later (id int PRIMARY KEY, v text);
      INSERT INTO later SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
      CREATE INDEX later_v ON later (v); CHECKPOINT;`);
    const after = modes(dir);
    const created = after.filter((e) => !before.has(e.p));
    expect(created.length).toBeGreaterThan(0);
    expect(after.filter((e) => !isPrivate(e))).toEqual([]);
    await db.close();
  }, 180_000);
});
