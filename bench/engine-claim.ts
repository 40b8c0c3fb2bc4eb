import { parseConfig } from '../src/config.js';
import { analyzeAfterBatch, type Db } from '../src/db/index.js';
import { toEngineSettings, vacuumHotTables } from '../src/notifications/index.js';
import { beginAttempts, claimDue, completeMany } from '../src/notifications/outbox.js';
import { benchDb, fmt, heading, postgresAvailable, rateGoalLine } from './engine-support.js';

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
  // As a generation, a campaign or an invitation send of this size does (not timed).
  await analyzeAfterBatch(db, 'notifications', clients);
  const t = performance.now();
  const counts = await Promise.all(Array.from({ length: workers }, (_, i) => worker(db, `w${i}`)));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== clients) throw new Error(`claimed ${total} of ${clients}`);
  return total / ((performance.now() - t) / 1000);
}

/**
 * Claim-and-complete throughput of the outbox (no Telegram): claim in batches of 100, begin each
 * attempt (the re-check), record the batch. Waves of 10,000 rows through `--churn=N` rows (default
 * 500,000, the run issue 16 names; `--churn=100000` shortens it): the first three against the last
 * three. On PGlite the hot tables are vacuumed every 100,000 rows, as the nightly `vacuum_pglite`
 * job does; on PostgreSQL autovacuum runs (a server with autovacuum off is vacuumed as PGlite is,
 * and the bench says so). Goals: the rate after the churn within 20 % of the start (≥ ×0.8);
 * ≥ 1,000/s on PGlite (1 worker), ≥ 2,000/s on PostgreSQL with 4 workers. The clock is injected
 * (a fixed `now`).
 */
export async function run(): Promise<void> {
  heading('Reclamo y cierre de filas del outbox');
  const churnArg = process.argv.find((a) => a.startsWith('--churn='));
  const churn = churnArg ? Number(churnArg.slice('--churn='.length)) : 500_000;
  const waves = Math.max(2, Math.ceil(churn / 10_000));
  const plans: ['pglite' | 'postgres', number, number][] = [['pglite', 1, 1000]];
  if (await postgresAvailable()) plans.push(['postgres', 4, 2000]);
  for (const [kind, workers, goal] of plans) {
    const db = await benchDb(kind, workers * 2 + 2);
    try {
      await db.query(
        `INSERT INTO clients (cedula, nombre, chat_id)
         SELECT lpad(i::text, 10, '0'), 'Cliente ' || i, 1000000000 + i FROM generate_series(1, 10000) AS i`,
      );
      // A server with autovacuum off (a CI configuration) is vacuumed here as PGlite is: without
      // it the figure would measure that setting, not the engine.
      const { rows: av } = await db.query<{ autovacuum: string }>('SHOW autovacuum');
      const vacuumHere = kind === 'pglite' || av[0]?.autovacuum !== 'on';
      if (kind === 'postgres' && vacuumHere)
        console.log(
          '  (autovacuum desactivado en este servidor: VACUUM (ANALYZE) cada 100.000 filas, como en PGlite)',
        );
      const rates: number[] = [];
      for (let w = 0; w < waves; w++) {
        rates.push(await wave(db, 10_000, workers));
        process.stdout.write(`  … ola ${w + 1}/${waves}: ${fmt(rates.at(-1)!)} filas/s\n`);
        if (vacuumHere && (w + 1) % 10 === 0 && w + 1 < waves) await vacuumHotTables(db);
      }
      // One wave lasts a few seconds, and on a shared machine one wave in ten can be 30 % off its
      // neighbours: the start and the end are each the median of three waves.
      const ends = Math.min(3, Math.floor(waves / 2));
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const start = median(rates.slice(0, ends));
      const end = median(rates.slice(-ends));
      const of = ends > 1 ? ` (mediana de ${ends} olas)` : '';
      rateGoalLine(`${kind}, ${workers} trabajador(es): primeras olas${of}`, start, goal, 1, 'filas/s');
      rateGoalLine(
        `${kind}: tras ${fmt((waves - ends) * 10_000)} filas${of}, frente al inicio`,
        end,
        start,
        0.8,
        'filas/s',
      );
    } finally {
      await db.close();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
