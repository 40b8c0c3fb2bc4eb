/**
 * `npm run bench -- fallback`: the fallback path's time from the first failure to the delivery on the
 * next channel (issue 11). N overdue clients whose Telegram chat blocked the bot, each with a mobile
 * inside SMS_WINDOW: Telegram answers 403 (stand-in), the dispatcher moves each notice on to SMS
 * (stand-in gateway). Figures from the attempts' own times (Telegram failed → SMS sent).
 * Then the LATE failure path: N overdue clients on WhatsApp (no Telegram) whose template Meta
 * accepts and fails a moment later by webhook with 131026; the service's webhook hands it to the
 * outbox, which requeues the notice, and the running dispatcher sends it by SMS. Figures from the
 * moment the stand-in posts the `failed` status to the moment the SMS gateway accepts the SMS.
 * `--n=200` changes the size (default 100). Embedded PGlite, real clock.
 */
import { pino } from 'pino';
import { createChannelRegistry } from '../src/channels/index.js';
import { createShiftedClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createPgliteDb, migrate } from '../src/db/index.js';
import { buildApi } from '../src/http/app.js';
import { createDispatcher, generatePaymentNotices, toEngineSettings } from '../src/notifications/index.js';
import { smsChannelFromConfig } from '../src/sms/index.js';
import { startSmsGatewayStandin } from '../src/sms/standin.js';
import { createTelegramSender } from '../src/telegram/send.js';
import { startStandin } from '../src/telegram/standin/index.js';
import { createWhatsAppAdapter } from '../src/whatsapp/adapter.js';
import { createWhatsAppClient } from '../src/whatsapp/graph.js';
import { createWhatsAppService } from '../src/whatsapp/service.js';
import { startWhatsAppStandin } from '../src/whatsapp/standin/index.js';
import { createTemplateSync, templateResolverFor } from '../src/whatsapp/templates.js';

const arg = process.argv.find((a) => a.startsWith('--n='));
const N = arg ? Number(arg.slice(4)) : 100;

export async function run(): Promise<void> {
  const db = await createPgliteDb();
  await migrate(db);
  const telegram = await startStandin();
  const sms = await startSmsGatewayStandin();
  const config = parseConfig({
    SMS_GATEWAY_URL: sms.sendUrl,
    SMS_RATE: '100',
    DATA_DIR: '/tmp/teltec-bench-unused',
  });
  // Tuesday 10:00 in Guayaquil, running at real speed: inside SEND_WINDOW and SMS_WINDOW.
  const clock = createShiftedClock('2026-03-10T15:00:00Z');
  const plan = await db.query<{ id: number }>(
    `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25.5) RETURNING id`,
  );
  const chats = Array.from({ length: N }, (_, i) => 800_000_000 + i);
  await db.query(
    `INSERT INTO clients (cedula, nombre, chat_id, link_verified, telefono_norm, plan_id, fecha_ultimo_pago)
     SELECT lpad((1000000000 + g)::text, 10, '0'), 'Cliente ' || g, 800000000 + g, true,
            '5939' || (10000000 + g)::text, $2, '2026-02-06'
       FROM generate_series(0, $1 - 1) g`,
    [N, plan.rows[0]!.id],
  );
  for (const chat of chats)
    telegram.failNext(1, { kind: 'blocked' }, { method: 'sendMessage', chatId: chat });
  const settings = toEngineSettings(config);
  await generatePaymentNotices(db, settings, { today: '2026-03-10', now: clock.now() });
  const dispatcher = createDispatcher({
    db,
    sender: createTelegramSender({ token: telegram.token, apiRoot: telegram.url }),
    clock,
    logger: pino({ level: 'silent' }),
    settings,
    extraChannels: [smsChannelFromConfig(config)!],
    options: {
      ratePerSecond: 30,
      perChatPerSecond: 1,
      concurrency: 16,
      maxAttempts: 6,
      fallbackOrder: config.fallback.order,
    },
  });
  const started = performance.now();
  let passes = 0;
  while (sms.messages.length < N && performance.now() - started < 50_000) {
    await dispatcher.runOnce();
    passes++;
  }
  const wall = (performance.now() - started) / 1000;
  const { rows } = await db.query<{ ms: number }>(
    `SELECT extract(epoch FROM (s.enviado_at - t.fallido_at)) * 1000 AS ms
       FROM notification_envios t
       JOIN notification_envios s ON s.notification_id = t.notification_id AND s.canal = 'sms' AND s.estado = 'enviado'
      WHERE t.canal = 'telegram' AND t.estado = 'fallido'
      ORDER BY 1`,
  );
  const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? Number.NaN;
  console.log(
    `fallback Telegram (bloqueado) → SMS: ${ms.length}/${N} avisos por SMS en ${wall.toFixed(1)} s (${passes} pasadas); ` +
      `tiempo de la primera falla a la entrega en el siguiente canal: p50 ${q(0.5).toFixed(0)} ms, ` +
      `p95 ${q(0.95).toFixed(0)} ms, máx ${(ms.at(-1) ?? Number.NaN).toFixed(0)} ms ` +
      `(meta: segundos, no el minuto del reintento; SMS_RATE 100/s, SEND_RATE 30/s)`,
  );
  await dispatcher.stop({ drainMs: 1000 });
  await Promise.all([telegram.close(), sms.close()]);
  await db.close();
  await runLate();
}

const quantiles = (values: number[]) => {
  const ms = [...values].sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? Number.NaN;
  return `p50 ${q(0.5).toFixed(0)} ms, p95 ${q(0.95).toFixed(0)} ms, máx ${(ms.at(-1) ?? Number.NaN).toFixed(0)} ms`;
};

/** WhatsApp accepts, then fails by webhook (131026): time from that webhook to the SMS on the gateway. */
async function runLate(): Promise<void> {
  const db = await createPgliteDb();
  await migrate(db);
  const clock = createShiftedClock('2026-03-10T15:00:00Z');
  const logger = pino({ level: 'silent' });
  const wa = await startWhatsAppStandin({ pairIntervalMs: 0, ratePerSecond: 1000, dailyLimit: 100_000 });
  const sms = await startSmsGatewayStandin({ clock });
  const config = parseConfig({
    SMS_GATEWAY_URL: sms.sendUrl,
    SMS_RATE: '100',
    DATA_DIR: '/tmp/teltec-bench-unused',
    WHATSAPP_TOKEN: wa.token,
    WHATSAPP_PHONE_NUMBER_ID: wa.phoneNumberId,
    WHATSAPP_APP_SECRET: wa.appSecret,
    WHATSAPP_API_ROOT: wa.url,
  });
  const client = createWhatsAppClient({
    token: wa.token,
    phoneNumberId: wa.phoneNumberId,
    businessAccountId: wa.businessAccountId,
    apiRoot: wa.url,
    apiVersion: 'v23.0',
  });
  await createTemplateSync({ db, client, clock, logger }).runOnce();
  const whatsapp = createWhatsAppService({
    db,
    config: config.whatsapp as typeof config.whatsapp & { token: string; phoneNumberId: string },
    clock,
    logger,
  });
  const app = await buildApi({ db, config, logger, clock, adminTokens: [], whatsapp });
  wa.setWebhookUrl(`${await app.listen({ port: 0, host: '127.0.0.1' })}/api/whatsapp/webhook`);
  const plan = await db.query<{ id: number }>(
    `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25.5) RETURNING id`,
  );
  const { rows: clients } = await db.query<{ id: number; whatsapp: string; movil: string }>(
    `INSERT INTO clients (cedula, nombre, whatsapp, telefono_norm, plan_id, fecha_ultimo_pago)
     SELECT lpad((2000000000 + g)::text, 10, '0'), 'Cliente ' || g, '5939' || (30000000 + g)::text,
            '5939' || (40000000 + g)::text, $2, '2026-02-06'
       FROM generate_series(0, $1 - 1) g
     RETURNING id, whatsapp, telefono_norm AS movil`,
    [N, plan.rows[0]!.id],
  );
  await db.query(
    `INSERT INTO consents (client_id, canal, categoria, otorgado, fuente, created_at)
     SELECT id, 'whatsapp', 'servicio', true, 'contrato', $2 FROM clients WHERE id = ANY($1::int[])`,
    [clients.map((c) => c.id), clock.now()],
  );
  const mobileOf = new Map(clients.map((c) => [c.whatsapp, c.movil]));
  const failedAt = new Map<string, number>();
  for (const c of clients) wa.failRecipient(c.whatsapp, { code: 131026, mode: 'status', times: 1 });
  wa.onEvent((e) => {
    if (e.type === 'status' && wa.statusOf(e.wamid) === 'failed') {
      const movil = mobileOf.get(e.number);
      if (movil && !failedAt.has(movil)) failedAt.set(movil, clock.now().getTime());
    }
  });
  const settings = toEngineSettings(config);
  await generatePaymentNotices(db, settings, { today: '2026-03-10', now: clock.now() });
  const dispatcher = createDispatcher({
    db,
    channels: createChannelRegistry([
      createWhatsAppAdapter({ client, ratePerSecond: 80, dailyLimit: 100_000 }),
      smsChannelFromConfig(config)!,
    ]),
    resolveTemplate: templateResolverFor(db),
    clock,
    logger,
    settings,
    options: {
      ratePerSecond: 30,
      perChatPerSecond: 1,
      concurrency: 16,
      maxAttempts: 6,
      idleMs: 50,
      fallbackOrder: config.fallback.order,
    },
  });
  const stop = new AbortController();
  const started = performance.now();
  const running = dispatcher.run(stop.signal);
  while (sms.messages.length < N && performance.now() - started < 50_000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const wall = (performance.now() - started) / 1000;
  stop.abort();
  await dispatcher.stop({ drainMs: 1000 });
  await running;
  await wa.idle();
  const latencies = sms.messages.flatMap((m) => {
    const at = failedAt.get(m.to);
    return at === undefined ? [] : [m.at.getTime() - at];
  });
  console.log(
    `fallback tardío WhatsApp (aceptado, luego 131026 por webhook) → SMS: ${sms.messages.length}/${N} avisos por SMS ` +
      `en ${wall.toFixed(1)} s (${new Set(sms.messages.map((m) => m.to)).size} destinatarios distintos); ` +
      `tiempo del webhook «failed» a la entrega en el siguiente canal: ${quantiles(latencies)} ` +
      '(el despachador en marcha despierta con el NOTIFY de la cola; las filas reencoladas esperan su turno detrás ' +
      'de los envíos de WhatsApp aún en cola: la bomba da turnos a SEND_RATE 30/s a todos los canales)',
  );
  wa.setWebhookUrl(undefined);
  await app.close();
  await Promise.all([wa.close(), sms.close()]);
  await db.close();
}
