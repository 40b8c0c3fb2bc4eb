/**
 * WhatsApp benchmark (issue 10): `npm run bench -- whatsapp`.
 *
 *  1. Sending: the real dispatcher sends queued WhatsApp notices (two per client, back to back)
 *     through the adapter to the stand-in enforcing Meta's limits (80 msg/s, 6 s per recipient);
 *     `--solo-adaptador` paces the adapter alone, without the dispatcher. Prints the sustained rate
 *     against WHATSAPP_RATE (goal ≥ 97 %) and the 130429 / 131056 answers (goal 0).
 *  2. Status webhooks: Meta's 40-odd connections posting signed `sent` / `delivered` / `read`
 *     statuses (one per POST, out of order) to the real route of the real app. Prints statuses/s
 *     (goal ≥ 1,000/s on PostgreSQL) and ack latency p50 / p99 (goal ≤ 100 ms), and checks that
 *     every notice ends `leido`.
 *
 * Flags: --statuses=N (default 4500), --sends=N (default 400), --rate=N (WHATSAPP_RATE, default 20),
 * --all-dbs (PGlite too). Default sizes run well under a minute.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { pino } from 'pino';
import { cedulaCheckDigit } from '../src/clients/cedula.js';
import { createManualClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createPgliteDb, createPostgresDb, type Db, migrate } from '../src/db/index.js';
import { buildApi } from '../src/http/app.js';
import { enqueue } from '../src/notifications/outbox.js';
import { createWhatsAppService } from '../src/whatsapp/service.js';
import { signWebhookBody } from '../src/whatsapp/signature.js';
import { bareFastifyBaseline } from './webhook.js';
import { runDispatchSendBench, runSendBench } from './whatsapp-send.js';

const CONNECTIONS = 40;
const PATH = '/api/whatsapp/webhook';

function flag(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  const n = a ? Number(a.split('=')[1]) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (n: number) => Math.round(n * 10) / 10;

export async function openBenchDb(
  kind: 'pglite' | 'postgres',
): Promise<{ db: Db; cleanup: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await createPgliteDb();
    await migrate(db);
    return { db, cleanup: () => db.close() };
  }
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await createPostgresDb(url, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const db = await createPostgresDb(url, { schema, max: 20 });
  await migrate(db);
  return {
    db,
    cleanup: async () => {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** `n` clients with a WhatsApp number (5939 + 8 digits). */
export async function seedWhatsAppClients(db: Db, n: number): Promise<number[]> {
  const cedulas: string[] = [];
  for (let i = 1; i <= n; i++) {
    const first9 = `17${String(i).padStart(7, '0')}`;
    cedulas.push(first9 + cedulaCheckDigit(first9));
  }
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, whatsapp)
     SELECT c, 'Cliente ' || i, '09' || lpad(i::text, 8, '0'), '5939' || lpad(i::text, 8, '0'),
            '5939' || lpad(i::text, 8, '0')
       FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i)
     RETURNING id`,
    [cedulas],
  );
  return rows.map((r) => r.id);
}

function post(agent: Agent, port: number, body: string, signature: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: PATH,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-hub-signature-256': signature,
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

export interface IngestBenchResult {
  database: 'pglite' | 'postgres';
  statuses: number;
  perSecond: number;
  p50: number;
  p99: number;
  non200: number;
  allRead: boolean;
}

export async function runIngestBench(
  database: 'pglite' | 'postgres',
  total: number,
): Promise<IngestBenchResult> {
  const { db, cleanup } = await openBenchDb(database);
  const messages = Math.ceil(total / 3);
  const secret = randomBytes(16).toString('hex');
  const clock = createManualClock('2026-03-10T15:00:00Z');
  try {
    const clients = await seedWhatsAppClients(db, Math.min(messages, 2000));
    // One sent notice per message, each with its WhatsApp attempt (as the dispatcher records them).
    const ids = await enqueue(
      db,
      Array.from({ length: messages }, (_, i) => ({
        client_id: clients[i % clients.length]!,
        tipo: 'manual' as const,
        mensaje: 'x',
        dedupe_key: `bench:${i}`,
      })),
      clock.now(),
    );
    const wamids = ids.map((_, i) => `wamid.bench${i}.${randomBytes(8).toString('hex')}`);
    await db.query(
      `UPDATE notifications SET estado = 'enviado', canal = 'whatsapp', sent_at = $2 WHERE id = ANY($1::bigint[])`,
      [ids, clock.now()],
    );
    await db.query(
      `INSERT INTO notification_envios (notification_id, canal, estado, destino, proveedor_id, created_at, enviado_at)
       SELECT id, 'whatsapp', 'enviado', '593900000000', w, $3, $3 FROM unnest($1::bigint[], $2::text[]) AS t(id, w)`,
      [ids, wamids, clock.now()],
    );
    const config = parseConfig({
      DATA_DIR: '/tmp/teltec-bench-unused',
      WHATSAPP_TOKEN: `EAAB${randomBytes(20).toString('hex')}`,
      WHATSAPP_PHONE_NUMBER_ID: '109000000000001',
      WHATSAPP_APP_SECRET: secret,
      WHATSAPP_API_ROOT: 'http://127.0.0.1:9',
    });
    const logger = pino({ level: 'silent' });
    const whatsapp = createWhatsAppService({
      db,
      config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
      clock,
      logger,
    });
    const app = await buildApi({ db, config, logger, clock, adminTokens: [], whatsapp });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;

    // Three statuses per message, in an order that puts some `read` before `delivered`/`sent`.
    const bodies: { body: string; sig: string }[] = [];
    const base = Math.floor(clock.now().getTime() / 1000);
    const order = [
      ['sent', 'delivered', 'read'],
      ['read', 'sent', 'delivered'],
      ['delivered', 'read', 'sent'],
    ] as const;
    for (let round = 0; round < 3; round++) {
      wamids.forEach((wamid, i) => {
        const status = order[i % 3]![round]!;
        const body = JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: '209000000000001',
              changes: [
                {
                  field: 'messages',
                  value: {
                    messaging_product: 'whatsapp',
                    metadata: { display_phone_number: '593990000000', phone_number_id: '109000000000001' },
                    statuses: [
                      {
                        id: wamid,
                        status,
                        timestamp: String(base + ({ sent: 1, delivered: 2, read: 3 } as const)[status]),
                        recipient_id: '593900000000',
                        pricing: { billable: true, pricing_model: 'PMP', category: 'utility' },
                      },
                    ],
                  },
                },
              ],
            },
          ],
        });
        bodies.push({ body, sig: signWebhookBody(secret, body) });
      });
    }
    const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    // Warm-up (connections, JIT, plans): 100 requests that change nothing.
    await Promise.all(
      Array.from({ length: 100 }, () => {
        const b = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
        return post(agent, port, b, signWebhookBody(secret, b));
      }),
    );
    const latencies: number[] = [];
    let non200 = 0;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (next < bodies.length) {
          const b = bodies[next++]!;
          const s = performance.now();
          const status = await post(agent, port, b.body, b.sig);
          latencies.push(performance.now() - s);
          if (status !== 200) non200++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    agent.destroy();
    await app.close();
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notifications WHERE id = ANY($1::bigint[]) AND estado = 'leido'`,
      [ids],
    );
    latencies.sort((a, b) => a - b);
    return {
      database,
      statuses: bodies.length,
      perSecond: Math.round(bodies.length / seconds),
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      non200,
      allRead: rows[0]!.n === ids.length,
    };
  } finally {
    await cleanup();
  }
}

export async function run(): Promise<void> {
  const rate = flag('rate', 20);
  const sends = flag('sends', 400);
  const statuses = flag('statuses', 4500);
  const dbs: ('pglite' | 'postgres')[] = process.argv.includes('--all-dbs')
    ? ['pglite', 'postgres']
    : ['postgres'];
  // What this machine does right now with no logic at all: the ceiling of any webhook figure.
  const bare = await bareFastifyBaseline(3000);
  console.log(`whatsapp [base]: Fastify sin lógica, ${CONNECTIONS} conexiones: ${bare}/s`);
  for (const database of dbs) {
    try {
      const s = process.argv.includes('--solo-adaptador')
        ? await runSendBench(database, { rate, sends })
        : await runDispatchSendBench(database, { rate, sends });
      console.log(
        `whatsapp envío [${database}]: ${s.sent} avisos a ${s.recipients} clientes (2 seguidos por cliente) en ${s.seconds} s, ` +
          `(el último primer aviso salió ${s.pairWaitSeconds} s antes del final): sostenido ` +
          `${s.perSecond}/s con WHATSAPP_RATE=${rate} (${s.percent} %, meta ≥ 97 % ${s.percent >= 97 ? 'OK' : 'NO'}); ` +
          `130429: ${s.throughputErrors}, 131056: ${s.pairErrors} (meta 0 ${s.throughputErrors + s.pairErrors === 0 ? 'OK' : 'NO'}); ` +
          `simulador con 80/s y 6 s por cliente; ${s.note}`,
      );
    } catch (err) {
      console.log(`whatsapp envío [${database}]: omitido (${(err as Error).message})`);
    }
    try {
      const r = await runIngestBench(database, statuses);
      const target = database === 'postgres' ? 1000 : 500;
      console.log(
        `whatsapp estados [${database}]: ${r.statuses} estados firmados (1 por POST, desordenados), ${CONNECTIONS} conexiones: ` +
          `${r.perSecond}/s (meta ≥ ${target}/s ${r.perSecond >= target ? 'OK' : 'NO'}), ` +
          `respuesta p50 ${r.p50} ms, p99 ${r.p99} ms (meta ≤ 100 ms ${r.p99 <= 100 ? 'OK' : 'NO'}), ` +
          `no 200: ${r.non200}, todos los avisos terminan leídos: ${r.allRead ? 'sí' : 'NO'}; ` +
          `frente a Fastify sin lógica: ${(r.perSecond / bare).toFixed(2)}`,
      );
    } catch (err) {
      console.log(`whatsapp estados [${database}]: omitido (${(err as Error).message})`);
    }
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) await run();
