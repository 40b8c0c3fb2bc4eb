import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { writeFolderTarGz } from '../lib/folder-tar.js';
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

export interface PgliteOptions {
  /**
   * PostgreSQL's shared_buffers inside the process (default 32 MB; PGlite's own default, 128 MB,
   * is touched at start and costs ~150 MB of resident memory for nothing at this size).
   */
  sharedBuffersMb?: number;
  /**
   * A new folder is initialised in a short-lived child process (see `initialisePgliteDir`): the
   * long-running service sets it; one-shot commands skip the extra start.
   */
  initialiseInChild?: boolean;
  /**
   * Starts from a copy made by `dumpDataDir` (tests clone one migrated database instead of running
   * initdb and every migration for each file).
   */
  loadDataDir?: Blob;
  /**
   * PostgreSQL's code compiled once, by V8's optimising compiler, as each function is first called
   * (`--no-liftoff`, process-wide, set before the module is compiled). By default V8 compiles every
   * called function twice, a quick baseline first and the optimised code later, and keeps both,
   * with the compilers' scratch memory, in the process: 30-50 MB more of resident memory for a
   * running service (issue 16 §4). Hot code runs as fast either way; the first call of each
   * function waits for its compilation (initdb: 2.0 s -> 3.6 s in memory), so the long-running
   * service sets it and the tests and one-shot commands do not.
   */
  optimisedCodeOnly?: boolean;
}

/** PGlite's default start parameters (PGlite.defaultStartParams in 0.5) and ours after them. */
function startParams(o: PgliteOptions): string[] {
  const defaults = (PGlite as unknown as { defaultStartParams?: string[] }).defaultStartParams ?? [
    '--single',
    '-F',
    '-O',
    '-j',
    '-c',
    'search_path=public',
    '-c',
    'exit_on_error=false',
    '-c',
    'log_checkpoints=false',
    '-c',
    'max_worker_processes=0',
    '-c',
    'max_parallel_workers=0',
    '-c',
    'max_parallel_workers_per_gather=0',
    '-c',
    'io_method=sync',
    '-c',
    'max_parallel_maintenance_workers=0',
  ];
  return [...defaults, '-c', `shared_buffers=${Math.max(1, Math.round(o.sharedBuffersMb ?? 32))}MB`];
}

/** Whether `dataDir` already holds a PostgreSQL cluster (initdb has run). */
export function isPgliteInitialised(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'PG_VERSION'));
}

/**
 * Creates the cluster in `dataDir` and applies the migrations, in a short-lived child process.
 * The wasm heap of initdb (~500 MB) and of the migrations (~40 MB more) is never given back by
 * the process that ran them: run here, the first start would stay that much above any later
 * start. The child exits; this process then opens a migrated folder, as on any start.
 * The child is `initialise-child` beside this module, under this process's own loader
 * (`process.execArgv`: tsx in development, none when built). Where it cannot run (a test
 * runner's worker), a child only runs initdb and the caller's `migrate` does the rest here.
 */
export async function initialisePgliteDir(dataDir: string): Promise<void> {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, args, { timeout: 300_000, maxBuffer: 1 << 20 });
  const self = fileURLToPath(import.meta.url);
  const child = path.join(path.dirname(self), `initialise-child${path.extname(self)}`);
  try {
    await run([...process.execArgv, child, dataDir]);
    return;
  } catch {
    // initdb ran (the migrations roll back as one): the caller migrates. Otherwise initdb alone,
    // whose failure, if any, is the one reported.
    if (isPgliteInitialised(dataDir)) return;
  }
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script =
    'const [entry, dir] = process.argv.slice(1);' +
    'require(entry).PGlite.create(dir).then((pg) => pg.close()).then(' +
    '() => process.exit(0), (err) => { console.error(String(err)); process.exit(1); });';
  await run(['-e', script, entry, dataDir]);
}

/**
 * Embedded PostgreSQL (PGlite). `dataDir` undefined = in memory (tests).
 * PGlite is one process's database: callers MUST hold the data-dir lock (see `data-dir-lock.ts`).
 */
export async function createPgliteDb(dataDir?: string, opts: PgliteOptions = {}): Promise<Db> {
  if (opts.optimisedCodeOnly) v8.setFlagsFromString('--no-liftoff');
  const pg = await PGlite.create({
    fs: dataDir ? new PrivateNodeFS(dataDir) : undefined,
    parsers: sharedParsers,
    startParams: startParams(opts),
    loadDataDir: opts.loadDataDir,
  });
  const q = wrap(pg);
  return {
    kind: 'pglite',
    query: q.query,
    exec: q.exec,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    // Runs exclusively (no query in between): the copy is what a crash at that instant leaves.
    dumpDataDir: () => pg.dumpDataDir('gzip'),
    // The same, from the folder on disk (NODEFS writes through): PGlite's own dump holds every
    // file, then the whole tar, in memory (~2× the folder: +400 MB at 100k clients).
    ...(dataDir && {
      writeDataDir: (file: string) => pg.runExclusive(() => writeFolderTarGz(dataDir, file)),
    }),
    async listen(channel, onNotify) {
      const stop = await pg.listen(channel, onNotify);
      return async () => {
        await stop();
      };
    },
    close: () => pg.close(),
  };
}
