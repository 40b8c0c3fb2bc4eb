import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Standin, startStandin } from '../../src/telegram/standin/index.js';
import { type ServiceProcess, spawnService } from '../support/process.js';

/** The real service process: which mode it picks, and that it says so. */
describe('service with a bot token', () => {
  let standin: Standin | undefined;
  let svc: (ServiceProcess & { ready: Promise<string> }) | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (svc && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
    await standin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    svc = undefined;
    standin = undefined;
  });

  it('uses long polling without PUBLIC_URL, answers a client, and stops cleanly', async () => {
    standin = await startStandin();
    dir = mkdtempSync(path.join(tmpdir(), 'teltec-bot-'));
    svc = spawnService({
      DATA_DIR: dir,
      ADMIN_TOKEN: 'admin-token-for-bot-tests-0123',
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
    });
    await svc.ready;
    const mode = await svc.waitFor(/bot de Telegram en modo long polling/);
    expect(JSON.parse(mode).mode).toBe('polling');
    const user = standin.user({ chatId: 4242 });
    await user.command('start');
    const reply = await standin.waitForSent((m) => m.chat_id === 4242, 15_000);
    expect(reply.text).toContain('cédula');
    const commands = standin.calls.find((c) => c.method === 'setMyCommands');
    expect(commands?.status).toBe(200);
    svc.child.kill('SIGTERM');
    expect((await svc.exit).code).toBe(0);
    expect(svc.output()).not.toContain(standin.token.split(':')[1]!);
  }, 60_000);

  it('sets its webhook at start with a secret kept in DATA_DIR when PUBLIC_URL is set', async () => {
    standin = await startStandin();
    dir = mkdtempSync(path.join(tmpdir(), 'teltec-bot-'));
    svc = spawnService({
      DATA_DIR: dir,
      ADMIN_TOKEN: 'admin-token-for-bot-tests-0123',
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
      PUBLIC_URL: 'https://teltec.example.ec',
    });
    await svc.ready;
    expect(JSON.parse(await svc.waitFor(/modo webhook/)).mode).toBe('webhook');
    await svc.waitFor(/webhook configurado/);
    const file = path.join(dir, 'webhook-secret');
    const secret = readFileSync(file, 'utf8').trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(standin.webhook).toMatchObject({
      url: 'https://teltec.example.ec/api/notificaciones/telegram/webhook/',
      secret,
      allowedUpdates: ['message', 'callback_query', 'my_chat_member'],
    });
    // The secret is the one the webhook route checks.
    const url = `${svc.address}/api/notificaciones/telegram/webhook/`;
    const body = JSON.stringify({ update_id: 1, poll: { id: 'x' } });
    const ok = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body,
    });
    expect(ok.status).toBe(200);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'nope' },
      body,
    });
    expect(bad.status).toBe(401);
    expect(svc.output()).not.toContain(secret);
  }, 60_000);
});
