import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/db/index.js';
import { type Standin, startStandin } from '../../src/telegram/standin/index.js';
import { cedulaFor } from '../support/fixtures.js';
import type { ServiceProcess } from '../support/process.js';
import { caddy, startCaddy, WEBHOOK } from './caddy.js';
import { freePort, startServiceProcess } from './support.js';

describe.skipIf(!caddy)('HTTPS for real: Caddy (tls internal) in front of the service', () => {
  const dirs: string[] = [];
  let caddyProc: ChildProcess | undefined;
  let svc: ServiceProcess | undefined;
  let standin: Standin | undefined;
  afterAll(async () => {
    if (svc && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
    await standin?.close();
    if (caddyProc && caddyProc.exitCode === null) {
      const gone = new Promise((r) => caddyProc!.once('exit', r));
      caddyProc.kill('SIGTERM');
      await gone;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the service registers its webhook at PUBLIC_URL and a client links through HTTPS', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'teltec-caddy-'));
    const dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-https-'));
    dirs.push(home, dataDir);
    const cedula = cedulaFor(4321);
    const db = await openDatabase({ dataDir });
    await migrate(db);
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono) VALUES ($1, 'Ana Segura', '0987000123') RETURNING id`,
      [cedula],
    );
    await db.close();

    const port = await freePort();
    const proxy = await startCaddy(home, `127.0.0.1:${port}`);
    caddyProc = proxy.child;
    // Telegram trusts public CAs; the stand-in trusts Caddy's local one the same way.
    standin = await startStandin({ webhookCa: proxy.ca, webhookRetryMs: 200 });
    ({ svc } = await startServiceProcess({
      DATA_DIR: dataDir,
      PORT: String(port),
      ADMIN_TOKEN: 'admin-token-for-https-tests-0123',
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
      PUBLIC_URL: proxy.url,
      BACKUP_TIME: 'no',
    }));
    await svc.waitFor(/webhook configurado/, 60_000);
    expect(standin.webhook.url).toBe(proxy.url + WEBHOOK);

    // The certificate is Caddy's own, not publicly trusted: only the CA above makes delivery work.
    await expect(fetch(`${proxy.url}/health`)).rejects.toThrow();

    const user = standin.user({ chatId: 777001, firstName: 'Ana' });
    await user.command('start');
    expect((await standin.waitForSent((m) => m.chat_id === 777001, 30_000)).text).toContain('cédula');
    await user.send(cedula);
    // The bot links on the cédula, or first asks for the contact to confirm it (its policy, not ours).
    const answer = await standin.waitForSent(
      (m) => m.chat_id === 777001 && /Compartir mi número|Ana Segura/.test(m.text),
      30_000,
    );
    if (!answer.text.includes('Ana Segura')) await user.shareContact('593987000123');
    await standin.waitForSent((m) => Number(m.chat_id) === 777001 && m.text.includes('Ana Segura'), 30_000);
    expect(standin.webhook).toMatchObject({ failed: 0, pending: 0 });
    expect(standin.webhook.delivered).toBeGreaterThanOrEqual(2); // /start, the cédula (and the contact)
    expect(standin.webhook.lastError).toBeUndefined();

    // The link is in the database, seen through the same HTTPS address with the admin token.
    const res = await new Promise<string>((resolve, reject) => {
      import('node:https').then(({ get }) =>
        get(
          `${proxy.url}/api/clientes/${rows[0]!.id}`,
          { ca: proxy.ca, headers: { authorization: 'Bearer admin-token-for-https-tests-0123' } },
          (r) => {
            let body = '';
            r.on('data', (c) => (body += c));
            r.on('end', () => resolve(body));
          },
        ).once('error', reject),
      );
    });
    expect(JSON.parse(res)).toMatchObject({ telegram: { chat_id: '777001' } });
  }, 240_000);
});
