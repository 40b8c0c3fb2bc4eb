import { readFileSync } from 'node:fs';
import { createManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { type EngineSettings, generatePaymentNotices, toEngineSettings } from '../src/notifications/index.js';
import {
  benchDb,
  fmt,
  goalLine,
  hasFlag,
  heading,
  line,
  postgresAvailable,
  seedManyClients,
} from './engine-support.js';

/**
 * Generation of payment notices against its baseline, in the same run on the same data: a bare
 * `INSERT … SELECT … ON CONFLICT DO NOTHING` of the same clients' notices into an outbox-shaped
 * table (a bigserial key, a unique text dedupe key, state and next-attempt columns — the least an
 * outbox needs). First run (creates the day's notices) and re-run (creates nothing), at 10,000 and
 * 100,000 clients (1,000,000 with --million), on PostgreSQL and PGlite.
 * Goal: generation ≤ 1.5 × the bare statement, first run and re-run. The clock is injected.
 * Printed: the median times and the median of the rounds' ratios.
 * `--db=postgres|pglite` and `--clientes=N` run one database, one size; `--rondas=N` repeats the
 * four measurements N times (default 31 up to 10,000 clients, 7 above, 1 at 1,000,000) and prints
 * medians. Wall time and, beside it, CPU time (the machine may be shared).
 */
const GOAL_RATIO = 1.5;
const TODAY = '2026-03-10';

/**
 * The baseline: the same candidates (due date, reminder window, overdue, reachable, eligible) and
 * the same notices — the reminder or overdue step, and the pre-suspension notice (active clients,
 * from notice days before the suspension date until it) — written by hand, into the bare table.
 */
const bareSql = `
  INSERT INTO bare_outbox (dedupe_key, client_id, estado, proximo_intento)
  SELECT t.tipo || ':' || k.client_id || ':' || k.due
           || CASE WHEN t.tipo = 'pago_vencido' THEN ':' || LEAST(($1::date - k.due) / $4::int, $5::int - 1) ELSE '' END,
         k.client_id, 'pendiente', $7
    FROM (
      SELECT c.id AS client_id, c.estado, d.due
        FROM clients c
       CROSS JOIN LATERAL (SELECT teltec_due_date(c.fecha_ultimo_pago, c.dia_pago, $2::int) AS due OFFSET 0) d
       WHERE c.estado <> 'retirado' AND d.due - $3::int <= $1::date
         AND c.chat_id IS NOT NULL AND NOT c.telegram_blocked AND c.telegram_unreachable IS NULL
         AND (c.estado = 'activo' OR ($6::boolean AND c.estado = 'suspendido'))
    ) k
   CROSS JOIN LATERAL (
     VALUES (CASE WHEN k.due <= $1::date THEN 'pago_vencido' ELSE 'recordatorio_pago' END),
            (CASE WHEN k.estado = 'activo' AND $9::int > 0 AND $1::date >= k.due + $8::int - $9::int
                       AND $1::date < k.due + $8::int
                  THEN 'aviso_suspension' END)
   ) t(tipo)
   WHERE t.tipo IS NOT NULL
  ON CONFLICT (dedupe_key) DO NOTHING`;

async function bare(db: Db, s: EngineSettings, now: Date): Promise<number> {
  const res = await db.query(bareSql, [
    TODAY,
    s.cycleDays,
    s.reminderDaysBefore,
    s.overdueRepeatDays,
    s.overdueMaxNotices,
    s.notifySuspended,
    now,
    s.suspension.days,
    s.suspension.noticeDaysBefore,
  ]);
  return res.rowCount;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/**
 * CPU milliseconds spent so far by the database: the PostgreSQL backend of the bench's single
 * connection (/proc, local server only; NaN otherwise) or this process (PGlite runs in it). On a
 * shared machine wall time waits for other processes; CPU time is the work itself.
 */
async function cpuMeter(db: Db, kind: 'pglite' | 'postgres'): Promise<() => number> {
  if (kind === 'pglite') {
    return () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
  }
  const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]?.pid;
  return () => {
    try {
      const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
      return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in 100 Hz ticks
    } catch {
      return Number.NaN;
    }
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function run(): Promise<void> {
  heading('Generación de avisos de pago frente a un INSERT … SELECT desnudo (mismos datos, misma corrida)');
  const sizes = hasFlag('--million')
    ? [10_000, 100_000, 1_000_000]
    : hasFlag('--quick')
      ? [10_000]
      : [10_000, 100_000];
  const sizeArg = process.argv.find((a) => a.startsWith('--clientes='));
  if (sizeArg) sizes.splice(0, sizes.length, Number(sizeArg.slice('--clientes='.length)));
  const dbArg = process.argv.find((a) => a.startsWith('--db='))?.slice('--db='.length);
  const kinds: ('pglite' | 'postgres')[] = ['postgres', 'pglite'];
  if (!(await postgresAvailable())) kinds.shift();
  if (dbArg === 'postgres' || dbArg === 'pglite') kinds.splice(0, kinds.length, dbArg);
  const roundsArg = process.argv.find((a) => a.startsWith('--rondas='));
  // Several rounds (one at 1,000,000): on a shared machine one pair of runs can be 30 % apart, and
  // a run at 10,000 clients lasts some 60 ms, which one slow moment doubles: more rounds there (with
  // 11, the median of the rounds' ratios still moved by ±0.1 from one run of the bench to the next).
  const roundsFor = (n: number) =>
    roundsArg
      ? Math.max(1, Number(roundsArg.slice('--rondas='.length)))
      : n >= 1_000_000
        ? 1
        : n > 10_000
          ? 7
          : 31;
  const settings = toEngineSettings(parseConfig({}));
  const clock = createManualClock(`${TODAY}T13:00:00Z`);
  for (const kind of kinds) {
    for (const n of sizes) {
      const rounds = roundsFor(n);
      // One connection, so the PostgreSQL backend's CPU time is the statements' own.
      const db = await benchDb(kind, 1);
      try {
        const [, seedMs] = await timed(() => seedManyClients(db, n, TODAY));
        const cpu = await cpuMeter(db, kind);
        const m = {
          bareFirst: [] as number[],
          first: [] as number[],
          bareAgain: [] as number[],
          again: [] as number[],
        };
        const c = {
          bareFirst: [] as number[],
          first: [] as number[],
          bareAgain: [] as number[],
          again: [] as number[],
        };
        const measure = async <T>(key: keyof typeof m, fn: () => Promise<T>): Promise<T> => {
          // Each run starts from a checkpoint: the write-ahead log one run leaves is flushed before
          // the next one, rather than by whichever run a checkpoint falls in (on PGlite, in the
          // middle of the next statement: a 40 % swing on either side of a ratio).
          await db.exec('CHECKPOINT');
          const c0 = cpu();
          const [r, ms] = await timed(fn);
          m[key].push(ms);
          c[key].push(cpu() - c0);
          return r;
        };
        let created = 0;
        let again = 0;
        for (let round = 0; round < rounds; round++) {
          await db.exec(`DROP TABLE IF EXISTS bare_outbox; CREATE TABLE bare_outbox (
            id bigserial PRIMARY KEY, dedupe_key text UNIQUE, client_id integer,
            estado text NOT NULL DEFAULT 'pendiente', proximo_intento timestamptz NOT NULL)`);
          // A first run: no notice yet, no day generated yet (as on a new database).
          if (round > 0) await db.exec('TRUNCATE notifications, generation_runs RESTART IDENTITY CASCADE');
          // Interleaved, each measured twice (first run, re-run); the baseline goes first in even
          // rounds and second in odd ones, so neither always runs after the other.
          const pair = async <A, B>(a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> => {
            if (round % 2 === 0) {
              const x = await a();
              return [x, await b()];
            }
            const y = await b();
            return [await a(), y];
          };
          const [bareCount, first] = await pair(
            () => measure('bareFirst', () => bare(db, settings, clock.now())),
            () =>
              measure('first', () =>
                generatePaymentNotices(db, settings, { today: TODAY, now: clock.now() }),
              ),
          );
          again = (
            await pair(
              () => measure('bareAgain', () => bare(db, settings, clock.now())),
              () =>
                measure('again', () =>
                  generatePaymentNotices(db, settings, { today: TODAY, now: clock.now() }),
                ),
            )
          )[1].total_creadas;
          if (bareCount !== first.total_creadas) {
            throw new Error(
              `baseline created ${bareCount}, generation ${first.total_creadas}: not the same work`,
            );
          }
          created = first.total_creadas;
        }
        line(`${kind} ${fmt(n)} clientes: carga de datos`, `${fmt(seedMs / 1000, 1)} s`);
        const rs = rounds > 1 ? ` (mediana de ${rounds})` : '';
        // Each round runs both statements one after the other: the ratio is the median of the
        // rounds' ratios (a slow moment of a shared machine then slows both sides of a ratio).
        const paired = (a: number[], b: number[]) => median(a.map((x, i) => x / (b[i] ?? Number.NaN)));
        const goal = (label: string, a: number[], b: number[]) =>
          goalLine(label, median(a), median(b), GOAL_RATIO, paired(a, b));
        goal(`${kind} ${fmt(n)}: generación (${fmt(created)} avisos)${rs}`, m.first, m.bareFirst);
        goal(`${kind} ${fmt(n)}: repetición (crea ${again})${rs}`, m.again, m.bareAgain);
        // PostgreSQL's CPU time is read in 10 ms ticks: below 10 ticks a ratio is mostly rounding
        // (at 10,000 clients "0.02 s vs 0.01 s, ×2.00").
        const cpuFigure = (label: string, a: number[], b: number[]) => {
          if (Number.isNaN(median(a))) return;
          if (kind === 'postgres' && median(b) < 100) {
            line(label, `sin cifra: el servidor cuenta su CPU en pasos de 10 ms (base ${fmt(median(b))} ms)`);
          } else goal(label, a, b);
        };
        cpuFigure(`${kind} ${fmt(n)}: generación, tiempo de CPU`, c.first, c.bareFirst);
        cpuFigure(`${kind} ${fmt(n)}: repetición, tiempo de CPU`, c.again, c.bareAgain);
      } finally {
        await db.close();
      }
    }
  }
  if (!hasFlag('--million')) console.log('  (1.000.000 clientes: npm run bench -- generacion --million)');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
