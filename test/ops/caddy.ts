import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/process.js';
import { freePort } from './support.js';

/** Debian's caddy (CI installs it from apt, like chromium). Without it here: skipped, never in CI. */
function findCaddy(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v caddy'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}
export const caddy = findCaddy();
if (!caddy && process.env.CI)
  throw new Error('CI: falta caddy (apt-get install caddy); la prueba HTTPS es obligatoria');

export const WEBHOOK = '/api/notificaciones/telegram/webhook/';

export async function waitUntil(
  what: string | (() => string),
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timeout: ${typeof what === 'function' ? what() : what}`);
}

/**
 * deploy/Caddyfile as shipped, with the test's extras through its variables: `tls internal`
 * (Caddy's own local CA instead of Let's Encrypt), 127.0.0.1 and free ports only, no admin
 * endpoint, and every file Caddy writes in a temporary HOME. `upstream`: one address, or several
 * separated by spaces (Caddy balances between them).
 */
export async function startCaddy(home: string, upstream: string) {
  const httpsPort = await freePort();
  const httpPort = await freePort();
  const storage = path.join(home, 'caddy-data');
  const child = spawn(
    caddy!,
    ['run', '--config', path.join(repoRoot, 'deploy', 'Caddyfile'), '--adapter', 'caddyfile'],
    {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        XDG_DATA_HOME: path.join(home, 'xdg-data'),
        XDG_CONFIG_HOME: path.join(home, 'xdg-config'),
        DOMINIO: `https://localhost:${httpsPort}`,
        TELTEC_UPSTREAM: upstream,
        CADDY_GLOBAL: [
          'admin off',
          `http_port ${httpPort}`,
          `https_port ${httpsPort}`,
          'skip_install_trust',
          'auto_https disable_redirects',
          `storage file_system ${storage}`,
        ].join('\n'),
        CADDY_SITE: 'bind 127.0.0.1\ntls internal',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const rootCert = path.join(storage, 'pki', 'authorities', 'local', 'root.crt');
  await waitUntil(
    `Caddy's local CA and certificate (log: ${log})`,
    () => existsSync(rootCert) && /certificate obtained successfully|serving initial configuration/.test(log),
  );
  return { child, url: `https://localhost:${httpsPort}`, ca: readFileSync(rootCert, 'utf8'), log: () => log };
}
