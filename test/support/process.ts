import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  child: ChildProcess;
  address: string;
  output: () => string;
  /** Waits for a log line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `src/main.ts` under tsx as a real process, with only the given environment. */
export function spawnService(env: Record<string, string>): ServiceProcess & { ready: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const waitFor = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const line = out.split('\n').find((l) => re.test(l));
      if (line) return resolve(line);
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output:\n${out}`)), timeoutMs);
      waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
      void exit.then(() => setTimeout(() => reject(new Error(`process exited; output:\n${out}`)), 50));
    });
  const svc: ServiceProcess & { ready: Promise<string> } = {
    child,
    address: '',
    output: () => out,
    waitFor,
    exit,
    ready: Promise.resolve(''),
  };
  // A cold PGlite start on a loaded 2-core machine takes well over 20 s.
  svc.ready = waitFor(/escuchando en/, 120_000).then((line) => {
    svc.address = JSON.parse(line).address as string;
    return svc.address;
  });
  // A process expected to fail never becomes ready: that is not an unhandled error.
  svc.ready.catch(() => {});
  return svc;
}
