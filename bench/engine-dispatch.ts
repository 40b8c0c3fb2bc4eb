import { pino } from 'pino';
import { createManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import type { Db } from '../src/db/index.js';
import { createDispatcher, toEngineSettings } from '../src/notifications/index.js';
import { createTelegramSender } from '../src/telegram/send.js';
import { startStandin } from '../src/telegram/standin/index.js';
import { benchDb, fmt, hasFlag, heading, line, postgresAvailable } from './engine-support.js';

const settings = toEngineSettings(parseConfig({}));
const T0 = '2026-03-10T15:00:00Z';

/** `chats` linked clients and `perChat` manual notices each (client-major: all of one client's in a row). */
async function queue(db: Db, chats: number, perChat: number): Promise<void> {
  await db.query(
    `INSERT INTO clients (cedula, nombre, chat_id)
     SELECT lpad(i::text, 10, '0'), 'Cliente ' || i, 1000000000 + i FROM generate_series(1, $1::int) AS i`,
    [chats],
  );
  await db.query(
    `INSERT INTO notifications (client_id, tipo, mensaje, proximo_intento)
     SELECT c.id, 'manual', 'Aviso ' || k || ' para ' || c.nombre, $2
       FROM clients c CROSS JOIN generate_series(1, $1::int) AS k ORDER BY c.id, k`,
    [perChat, new Date(T0)],
  );
}

async function scenario(opts: {
  kind: 'pglite' | 'postgres';
  chats: number;
  perChat: number;
  rate: number;
  concurrency: number;
  latencyMs: number;
  limits?: { globalPerSecond: number; perChatPerSecond: number };
}) {
  const db = await benchDb(opts.kind, 12);
  const standin = await startStandin({ latencyMs: opts.latencyMs, limits: opts.limits ?? false });
  try {
    await queue(db, opts.chats, opts.perChat);
    const d = createDispatcher({
      db,
      sender: createTelegramSender({ token: standin.token, apiRoot: standin.url }),
      clock: createManualClock(T0),
      logger: pino({ level: 'silent' }),
      settings,
      options: {
        ratePerSecond: opts.rate,
        perChatPerSecond: 1,
        concurrency: opts.concurrency,
        maxAttempts: 6,
      },
    });
    const t = performance.now();
    const r = await d.runOnce();
    const ms = performance.now() - t;
    await d.stop();
    const times = standin.sent.map((m) => m.date);
    const calls = standin.calls
      .filter((c) => c.method === 'sendMessage' && c.status === 200)
      .map((c) => c.at);
    const span = (Math.max(...calls) - Math.min(...calls)) / 1000;
    return {
      sent: r.enviadas,
      total: opts.chats * opts.perChat,
      perSecond: r.enviadas / (ms / 1000),
      sustained: span > 0 ? (calls.length - 1) / span : 0,
      tooMany: standin.stats.tooMany,
      duplicates: standin.sent.length - r.enviadas,
      seconds: ms / 1000,
      _times: times.length,
    };
  } finally {
    await standin.close();
    await db.close();
  }
}

/**
 * Dispatch: overhead (stand-in without limits or latency; target ≥ 2,000 msg/s) and the realistic
 * case (stand-in enforcing 30 msg/s and 1 msg/s per chat with 100 ms latency, sender at 28 msg/s;
 * target ≥ 27 msg/s sustained and not one 429), to 3,000 chats and to 300 chats × 10.
 */
export async function run(): Promise<void> {
  heading('Despacho');
  const kinds: ('pglite' | 'postgres')[] = ['pglite', 'postgres'];
  if (!(await postgresAvailable())) kinds.pop();
  for (const kind of kinds) {
    const r = await scenario({
      kind,
      chats: 10_000,
      perChat: 1,
      rate: Number.POSITIVE_INFINITY,
      concurrency: 32,
      latencyMs: 0,
    });
    line(
      `${kind}: sobrecarga, 10.000 mensajes sin límite ni latencia`,
      `${fmt(r.perSecond)} msg/s (${fmt(r.sent)} enviados, ${r.duplicates} duplicados)`,
    );
  }
  const realistic = hasFlag('--all-dbs') ? kinds : kinds.slice(0, 1);
  for (const kind of realistic) {
    for (const [chats, perChat] of [
      [3000, 1],
      [300, 10],
    ] as const) {
      const r = await scenario({
        kind,
        chats,
        perChat,
        rate: 28,
        concurrency: 16,
        latencyMs: 100,
        limits: { globalPerSecond: 30, perChatPerSecond: 1 },
      });
      line(
        `${kind}: 28 msg/s contra límite 30/s y 1/s por chat, 100 ms, ${fmt(chats)} chats × ${perChat}`,
        `${fmt(r.sustained, 2)} msg/s sostenidos, ${r.tooMany} respuestas 429, ${fmt(r.sent)}/${fmt(r.total)} en ${fmt(r.seconds, 1)} s`,
      );
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
