import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createPostgresDb, type Db, migrate } from '../../src/db/index.js';
import { type Standin, startStandin } from '../../src/telegram/standin/index.js';
import { cedulaFor } from '../support/fixtures.js';
import type { ServiceProcess } from '../support/process.js';
import { caddy, startCaddy, WEBHOOK, waitUntil } from './caddy.js';
import { createFreshPgDatabase, freePort, startServiceProcess } from './support.js';

/**
 * Issue 15 §6: two instances of the service behind one address (Caddy, `tls internal`, balancing
 * between them) on one PostgreSQL, through the moments of a day that matter — the morning
 * generation, a campaign, clients writing to the bot, the evening when the send window is closed —
 * with the injected clock (CLOCK_START / CLOCK_ORIGIN: both instances read the same business time).
 * Every notice goes once, the scheduler runs its slot once, and together they stay under SEND_RATE.
 */

const SEND_RATE = 8;
const ADMIN = 'admin-token-two-instances-0123456';
const DAY = '2026-03-10'; // Guayaquil = UTC-5
const LINKED = 24;
const FIRST_CHAT = 5_500_000;

function httpsJson(ca: string, method: string, url: string, body?: unknown) {
  return new Promise<{ status: number; json: () => Record<string, unknown> }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(payload && { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: () => JSON.parse(text) }));
      },
    );
    req.once('error', reject);
    req.end(payload);
  });
}

/** Most successful sends inside any window of `ms`. */
function peakIn(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < t.length; hi++) {
    while (t[hi]! - t[lo]! >= ms) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

const pg = inject('postgresUrl');

describe.skipIf(!caddy || !pg)('two instances behind one address on one PostgreSQL, through a day', () => {
  const dirs: string[] = [];
  let services: ServiceProcess[] = [];
  let standin: Standin | undefined;
  let proxy: Awaited<ReturnType<typeof startCaddy>> | undefined;
  let fresh: Awaited<ReturnType<typeof createFreshPgDatabase>> | undefined;
  let db: Db | undefined;

  async function stopAll() {
    await Promise.all(
      services.map(async (s) => {
        if (s.child.exitCode === null) {
          s.child.kill('SIGTERM');
          await s.exit;
        }
      }),
    );
    services = [];
  }

  afterAll(async () => {
    await stopAll();
    await standin?.close();
    if (proxy && proxy.child.exitCode === null) {
      const gone = new Promise((r) => proxy!.child.once('exit', r));
      proxy.child.kill('SIGTERM');
      await gone;
    }
    await db?.close();
    await fresh?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Both instances, started one after the other, reading business time `localTime` now. */
  async function startBoth(ports: number[], localTime: string) {
    const origin = new Date().toISOString();
    const env = (port: number, dataDir: string) => ({
      DATABASE_URL: fresh!.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      ADMIN_TOKEN: ADMIN,
      TELEGRAM_BOT_TOKEN: standin!.token,
      TELEGRAM_API_ROOT: standin!.url,
      PUBLIC_URL: proxy!.url,
      SEND_RATE: String(SEND_RATE),
      CLOCK_START: `${DAY}T${localTime}-05:00`,
      CLOCK_ORIGIN: origin,
      BACKUP_TIME: 'no',
      LOG_FORMAT: 'json',
    });
    const started = await Promise.all(
      ports.map((port, i) => {
        const dataDir = mkdtempSync(path.join(tmpdir(), `teltec-inst${i}-`));
        dirs.push(dataDir);
        return startServiceProcess(env(port, dataDir), 180_000);
      }),
    );
    services = started.map((s) => s.svc);
  }

  it('every notice once, one generation, the global rate held, webhooks on both instances', async () => {
    fresh = await createFreshPgDatabase();
    db = await createPostgresDb(fresh.url, { max: 2 });
    await migrate(db);
    // 24 linked clients: half due in 5 days (reminder today), half due today (first overdue notice).
    await db.query(`INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25)`);
    for (let i = 0; i < LINKED; i++) {
      await db.query(
        `INSERT INTO clients (cedula, nombre, telefono, plan_id, fecha_ultimo_pago, chat_id, telegram_user_id,
                              link_verified, linked_at)
         VALUES ($1, $2, $3, (SELECT id FROM plans LIMIT 1), $4, $5, $5, true, '2026-03-01T12:00:00Z')`,
        [
          cedulaFor(9100 + i),
          `Cliente ${i}`,
          `0987100${String(i).padStart(3, '0')}`,
          i % 2 ? '2026-02-13' : '2026-02-08',
          FIRST_CHAT + i,
        ],
      );
    }

    const home = mkdtempSync(path.join(tmpdir(), 'teltec-caddy2-'));
    dirs.push(home);
    const ports = [await freePort(), await freePort()];
    proxy = await startCaddy(home, ports.map((p) => `127.0.0.1:${p}`).join(' '));
    standin = await startStandin({
      webhookCa: proxy.ca,
      webhookRetryMs: 200,
      webhookMaxAttempts: 50,
      limits: { globalPerSecond: 30, perChatPerSecond: 1 },
    });

    // ---- Morning: 08:00:05, just after the daily run time. Both start; one generation runs.
    await startBoth(ports, '08:00:05');
    await waitUntil(
      'the 08:00 generation',
      async () => (await db!.query(`SELECT 1 FROM job_runs WHERE job = 'generacion_diaria'`)).rows.length > 0,
      60_000,
    );
    const runs = await db.query<{ slot: string; instance: string }>(
      `SELECT slot, instance FROM job_runs WHERE job = 'generacion_diaria'`,
    );
    expect(runs.rows).toHaveLength(1);
    expect(new Date(runs.rows[0]!.slot).toISOString()).toBe('2026-03-10T13:00:00.000Z');

    // A campaign through the one address (either instance takes it; the other wakes by NOTIFY).
    const campaign = await httpsJson(proxy.ca, 'POST', `${proxy.url}/api/notificaciones/masiva/`, {
      nombre: 'Mantenimiento nocturno',
      tipo: 'manual',
      mensaje: 'Hola {nombre}: esta noche hay mantenimiento de 23:00 a 01:00.',
    });
    expect(campaign.status).toBe(201);

    // Clients who are not linked write to the bot: Telegram delivers to the one address.
    const writers = Array.from({ length: 10 }, (_, i) => standin!.user({ chatId: 6_600_000 + i }));
    for (const w of writers) await w.command('start');

    const pendingCount = async () =>
      (
        await db!.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM notifications WHERE estado = 'pendiente'`,
        )
      ).rows[0]!.n;
    await waitUntil('the morning queue to empty', async () => (await pendingCount()) === 0, 90_000);
    // Telegram retries a webhook for hours; on a loaded CI machine an answer can take a while.
    await waitUntil(
      () =>
        `every writer answered (answers ${writers.map((w) => standin!.sentTo(w.chatId).length)}, webhook ${JSON.stringify(standin!.webhook)})`,
      () => writers.every((w) => standin!.sentTo(w.chatId).length >= 1),
      150_000,
    );
    expect(standin.webhook).toMatchObject({ failed: 0, pending: 0 });

    // Every notice once: one Telegram message per sent row, each row tried once.
    const rows = await db.query<{ id: number; intentos: number }>(
      `SELECT id, intentos FROM notifications WHERE estado = 'enviado' ORDER BY id`,
    );
    expect(rows.rows.length).toBe(LINKED * 2); // one payment notice and the campaign per client
    expect(rows.rows.every((r) => r.intentos === 1)).toBe(true);
    const toClients = standin.sent.filter((m) => m.chat_id >= FIRST_CHAT && m.chat_id < FIRST_CHAT + LINKED);
    expect(toClients).toHaveLength(rows.rows.length);
    for (let i = 0; i < LINKED; i++) expect(standin.sentTo(FIRST_CHAT + i)).toHaveLength(2);
    // Each writer got exactly one answer: no update handled twice by the two instances.
    for (const w of writers) expect(standin.sentTo(w.chatId)).toHaveLength(1);
    const handled = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM bot_updates`);
    expect(handled.rows[0]!.n).toBe(writers.length);

    // The webhook worked on both instances (Caddy balanced the deliveries between them).
    const webhookHits = services.map(
      (s) =>
        s
          .output()
          .split('\n')
          .filter((l) => l.includes(WEBHOOK) && l.includes('"POST"')).length,
    );
    expect(
      webhookHits.every((n) => n > 0),
      `webhook requests per instance: ${webhookHits}`,
    ).toBe(true);

    // Together under SEND_RATE, and Telegram never had to say 429.
    const sends = standin.calls
      .filter((c) => c.method === 'sendMessage' && c.status === 200)
      .map((c) => c.at);
    expect(standin.stats.tooMany).toBe(0);
    // Slots are SEND_RATE apart and shared through the database; what Telegram sees also carries
    // each request's own delay (hundreds of ms on a loaded machine), so short windows get a margin
    // and the sustained rate is checked over the whole busy period.
    const span = (Math.max(...sends) - Math.min(...sends)) / 1000;
    expect(sends.length).toBeLessThanOrEqual(SEND_RATE * (span + 1) + 1);
    expect(peakIn(sends, 5000)).toBeLessThanOrEqual(5 * SEND_RATE + 4);

    // ---- Evening: 20:00:05, the send window (08:00-20:00) has closed. A restart of both.
    await stopAll();
    const sentBefore = standin.sent.length;
    await startBoth(ports, '20:00:05');
    const clientId = (await db.query<{ id: number }>('SELECT min(id) AS id FROM clients')).rows[0]!.id;
    const later = await httpsJson(proxy.ca, 'POST', `${proxy.url}/api/notificaciones/create/`, {
      cliente_id: clientId,
      tipo: 'manual',
      mensaje: 'Recordatorio para mañana',
    });
    expect(later.status).toBe(201);
    const urgent = await httpsJson(proxy.ca, 'POST', `${proxy.url}/api/notificaciones/create/`, {
      cliente_id: clientId,
      tipo: 'mantenimiento',
      mensaje: 'Corte de emergencia en su sector',
      urgente: true,
    });
    expect(urgent.status).toBe(201);
    await waitUntil('the urgent notice', () =>
      standin!.sent.slice(sentBefore).some((m) => m.text.includes('Corte de emergencia')),
    );
    // The scheduler did not run the morning slot again after the restart.
    expect((await db.query(`SELECT 1 FROM job_runs WHERE job = 'generacion_diaria'`)).rows).toHaveLength(1);
    // The non-urgent one waits for the window, on both instances.
    await new Promise((r) => setTimeout(r, 3000));
    expect(standin.sent.slice(sentBefore).filter((m) => m.chat_id === FIRST_CHAT)).toHaveLength(1);
    const waiting = await db.query<{ estado: string }>(
      `SELECT estado FROM notifications WHERE mensaje = 'Recordatorio para mañana'`,
    );
    expect(waiting.rows).toEqual([{ estado: 'pendiente' }]);
  }, 600_000);
});
