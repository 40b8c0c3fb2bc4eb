import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

/** Start-up time (spawn → listening) and idle memory of the built service on a fresh PGlite folder. */
export async function benchStartup(): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.mjs')], { stdio: 'inherit' });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-bench-'));
  try {
    for (const label of ['arranque en frío (base nueva)', 'arranque con base existente']) {
      const t0 = performance.now();
      const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', ADMIN_TOKEN: 'b'.repeat(20) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /"address":"([^"]+)"/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', () => reject(new Error('exited: ' + out)));
      });
      const readyMs = performance.now() - t0;
      const res = await fetch(`${address}/ready`);
      await new Promise((r) => setTimeout(r, 3000));
      console.log(
        `inicio: ${label}: ${Math.round(readyMs)} ms hasta escuchar; /ready ${res.status}; memoria en reposo ${rssMb(child.pid!)} MB RSS`,
      );
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
