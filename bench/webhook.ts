/**
 * Webhook benchmark: Telegram's 40 connections posting updates to the real webhook route of the
 * real app (listening on 127.0.0.1), with the bot handling them against a Bot API stand-in with
 * no latency and no limits. Prints, per database:
 *  - the webhook: updates/s and ack latency (p50, p99) — targets ≥ 500/s PGlite, ≥ 1,000/s
 *    PostgreSQL, p99 ≤ 100 ms;
 *  - handling: time from "received" to "handled" (median, p99) of the same 10,000 updates under that
 *    load (they queue: the webhook takes them faster than they are handled), and of 10,000 more
 *    sent at a steady 250/s (what handling one update costs).
 * Every update of the mix sends one paced message, so the replies' pacer (SEND_RATE) is a ceiling
 * on "handled/s". The stand-in has no limits: by default the pacer runs at 20,000/s, so each reply
 * still reserves its slot in the shared pacer (the same round trip) but never waits for it, and the
 * figure is the handling. `--send-rate=1000` (the most SEND_RATE allows) shows the ceiling instead.
 * `--updates=N` and `--paced=N` shorten a run; `--handlers=N` sets the bot's handlers.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createBot, type HandledUpdate } from '../src/bot/index.js';
import { cedulaCheckDigit } from '../src/clients/cedula.js';
import { createManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createPgliteDb, createPostgresDb, type Db, migrate } from '../src/db/index.js';
import { buildApi } from '../src/http/app.js';
import { WEBHOOK_PATH } from '../src/http/routes/telegram.js';
import { startStandin } from '../src/telegram/standin/index.js';

const SECRET = 'bench-webhook-secret';
const CONNECTIONS = 40;
/** Replies' pacer rate by default: far above what the bench reaches, so it paces nothing. */
const UNPACED_REPLY_RATE = 20_000;

export interface WebhookBenchResult {
  database: 'pglite' | 'postgres';
  updates: number;
  ackPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  handledPerSecond: number;
  handleP50Ms: number;
  handleP99Ms: number;
  pacedRate: number;
  /** Updates sent at the steady rate. */
  paced: number;
  /** The replies' pacer rate (one paced message per update: a ceiling on handledPerSecond). */
  replyRate: number;
  pacedHandleP50Ms: number;
  pacedHandleP99Ms: number;
  failed: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number) => Math.round(n * 10) / 10;

/** One POST over a kept-alive connection; resolves with the status. */
function post(agent: Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: WEBHOOK_PATH,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-telegram-bot-api-secret-token': SECRET,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A realistic mix: commands from linked clients, help, free text, button presses, blocks. */
function makeUpdate(updateId: number, linkedChats: number[], i: number): object {
  const from = (id: number) => ({ id, is_bot: false, first_name: 'Cliente' });
  const chat = (id: number) => ({ id, type: 'private', first_name: 'Cliente' });
  const kind = i % 10;
  const linked = linkedChats[i % linkedChats.length]!;
  const stranger = 5_000_000 + (i % 3000);
  const text = (id: number, t: string) => ({
    update_id: updateId,
    message: {
      message_id: i + 1,
      date: 1_773_000_000,
      chat: chat(id),
      from: from(id),
      text: t,
      ...(t.startsWith('/') && {
        entities: [{ type: 'bot_command', offset: 0, length: t.split(' ')[0]!.length }],
      }),
    },
  });
  if (kind < 3) return text(linked, '/status');
  if (kind < 5) return text(stranger, '/help');
  if (kind < 6) return text(linked, '/contact');
  if (kind < 7) return text(stranger, 'hola, buenas tardes');
  if (kind < 8) return text(linked, '/preferencias');
  if (kind < 9) {
    return {
      update_id: updateId,
      callback_query: {
        id: String(updateId),
        from: from(linked),
        chat_instance: '1',
        data: i % 20 < 10 ? 'pref:ofertas:0' : 'pref:ofertas:1',
        message: { message_id: 1, date: 1_773_000_000, chat: chat(linked), text: 'x' },
      },
    };
  }
  return text(stranger, '/start');
}

export async function runWebhookBench(
  database: 'pglite' | 'postgres',
  opts: {
    updates?: number;
    paced?: number;
    pacedRate?: number;
    replyRate?: number;
    /** Bot handlers (createBot's concurrency); default: the bot's own. */
    handlers?: number;
    postgresUrl?: string;
  } = {},
): Promise<WebhookBenchResult> {
  const total = opts.updates ?? 10_000;
  const replyRate = opts.replyRate ?? UNPACED_REPLY_RATE;
  const pacedTotal = opts.paced ?? 10_000;
  const pacedRate = opts.pacedRate ?? 250;
  let db: Db;
  let cleanup = async () => {};
  if (database === 'pglite') {
    db = await createPgliteDb();
  } else {
    const url =
      opts.postgresUrl ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const admin = await createPostgresDb(url, { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    db = await createPostgresDb(url, { schema, max: 20 });
    cleanup = async () => {
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    };
  }
  await migrate(db);

  // 2,000 clients, 600 of them linked to a chat.
  await db.query(`INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25)`);
  const cedulas: string[] = [];
  for (let n = 1; n <= 2000; n++) {
    const first9 = '17' + String(n).padStart(7, '0');
    cedulas.push(first9 + cedulaCheckDigit(first9));
  }
  await db.query(
    `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, plan_id, fecha_ultimo_pago, chat_id, linked_at)
     SELECT c, 'Cliente ' || i, '09' || lpad(i::text, 8, '0'), '5939' || lpad(i::text, 8, '0'), 1,
            DATE '2026-02-20', CASE WHEN i <= 600 THEN 1000000 + i END, CASE WHEN i <= 600 THEN now() END
       FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i)`,
    [cedulas],
  );
  const linkedChats = Array.from({ length: 600 }, (_, i) => 1_000_001 + i);

  const standin = await startStandin();
  const config = parseConfig({
    DATA_DIR: '/tmp/teltec-bench-unused',
    TELEGRAM_BOT_TOKEN: standin.token,
    TELEGRAM_API_ROOT: standin.url,
    TELEGRAM_WEBHOOK_SECRET: SECRET,
    SEND_RATE: String(Math.min(1000, replyRate)),
  });
  // Replies share the dispatcher's pacer (issue 12 §8). Every update of the mix sends one paced
  // message (sendMessage or editMessageText), so the pacer's rate caps "handled/s"; the stand-in has
  // no limits, and by default the pacer runs above anything the bench reaches (past SEND_RATE's
  // 1,000 cap, set here directly): each reply still pays its slot reservation, never a wait.
  config.engine.ratePerSecond = replyRate;
  const logger = pino({ level: 'silent' });
  const clock = createManualClock('2026-03-10T15:00:00Z');
  const handled: HandledUpdate[] = [];
  const bot = createBot({
    db,
    config,
    logger,
    clock,
    onUpdate: (e) => handled.push(e),
    ...(opts.handlers !== undefined && { concurrency: opts.handlers }),
  });
  await bot.init();
  const app = await buildApi({ db, config, logger, clock, adminTokens: [], bot });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

  // Warm-up (JIT, connections, plans): not measured.
  let nextId = 1;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      for (let k = 0; k < 10; k++) {
        await post(agent, port, JSON.stringify(makeUpdate(nextId++, linkedChats, c * 10 + k)));
      }
    }),
  );
  await bot.drain();
  handled.length = 0;

  // Load: 40 connections, each posting as soon as its previous post was answered.
  const acks: number[] = [];
  let statusErrors = 0;
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < total) {
        const i = sent++;
        const body = JSON.stringify(makeUpdate(nextId++, linkedChats, i));
        const s = performance.now();
        const status = await post(agent, port, body);
        acks.push(performance.now() - s);
        if (status !== 200) statusErrors++;
      }
    }),
  );
  const ackSeconds = (performance.now() - t0) / 1000;
  await bot.drain();
  const handledSeconds = (performance.now() - t0) / 1000;
  const underLoad = handled.splice(0).map((e) => e.ms);
  const failed = statusErrors;

  // Paced: the same mix at a steady rate the bot keeps up with, still over 40 connections:
  // what handling one update costs when it does not queue behind a burst.
  const pacedStart = performance.now();
  const inFlight: Promise<number>[] = [];
  for (let i = 0; i < pacedTotal; i++) {
    const due = pacedStart + (i * 1000) / pacedRate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(post(agent, port, JSON.stringify(makeUpdate(nextId++, linkedChats, i))));
  }
  await Promise.all(inFlight);
  await bot.drain();
  const paced = handled.splice(0).map((e) => e.ms);

  agent.destroy();
  await bot.stop(5000);
  await app.close();
  await standin.close();
  await db.close();
  await cleanup();

  acks.sort((a, b) => a - b);
  underLoad.sort((a, b) => a - b);
  paced.sort((a, b) => a - b);
  return {
    database,
    updates: total,
    ackPerSecond: Math.round(total / ackSeconds),
    ackP50Ms: round(percentile(acks, 50)),
    ackP99Ms: round(percentile(acks, 99)),
    handledPerSecond: Math.round(total / handledSeconds),
    handleP50Ms: round(percentile(underLoad, 50)),
    handleP99Ms: round(percentile(underLoad, 99)),
    pacedRate,
    paced: pacedTotal,
    replyRate,
    pacedHandleP50Ms: round(percentile(paced, 50)),
    pacedHandleP99Ms: round(percentile(paced, 99)),
    failed,
  };
}

/**
 * A bare Fastify with one route answering 200 at once, hit the same way (40 kept-alive
 * connections): the ceiling of this machine in this run, to read the figures above against.
 */
export async function bareFastifyBaseline(total = 10_000): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post(WEBHOOK_PATH, async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const body = JSON.stringify(makeUpdate(1, [1], 0));
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (sent < total) {
        sent++;
        await post(agent, port, body);
      }
    }),
  );
  const perSecond = Math.round(total / ((performance.now() - t0) / 1000));
  agent.destroy();
  await app.close();
  return perSecond;
}

/** For `npm run bench`: PGlite, then PostgreSQL when a server answers. */
export async function benchWebhook(): Promise<void> {
  const flag = (name: string) => {
    const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    return v === undefined ? undefined : Number(v);
  };
  const opts = {
    updates: flag('updates'),
    paced: flag('paced'),
    replyRate: flag('send-rate'),
    handlers: flag('handlers'),
  };
  const bare = await bareFastifyBaseline();
  console.log(`webhook [base]: Fastify sin lógica, ${CONNECTIONS} conexiones: ${bare}/s`);
  for (const database of ['pglite', 'postgres'] as const) {
    let r: WebhookBenchResult;
    try {
      r = await runWebhookBench(database, opts);
    } catch (err) {
      console.log(`webhook [${database}]: omitido (${(err as Error).message})`);
      continue;
    }
    const target = database === 'pglite' ? 500 : 1000;
    console.log(
      `webhook [${database}]: aceptadas ${r.ackPerSecond}/s · atendidas ${r.handledPerSecond}/s ` +
        `(atendidas/aceptadas ${(r.handledPerSecond / r.ackPerSecond).toFixed(2)}; ` +
        `frente a Fastify sin lógica: aceptadas ${(r.ackPerSecond / bare).toFixed(2)}, atendidas ${(r.handledPerSecond / bare).toFixed(2)}; ` +
        `meta atendidas ≥ 1000/s en PostgreSQL ${database === 'postgres' ? (r.handledPerSecond >= 1000 ? 'OK' : 'NO') : '—'}; ` +
        `un mensaje con ritmo por actualización y el ritmo de respuestas a ${r.replyRate}/s: techo ${r.replyRate}/s` +
        (r.replyRate > 1000
          ? '; el stand-in no limita, así que el ritmo no frena aquí; con SEND_RATE=1000, el máximo, las respuestas no pasan de 1000/s: --send-rate=1000 lo muestra)'
          : ')'),
    );
    console.log(
      `webhook [${database}]: ${r.updates} actualizaciones, ${CONNECTIONS} conexiones: ` +
        `${r.ackPerSecond}/s (meta ≥ ${target}/s ${r.ackPerSecond >= target ? 'OK' : 'NO'}), ` +
        `respuesta p50 ${r.ackP50Ms} ms, p99 ${r.ackP99Ms} ms (meta ≤ 100 ms ${r.ackP99Ms <= 100 ? 'OK' : 'NO'}), ` +
        `respuestas no 200: ${r.failed}`,
    );
    console.log(
      `webhook [${database}]: atención de las ${r.updates} (recibida → atendida) bajo carga: ` +
        `mediana ${r.handleP50Ms} ms, p99 ${r.handleP99Ms} ms, ${r.handledPerSecond}/s de punta a punta; ` +
        `a ritmo constante (${r.paced} a ${r.pacedRate}/s): mediana ${r.pacedHandleP50Ms} ms, p99 ${r.pacedHandleP99Ms} ms`,
    );
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) await benchWebhook();
