/**
 * `npm run bench -- fallback`: the fallback path's time from the first failure to the delivery on the
 * next channel (issue 11). N overdue clients whose Telegram chat blocked the bot, each with a mobile
 * inside SMS_WINDOW: Telegram answers 403 (stand-in), the dispatcher moves each notice on to SMS
 * (stand-in gateway). Figures from the attempts' own times (Telegram failed → SMS sent).
 * `--n=200` changes the size (default 100). Embedded PGlite, real clock.
 */
import { pino } from 'pino';
import { createShiftedClock } from '../src/clock.js';
import { parseConfig } from '../src/config.js';
import { createPgliteDb, migrate } from '../src/db/index.js';
import { createDispatcher, generatePaymentNotices, toEngineSettings } from '../src/notifications/index.js';
import { smsChannelFromConfig } from '../src/sms/index.js';
import { startSmsGatewayStandin } from '../src/sms/standin.js';
import { createTelegramSender } from '../src/telegram/send.js';
import { startStandin } from '../src/telegram/standin/index.js';

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
}
