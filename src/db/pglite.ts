import { PGlite, type Transaction } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { sharedParsers } from './type-parsers.js';
import type { Db, Queryable, QueryResult } from './types.js';

type PgliteLike = Pick<PGlite, 'query' | 'exec'> | Transaction;

function wrap(pg: PgliteLike): Queryable {
  return {
    async query<T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
      const res = await pg.query<T>(text, params as unknown[] | undefined);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      await pg.exec(sql);
    },
  };
}

type Attr = { mode?: number } & Record<string, unknown>;
type SetAttr = (target: unknown, attr: Attr) => unknown;
type MkNod = (parent: unknown, name: string, mode: number, dev: unknown) => unknown;

/**
 * PGlite's files on disk, owner-only. Emscripten's NODEFS `chmod`s what it writes to the modes
 * the wasm side asks for (0666 for the files copied from initdb, 0644 for some of PostgreSQL's):
 * the process umask does not reach those, so every file or folder it creates and every chmod it
 * makes is masked to the owner here.
 */
class PrivateNodeFS extends NodeFS {
  override async init(...args: Parameters<NodeFS['init']>) {
    const res = await super.init(...args);
    const preRun = res.emscriptenOpts.preRun ?? [];
    preRun.push((mod: { NODEFS: unknown }) => {
      const nodefs = mod.NODEFS as {
        node_ops: { setattr?: SetAttr; mknod?: MkNod };
        stream_ops: { setattr?: SetAttr };
      };
      const mknod = nodefs.node_ops.mknod;
      if (mknod) nodefs.node_ops.mknod = (parent, name, mode, dev) => mknod(parent, name, mode & ~0o077, dev);
      for (const ops of [nodefs.node_ops, nodefs.stream_ops]) {
        const setattr = ops.setattr;
        if (!setattr) continue;
        ops.setattr = (target, attr) =>
          setattr(target, attr.mode === undefined ? attr : { ...attr, mode: attr.mode & ~0o077 });
      }
    });
    res.emscriptenOpts.preRun = preRun;
    return res;
  }
}

/**
 * Embedded PostgreSQL (PGlite). `dataDir` undefined = in memory (tests).
 * PGlite is one process's database: callers MUST hold the data-dir lock (see `data-dir-lock.ts`).
 */
export async function createPgliteDb(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create({
    fs: dataDir ? new PrivateNodeFS(dataDir) : undefined,
    parsers: sharedParsers,
  });
  const q = wrap(pg);
  return {
    kind: 'pglite',
    query: q.query,
    exec: q.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    // Runs exclusively (no query in between): the copy is what a crash at that instant leaves.
    dumpDataDir: () => pg.dumpDataDir('gzip'),
    async listen(channel, onNotify) {
      const stop = await pg.listen(channel, onNotify);
      return async () => {
        await stop();
      };
    },
    close: () => pg.close(),
  };
}
