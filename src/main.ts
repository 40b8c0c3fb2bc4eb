import { existsSync } from 'node:fs';
import { resolveAdminToken } from './admin-token.js';
import { createAlertMonitor, digestJob } from './alerts/index.js';
import { createBackupScheduler } from './backup/index.js';
import {
  connectWhatsAppReplies,
  createBot,
  lookupSummary,
  receiptWaitsJob,
  resolveWebhookSecret,
  startBotRuntime,
} from './bot/index.js';
import { recordEnabledChannels } from './channels/index.js';
import { clockFromSettings } from './clock.js';
import { type Config, ConfigError, loadConfig, whatsappEnabled } from './config.js';
import { DataDirLockedError, type Db, migrate, openDatabase, secureDataDir } from './db/index.js';
import { emailChannelFromConfig } from './email/index.js';
import { buildApi } from './http/app.js';
import { resolveLogFormat, textDestination } from './log-text.js';
import { createLogger, type Logger } from './logger.js';
import {
  createEngineMetrics,
  dispatcherFromConfig,
  engineJobs,
  settleAsyncFailures,
  toEngineSettings,
} from './notifications/index.js';
import { startupSummary } from './ops/startup-summary.js';
import { settlePromises } from './receipts/index.js';
import { seedDemoOnStart, startSandbox } from './sandbox/index.js';
import { createScheduler } from './scheduler/index.js';
import { createSettingsProvider } from './settings/index.js';
import { smsChannelFromConfig } from './sms/index.js';
import { createTelegramSender } from './telegram/send.js';
import { issueSetupCode } from './users/index.js';
import { createWhatsAppService, templateResolverFor } from './whatsapp/index.js';

/**
 * The only place that reads config, wires the parts, starts them and stops them.
 */
export async function startService(config: Config, logger: Logger) {
  const started = performance.now();
  const clock = clockFromSettings(config.clock);
  // --- Sandbox (issue 5) -------------------------------------------------------------------------
  // Without TELEGRAM_BOT_TOKEN, the built-in Bot API stand-in plays Telegram on 127.0.0.1 and from
  // here on `config.telegram` (token, apiRoot, no PUBLIC_URL) points the bot and the engine at it.
  // Never active with a real token. Says so in the first log line.
  const sandbox = await startSandbox(config, logger);
  if (sandbox) config = sandbox.config;
  // -----------------------------------------------------------------------------------------------
  // DATA_DIR is the owner's only (0700/0600), fixed when an older or copied folder is opened.
  const privateDir =
    !config.databaseUrl || existsSync(config.dataDir) ? secureDataDir(config.dataDir) : { fixed: 0 };
  if (privateDir.fixed > 0) {
    logger.warn(
      { corregidos: privateDir.fixed },
      `Se corrigieron los permisos de ${privateDir.fixed} archivos o carpetas en ${config.dataDir}: ` +
        'ahora solo el dueño puede leerlos (carpetas 0700, archivos 0600).',
    );
  }
  const db: Db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    postgres: config.database,
    pglite: {
      sharedBuffersMb: config.database.sharedBuffersMb,
      initialiseInChild: true,
      optimisedCodeOnly: true,
    },
  });
  const applied = await migrate(db);
  logger.info(
    { database: db.kind, migrationsApplied: applied },
    db.kind === 'pglite'
      ? `base de datos embebida (PGlite) en ${config.dataDir}`
      : 'base de datos PostgreSQL',
  );

  // Sandbox (issue 5): demo clients on an empty database in sandbox mode or with DEMO=1.
  await seedDemoOnStart({ db, config, clock, logger, sandbox: sandbox !== null });

  // Staff accounts (issue 14): without any user, a one-time code to create the first administrator
  // (in the admin page, or `npx teltec usuario crear`). ADMIN_TOKEN keeps working for scripts.
  const setupCode = await issueSetupCode(db);
  if (setupCode) {
    logger.warn(
      `No hay usuarios: abra la página de administración y cree el primer administrador con el código ${setupCode} ` +
        '(sirve una sola vez), o ejecute "npx teltec usuario crear".',
    );
  }
  const settings = createSettingsProvider({ db, config });
  await settings.get();

  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  if (admin.created) {
    logger.warn(
      `No hay ADMIN_TOKEN: se creó un token de administración en ${admin.file} (solo legible por su dueño). ` +
        'Úselo como "Authorization: Bearer <token>" o defina ADMIN_TOKEN.',
    );
  }

  // --- Telegram bot (issue 4) --------------------------------------------------------------------
  // With a token: webhook mode when PUBLIC_URL is set, long polling otherwise (see startBotRuntime).
  // Without TELEGRAM_WEBHOOK_SECRET a random secret is kept in DATA_DIR so the webhook survives restarts.
  const bot = config.telegram.token
    ? createBot({
        db,
        config,
        logger,
        clock,
        company: () => settings.company(),
        getEngineSettings: () => settings.engine(), // issue 13: how to pay, opening hours (Ajustes)
        webhookSecret: resolveWebhookSecret(config.telegram.webhookSecret, config.dataDir).secret,
      })
    : undefined;
  // -----------------------------------------------------------------------------------------------

  // --- WhatsApp Business (issue 10) --------------------------------------------------------------
  // With WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID: the Cloud API client and adapter, Meta's
  // webhook (POST /api/whatsapp/webhook) and the template sync (at start, then hourly).
  const whatsappConfig = config.whatsapp;
  const whatsapp = whatsappEnabled(whatsappConfig)
    ? createWhatsAppService({
        db,
        config: whatsappConfig,
        clock,
        logger: logger.child({ canal: 'whatsapp' }),
        // A `failed` status webhook: the outbox applies the verdict (retry, template, unreachable…).
        settleAsyncFailures,
      })
    : undefined;
  if (whatsapp) {
    // A client writing on WhatsApp: ESTADO, MIS DATOS, BAJA, the opt-in answer (issue 10 §7). The
    // window is open (they just wrote), so the answer is free text.
    connectWhatsAppReplies(whatsapp, {
      db,
      config,
      clock,
      company: () => settings.company(),
      engineSettings: () => settings.engine(), // issue 13: how to pay (Ajustes)
      logger: logger.child({ canal: 'whatsapp' }),
    });
  }
  if (whatsapp && !whatsappConfig.appSecret) {
    logger.warn('Falta WHATSAPP_APP_SECRET: el webhook de WhatsApp responde 503 hasta que se defina.');
  }
  // -----------------------------------------------------------------------------------------------

  // --- Notification engine (issue 3) -------------------------------------------------------------
  // The dispatcher sends the outbox (always on); the scheduler runs the daily generation.
  const engineSettings = toEngineSettings(config);
  const metrics = createEngineMetrics();
  // --- SMS and e-mail (issue 11) ----------------------------------------------------------------
  // With SMS_GATEWAY_URL / SMTP_URL: their channels join the dispatcher. Marketing mail's one-click
  // unsubscribe link is built on PUBLIC_URL, or on this service's own address once it listens.
  let ownAddress = '';
  const smsChannel = smsChannelFromConfig(config);
  const emailChannel = await emailChannelFromConfig(config, {
    db,
    baseUrl: () => config.telegram.publicUrl ?? ownAddress,
    empresa: () => settings.company().nombre,
  });
  const extraChannels = [smsChannel, emailChannel].filter((c) => c !== undefined);
  // Reach (campaigns, generation, the call list) counts only the channels configured here.
  const enabledChannels = [
    ...(config.telegram.token ? (['telegram'] as const) : []),
    ...(whatsapp ? (['whatsapp'] as const) : []),
    ...extraChannels.map((c) => c.name),
  ];
  await recordEnabledChannels(db, enabledChannels, clock.now());
  if (extraChannels.length > 0) {
    logger.info(
      { canales: extraChannels.map((c) => c.name) },
      `canales adicionales: ${extraChannels.map((c) => c.name).join(', ')}`,
    );
  }
  // -----------------------------------------------------------------------------------------------
  // One process owns an embedded database: what it finds claimed, a dead process claimed.
  const dispatcher = dispatcherFromConfig({
    db,
    config,
    clock,
    logger,
    metrics,
    releaseOrphansAtStart: db.kind === 'pglite',
    getSettings: () => settings.engine(), // Ajustes (issue 14): no restart for a new send window
    // Issue 10: WhatsApp beside Telegram; its templates come from the synced registry.
    channels: [...(whatsapp ? [whatsapp.adapter] : []), ...extraChannels],
    resolveTemplate: templateResolverFor(db),
  });
  if (!dispatcher)
    logger.warn('Sin TELEGRAM_BOT_TOKEN ni otro canal: las notificaciones se generan pero no se envían.');
  // Staff alerts (issue 15 §5): checks every minute, delivery to the staff chats, daily digest.
  const alertSettings = {
    ...config.alerts,
    sendWindow: config.engine.sendWindow,
    timeZone: config.timeZone,
    dataDir: config.dataDir,
  };
  const alerts = createAlertMonitor({
    db,
    clock,
    logger,
    settings: alertSettings,
    sender: config.telegram.token
      ? createTelegramSender({ token: config.telegram.token, apiRoot: config.telegram.apiRoot })
      : undefined,
    probes: {
      tokenInvalid: dispatcher ? () => dispatcher.state === 'token_invalido' : undefined,
      cedulaLookups: async () => {
        const l = await lookupSummary(db, clock.now(), config.bot.cedulaLookupsPerHour);
        return { rechazadas: l.rechazadas_ultima_hora, presupuesto: l.presupuesto_por_hora };
      },
      webhookInfo: bot && config.telegram.publicUrl ? async () => await bot.api.getWebhookInfo() : undefined,
    },
  });
  dispatcher?.on((e) => {
    if (e.type === 'sent' || e.type === 'failed' || e.type === 'retry') {
      alerts.observe(e.type === 'sent' ? 'sent' : e.type);
    }
  });
  const scheduler = createScheduler({
    db,
    clock,
    logger,
    timeZone: config.timeZone,
    jobs: engineJobs({
      settings: engineSettings,
      dailyRunAt: config.engine.dailyRunAt,
      getSettings: () => settings.engine(),
      getDailyRunAt: () => settings.current().planificador.hora_generacion,
      metrics,
      db,
      onVacuumError: (err) => logger.error({ err }, 'no se pudo hacer VACUUM de las tablas del outbox'),
      // Issue 13 §4: promises to pay are settled before the rules run (a broken one resumes the notices).
      beforeGeneration: async (tx, s, at) => ({ promesas: await settlePromises(tx, s, at) }),
    }).concat(digestJob(alertSettings), receiptWaitsJob()),
  });
  // Daily backup (issue 15): BACKUP_TIME, BACKUP_DIR, BACKUP_KEEP; BACKUP_TIME=no turns it off.
  const backups = config.backup.dailyAt
    ? createBackupScheduler({
        db,
        databaseUrl: config.databaseUrl,
        clock,
        logger,
        timeZone: config.timeZone,
        dailyAt: config.backup.dailyAt,
        dir: config.backup.dir,
        keep: config.backup.keep,
      })
    : undefined;
  let closing = false;
  // -----------------------------------------------------------------------------------------------

  const app = await buildApi({
    db,
    config,
    logger,
    clock,
    adminTokens: [{ name: 'ADMIN_TOKEN', token: admin.token }],
    settings,
    engine: { dispatcher, metrics },
    isClosing: () => closing,
    sandbox: sandbox ?? undefined,
    bot,
    whatsapp,
    // SMS delivery reports that say "failed": the outbox applies the verdict.
    settleAsyncFailures,
  });
  const address = await app.listen({ port: config.port, host: config.host });
  ownAddress = address;
  logger.info(
    { address, startupMs: Math.round(performance.now() - started) },
    `TelTec Notificaciones escuchando en ${address}`,
  );
  if (sandbox) logger.info(`Sandbox: administración en ${address}/ y chat de prueba en ${address}/sandbox`);
  // Sandbox (issue 10): the simulated WhatsApp delivers its signed webhooks to this service.
  sandbox?.whatsapp?.setWebhookUrl(`${address}/api/whatsapp/webhook`);
  // Sandbox (issue 11): the simulated SMS gateway posts its delivery reports to this service.
  sandbox?.setServiceUrl(address);
  // Issue 15: one line a person reads first: mode, database, channels, URL, admin page.
  const summary = startupSummary({
    config,
    address,
    sandbox: sandbox !== null,
    dbKind: db.kind,
    channels: enabledChannels,
  });
  logger.info(summary.fields, summary.message);
  // Engine (issue 3): sending and scheduled work start once the API is up.
  const engineAbort = new AbortController();
  const dispatcherDone = dispatcher
    ?.run(engineAbort.signal)
    .catch((err) => logger.error({ err }, 'el despachador de notificaciones se detuvo por un error'));
  scheduler.start(engineAbort.signal);
  backups?.start(engineAbort.signal);
  const alertsDone = alerts.run(engineAbort.signal);
  const whatsappDone = whatsapp
    ?.run(engineAbort.signal)
    .catch((err) =>
      logger.error({ err }, 'la sincronización de plantillas de WhatsApp se detuvo por un error'),
    );
  // Bot (issue 4): getMe, commands, then webhook or long polling, and the inbox sweeper.
  const botAbort = new AbortController();
  const botRuntime = bot ? startBotRuntime(bot, { config, logger, signal: botAbort.signal }) : undefined;

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Engine (issue 3): new requests get 503; the dispatcher stops claiming and finishes or
      // releases what it holds within 15 s; then the HTTP server and the database close.
      closing = true;
      await scheduler.stop();
      await backups?.stop();
      // Bot (issue 4): polling and the sweeper stop; updates in hand are finished (10 s at most).
      // The webhook stays set: Telegram keeps what arrives meanwhile and delivers it after a restart.
      botAbort.abort();
      // Both drain at the same time, so the whole stop fits in the 20 s before the forced exit.
      await Promise.all([
        (async () => {
          await bot?.stop(10_000);
          await botRuntime?.done;
        })(),
        (async () => {
          await dispatcher?.stop({ drainMs: 15_000 });
          engineAbort.abort();
          await dispatcherDone;
          await alertsDone;
          await whatsappDone;
        })(),
      ]);
      await app.close();
      emailChannel?.close();
      await sandbox?.close(); // sandbox (issue 5): after everything that talks to Telegram
      await db.close();
    })();
    return stopping;
  };
  return { app, db, address, stop };
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // LOG_FORMAT (issue 15): readable lines at a terminal, JSON otherwise.
  const logFormat = resolveLogFormat(config.logFormat, process.stdout.isTTY);
  const logger = createLogger({
    level: config.logLevel,
    destination:
      logFormat === 'texto' ? textDestination(process.stdout, process.stdout.isTTY === true) : undefined,
  });
  let service: Awaited<ReturnType<typeof startService>>;
  try {
    service = await startService(config, logger);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      console.error(err.message);
      process.exit(3);
    }
    logger.fatal({ err }, 'no se pudo iniciar el servicio');
    process.exit(1);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'deteniendo el servicio');
      const force = setTimeout(() => process.exit(1), 20_000);
      force.unref();
      service.stop().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'error al detener');
          process.exit(1);
        },
      );
    });
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) await main();
