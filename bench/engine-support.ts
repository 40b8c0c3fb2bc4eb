import { randomBytes } from 'node:crypto';
import { createPgliteDb, createPostgresDb, type Db, migrate } from '../src/db/index.js';

/** PostgreSQL for benchmarks: TEST_DATABASE_URL or the local default. */
export const postgresUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresAvailable(): Promise<boolean> {
  try {
    const db = await createPostgresDb(postgresUrl, { max: 1 });
    await db.close();
    return true;
  } catch {
    return false;
  }
}

/** A fresh migrated database: PGlite in memory, or a new schema on PostgreSQL (dropped on close). */
export async function benchDb(kind: 'pglite' | 'postgres', max = 8): Promise<Db & { schema?: string }> {
  if (kind === 'pglite') {
    // Compiled as the service compiles it (main.ts): the first call of each PostgreSQL function
    // waits for its optimised code, and that wait is part of what a bench measures.
    const db = await createPgliteDb(undefined, { optimisedCodeOnly: true });
    await migrate(db);
    return db;
  }
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await createPostgresDb(postgresUrl, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = await createPostgresDb(postgresUrl, { schema, max });
  await migrate(db);
  return {
    ...db,
    schema,
    async close() {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db.close();
    },
  };
}

/**
 * n clients in one statement: 80 % linked to Telegram, last payments spread over the last 45
 * days of `today` (so about 1 in 9 is in the reminder window and 1 in 3 overdue), 1 in 5 with a
 * fixed billing day, a few suspended.
 */
export async function seedManyClients(db: Db, n: number, today = '2026-03-10'): Promise<void> {
  await db.query(`INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar', 50, 25), ('Pyme', 100, 60)
                  ON CONFLICT DO NOTHING`);
  await db.query(
    `INSERT INTO clients (cedula, nombre, plan_id, estado, fecha_ultimo_pago, dia_pago, chat_id, sector)
     SELECT lpad(i::text, 10, '0'), 'Cliente ' || i, 1 + (i % 2),
            CASE WHEN i % 50 = 0 THEN 'suspendido' ELSE 'activo' END,
            $2::date - (i % 45), CASE WHEN i % 5 = 0 THEN 1 + (i % 28) END,
            CASE WHEN i % 5 <> 1 THEN 1000000000 + i END, 'Sector ' || (i % 20)
       FROM generate_series(1, $1::int) AS i`,
    [n, today],
  );
  await db.exec('ANALYZE clients');
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(58, '.')} ${value}`);
}

export function heading(title: string): void {
  console.log(`\n== ${title}`);
}

export function hasFlag(flag: string): boolean {
  return process.argv.includes(flag) || process.env[`BENCH_${flag.replace(/^--/, '').toUpperCase()}`] === '1';
}

/**
 * One figure against its baseline measured in the same run: the time, the baseline's, their ratio
 * (by default ms / baselineMs; a bench with paired runs passes the median of its per-round ratios)
 * and the goal (a ratio), marked ✓ when met.
 */
export function goalLine(
  label: string,
  ms: number,
  baselineMs: number,
  goalRatio: number,
  ratio = ms / baselineMs,
): void {
  // Under a second in milliseconds: "0.04 s · base 0.03 s" hid the figures a ratio is made of.
  const t = (x: number) => (baselineMs < 1000 ? `${fmt(x, 1)} ms` : `${fmt(x / 1000, 2)} s`);
  line(
    label,
    `${t(ms)} · base ${t(baselineMs)} · ×${fmt(ratio, 2)} (meta ≤ ×${fmt(goalRatio, 1)}) ${ratio <= goalRatio ? '✓' : '✗'}`,
  );
}

/** A rate against its baseline rate (higher is better): the ratio and the goal (a minimum ratio). */
export function rateGoalLine(
  label: string,
  rate: number,
  baseline: number,
  minRatio: number,
  unit: string,
): void {
  const ratio = rate / baseline;
  line(
    label,
    `${fmt(rate)} ${unit} · base ${fmt(baseline)} ${unit} · ×${fmt(ratio, 2)} (meta ≥ ×${fmt(minRatio, 2)}) ${ratio >= minRatio ? '✓' : '✗'}`,
  );
}
