import { parseConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { toEngineSettings } from '../src/notifications/index.js';
import { beginAttempts, claimDue, completeMany } from '../src/notifications/outbox.js';
import { benchDb, fmt, heading, line, postgresAvailable } from './engine-support.js';

const settings = toEngineSettings(parseConfig({}));
const now = new Date('2026-03-10T15:00:00Z');

/** One worker: claim a batch of 100, begin the attempts (the re-check), record all as sent in one statement. */
async function worker(db: Db, name: string): Promise<number> {
  let done = 0;
  for (;;) {
    const rows = await claimDue(db, {
      worker: name,
      now,
      leaseMs: 60_000,
      limit: 100,
      inWindow: true,
      perClient: 2,
    });
    if (rows.length === 0) return done;
    // Attempts begin in groups of 16: what the dispatcher's group re-check gathers at its default
    // concurrency of 16 when sending flat out.
    const attempts = [];
    for (let i = 0; i < rows.length; i += 16) {
      attempts.push(
        ...(await beginAttempts(
          db,
          rows.slice(i, i + 16).map((r) => ({ id: r.id, countAttempt: true })),
          { worker: name, now, leaseMs: 60_000, today: '2026-03-10', settings },
        )),
      );
    }
    await completeMany(
      db,
      name,
      attempts.map((a) => ({
        kind: 'sent' as const,
        id: a.id,
        at: now,
        messageId: a.id,
        chatId: a.chat_id!,
        text: 'x',
      })),
    );
    done += attempts.length;
  }
}

async function wave(db: Db, clients: number, workers: number): Promise<number> {
  await db.query(
    `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento)
     SELECT id, 'manual', 'hola', $1 FROM clients ORDER BY id LIMIT $2`,
    [now, clients],
  );
  const t = performance.now();
  const counts = await Promise.all(Array.from({ length: workers }, (_, i) => worker(db, `w${i}`)));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== clients) throw new Error(`claimed ${total} of ${clients}`);
  return total / ((performance.now() - t) / 1000);
}

/**
 * Claim-and-complete throughput of the outbox (no Telegram): claim in batches of 100, begin each
 * attempt (the re-check), record the batch. 10 waves of 10,000 rows: the first and, after 100,000
 * rows have churned through the table, the last. Targets: ≥ 1,000/s on PGlite (1 worker),
 * ≥ 2,000/s on PostgreSQL with 4 workers.
 */
export async function run(): Promise<void> {
  heading('Reclamo y cierre de filas del outbox');
  const plans: ['pglite' | 'postgres', number][] = [['pglite', 1]];
  if (await postgresAvailable()) plans.push(['postgres', 4]);
  for (const [kind, workers] of plans) {
    const db = await benchDb(kind, workers * 2 + 2);
    try {
      await db.query(
        `INSERT INTO clients (cedula, nombre, chat_id)
         SELECT lpad(i::text, 10, '0'), 'Cliente ' || i, 1000000000 + i FROM generate_series(1, 10000) AS i`,
      );
      const rates: number[] = [];
      for (let w = 0; w < 10; w++) {
        rates.push(await wave(db, 10_000, workers));
        process.stdout.write(`  … ola ${w + 1}/10: ${fmt(rates.at(-1)!)} filas/s\n`);
      }
      line(`${kind}, ${workers} trabajador(es): primeras 10.000 filas`, `${fmt(rates[0]!)} filas/s`);
      line(`${kind}, ${workers} trabajador(es): 10.000 filas tras 100.000`, `${fmt(rates.at(-1)!)} filas/s`);
    } finally {
      await db.close();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
