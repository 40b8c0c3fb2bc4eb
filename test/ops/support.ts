import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { inject } from 'vitest';
import { runCli } from '../../src/cli.js';
import { createManualClock } from '../../src/clock.js';
import { createPostgresDb, type Db } from '../../src/db/index.js';
import { cedulaFor } from '../support/fixtures.js';
import { spawnService } from '../support/process.js';

/** A whole fresh PostgreSQL database (pg_dump/pg_restore work on databases, not schemas). */
export async function createFreshPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = inject('postgresUrl');
  if (!base) throw new Error('PostgreSQL not available');
  const name = `teltec_ops_${randomBytes(5).toString('hex')}`;
  const admin = await createPostgresDb(base, { max: 1 });
  await admin.exec(`CREATE DATABASE ${name}`);
  await admin.close();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = await createPostgresDb(base, { max: 1 });
      await a.exec(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.close();
    },
  };
}

/** Runs the CLI with exactly these settings (process.env restored after), collecting its output. */
export async function cli(
  env: Record<string, string>,
  argv: string[],
  now = '2026-03-10T15:00:00Z',
): Promise<{ code: number; lines: string[] }> {
  const saved = { ...process.env };
  for (const k of ['DATA_DIR', 'DATABASE_URL', 'ADMIN_TOKEN', 'PORT', 'HOST', 'TELEGRAM_BOT_TOKEN']) {
    delete process.env[k];
  }
  Object.assign(process.env, { LOG_LEVEL: 'warn', ...env });
  const lines: string[] = [];
  try {
    const code = await runCli(argv, (l) => lines.push(l), createManualClock(now));
    return { code, lines };
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** Clients (some linked to Telegram), a plan, payments, notices in several states, a bot chat. */
export async function seedBusinessData(db: Db, n = 12): Promise<void> {
  await db.query(`INSERT INTO plans (nombre, precio, velocidad_mbps) VALUES ('Hogar 50', 25.5, 50)`);
  for (let i = 1; i <= n; i++) {
    const linked = i % 3 !== 0;
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO clients (cedula, nombre, telefono, sector, plan_id, fecha_ultimo_pago, chat_id,
                            telegram_user_id, link_verified, linked_at)
       VALUES ($1, $2, $3, 'Centro', (SELECT id FROM plans LIMIT 1), DATE '2026-02-01' + $4::int,
               $5, $5, $6, $7)
       RETURNING id`,
      [
        cedulaFor(700 + i),
        `Cliente Ñandú ${i}`,
        `09870000${String(i).padStart(2, '0')}`,
        i,
        linked ? 880000 + i : null,
        linked,
        linked ? new Date('2026-03-01T12:00:00Z') : null,
      ],
    );
    const id = rows[0]!.id;
    await db.query(`INSERT INTO payments (client_id, monto, fecha, referencia) VALUES ($1, 25.50, $2, $3)`, [
      id,
      '2026-02-01',
      `REF-${i}`,
    ]);
    await db.query(
      `INSERT INTO notifications (client_id, tipo, mensaje, estado, chat_id, dedupe_key, datos)
       VALUES ($1, 'recordatorio_pago', $2, $3, $4, $5, $6)`,
      [
        id,
        `Hola ${i}, su pago vence pronto`,
        i % 2 ? 'enviado' : 'pendiente',
        linked ? 880000 + i : null,
        `ops-test-${i}`,
        JSON.stringify({ monto: 25.5 }),
      ],
    );
  }
}

/** Everything a restore must keep, as comparable data (ids included: links point at them). */
export async function fingerprint(db: Db) {
  const q = async (sql: string) => (await db.query(sql)).rows;
  return {
    plans: await q('SELECT id, nombre, precio FROM plans ORDER BY id'),
    clients: await q(
      `SELECT id, cedula, nombre, telefono, plan_id, fecha_ultimo_pago, chat_id, telegram_user_id,
              link_verified, linked_at FROM clients ORDER BY id`,
    ),
    payments: await q('SELECT id, client_id, monto, fecha, referencia FROM payments ORDER BY id'),
    notifications: await q(
      'SELECT id, client_id, tipo, mensaje, estado, chat_id, dedupe_key, datos FROM notifications ORDER BY id',
    ),
  };
}

/** A free TCP port on 127.0.0.1 (for a service the CLI must find by PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The real service process; waits for it longer than the default (start-up on a loaded 2-core box). */
export async function startServiceProcess(env: Record<string, string>, timeoutMs = 120_000) {
  const svc = spawnService(env);
  const line = await svc.waitFor(/escuchando en/, timeoutMs);
  const address = JSON.parse(line).address as string;
  return { svc, address };
}
