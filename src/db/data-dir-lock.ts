import { mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
}

export interface DataDirLock {
  release(): Promise<void>;
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    const done = (alive: boolean) => {
      sock.destroy();
      resolve(alive);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(500, () => done(true));
  });
}

/**
 * Takes the one-process lock on a PGlite data folder. Two processes writing one PGlite folder
 * silently lose data, so a second one MUST refuse to start.
 *
 * The lock is a listening Unix socket inside the folder: the kernel frees it when the process
 * dies, even on `kill -9`, so a stale socket file is detected (nobody answers) and taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  mkdirSync(dataDir, { recursive: true });
  // Unix socket paths are limited to ~107 bytes: use a relative path from the folder when long.
  const full = path.join(dataDir, '.teltec.lock');
  const socketPath = full.length < 100 ? full : path.relative(process.cwd(), full);
  const server = net.createServer((c) => c.end());
  server.unref();
  try {
    await listen(server, socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (await isAlive(socketPath)) {
      throw new DataDirLockedError(
        `La base de datos embebida en ${dataDir} ya está en uso por otro proceso de TelTec. ` +
          'Detenga el otro proceso o use otro DATA_DIR (o DATABASE_URL para PostgreSQL).',
      );
    }
    unlinkSync(socketPath); // stale: its owner died
    await listen(server, socketPath);
  }
  return {
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
