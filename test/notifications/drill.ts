import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgliteDb, createPostgresDb, type Db, migrate } from '../../src/db/index.js';
import { startStandin } from '../../src/telegram/standin/index.js';
import { cedulaFor } from '../support/fixtures.js';
import { type ServiceProcess, spawnService } from '../support/process.js';

/**
 * The crash drill: a real service process sends a campaign to `messages` chats through the
 * stand-in and is killed with SIGKILL at random points, then restarted. Afterwards: nothing lost,
 * duplicates no more than the sends in flight at each kill (≤ SEND_CONCURRENCY), sending resumed
 * quickly, and a final SIGTERM exits cleanly leaving nothing claimed.
 * Used by a bounded test (small) and by the benchmark (10,000 messages).
 */

export interface DrillOptions {
  kind: 'pglite' | 'postgres';
  messages: number;
  kills: number;
  concurrency: number;
  /** PostgreSQL server URL (a scratch database is created on it and dropped). */
  postgresUrl?: string;
  leaseSeconds?: number;
  log?: (line: string) => void;
}

export interface DrillReport {
  kind: string;
  messages: number;
  kills: number;
  /** Successful sendMessage calls the stand-in recorded. */
  sent: number;
  duplicates: number;
  /** The promise: at most the concurrency per kill. */
  allowedDuplicates: number;
  /** Per kill: messages sent before it, and ms from the kill to the next message after restart. */
  killPoints: number[];
  resumeMs: number[];
  states: Record<string, number>;
  claimedLeft: number;
  lastExitCode: number | null;
  totalMs: number;
}

const TOKEN = 'drill-admin-token-0123456789';

async function prepareDatabase(
  o: DrillOptions,
): Promise<{ env: Record<string, string>; open: () => Promise<Db>; cleanup: () => Promise<void> }> {
  if (o.kind === 'pglite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-drill-'));
    return {
      env: { DATA_DIR: dir },
      open: () => createPgliteDb(path.join(dir, 'pglite')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!o.postgresUrl) throw new Error('postgresUrl required');
  const name = `teltec_drill_${randomBytes(4).toString('hex')}`;
  const admin = await createPostgresDb(o.postgresUrl, { max: 1 });
  await admin.exec(`CREATE DATABASE ${name}`);
  await admin.close();
  const url = new URL(o.postgresUrl);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), DATA_DIR: mkdtempSync(path.join(tmpdir(), 'teltec-drill-')) },
    open: () => createPostgresDb(url.toString(), { max: 2 }),
    cleanup: async () => {
      const a = await createPostgresDb(o.postgresUrl!, { max: 1 });
      await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

export async function runCrashDrill(o: DrillOptions): Promise<DrillReport> {
  const log = o.log ?? (() => {});
  const started = Date.now();
  const standin = await startStandin({ latencyMs: 1 });
  const store = await prepareDatabase(o);
  let svc: ServiceProcess | undefined;
  try {
    // Clients, linked, before the service starts (the embedded database has one owner at a time).
    {
      const db = await store.open();
      await migrate(db);
      await db.query(
        `INSERT INTO clients (cedula, nombre, chat_id)
         SELECT c, 'Cliente ' || i, 900000000 + i FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i)`,
        [Array.from({ length: o.messages }, (_, i) => cedulaFor(i + 1))],
      );
      await db.close();
    }
    const env = {
      ...store.env,
      ADMIN_TOKEN: TOKEN,
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
      SEND_RATE: '1000',
      SEND_CONCURRENCY: String(o.concurrency),
      SEND_LEASE_SECONDS: String(o.leaseSeconds ?? 5),
      SEND_WINDOW: '00:00-24:00',
      LOG_LEVEL: 'info',
    };
    const start = async () => {
      const s = spawnService(env) as ServiceProcess & { ready: Promise<string> };
      await s.ready;
      return s;
    };
    svc = await start();
    const res = await fetch(`${svc.address}/api/notificaciones/masiva/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mensaje: 'Simulacro {nombre}', urgente: true, filtros: {} }),
    });
    if (res.status !== 201) throw new Error(`masiva: ${res.status} ${await res.text()}`);
    const campaignId = ((await res.json()) as { campana: { id: number } }).campana.id;
    log(`campaña de ${o.messages} creada`);

    const unique = () => new Set(standin.sent.map((m) => m.chat_id)).size;
    const killPoints: number[] = [];
    const resumeMs: number[] = [];
    for (let k = 0; k < o.kills; k++) {
      const remaining = o.messages - unique();
      const target = standin.sent.length + Math.max(1, Math.floor(remaining * (0.15 + Math.random() * 0.4)));
      await standin.waitForSent(() => standin.sent.length >= target, 120_000);
      svc.child.kill('SIGKILL');
      const killedAt = Date.now();
      await svc.exit;
      killPoints.push(standin.sent.length);
      log(`kill -9 #${k + 1} con ${standin.sent.length} enviados`);
      const before = standin.sent.length;
      svc = await start();
      await standin.waitForSent(() => standin.sent.length > before, 120_000);
      resumeMs.push(Date.now() - killedAt);
    }
    // Done when the database says so: every row recorded (the sends in flight at a kill were
    // delivered but not recorded; their rows come back when the lease expires and go again).
    const deadline = Date.now() + 180_000;
    const pending = async () => {
      const r = await fetch(`${svc!.address}/api/campanas/${campaignId}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await r.json()) as { progreso: { pendientes: number } };
      return body.progreso.pendientes;
    };
    while ((await pending()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    svc.child.kill('SIGTERM');
    const exit = await svc.exit;
    svc = undefined;

    const db = await store.open();
    const { rows } = await db.query<{ estado: string; n: number }>(
      'SELECT estado, count(*)::int AS n FROM notifications GROUP BY estado',
    );
    const claimed = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE locked_by IS NOT NULL',
    );
    await db.close();
    return {
      kind: o.kind,
      messages: o.messages,
      kills: o.kills,
      sent: standin.sent.length,
      duplicates: standin.sent.length - unique(),
      allowedDuplicates: o.kills * o.concurrency,
      killPoints,
      resumeMs,
      states: Object.fromEntries(rows.map((r) => [r.estado, r.n])),
      claimedLeft: claimed.rows[0]!.n,
      lastExitCode: exit.code,
      totalMs: Date.now() - started,
    };
  } finally {
    if (svc) {
      svc.child.kill('SIGKILL');
      await svc.exit;
    }
    await standin.close();
    await store.cleanup();
  }
}
