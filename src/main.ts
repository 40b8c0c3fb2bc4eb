import { resolveAdminToken } from './admin-token.js';
import { systemClock } from './clock.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { DataDirLockedError, type Db, migrate, openDatabase } from './db/index.js';
import { buildApi } from './http/app.js';
import { createLogger, type Logger } from './logger.js';

/**
 * The only place that reads config, wires the parts, starts them and stops them.
 */
export async function startService(config: Config, logger: Logger) {
  const started = performance.now();
  const db: Db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(db);
  logger.info(
    { database: db.kind, migrationsApplied: applied },
    db.kind === 'pglite'
      ? `base de datos embebida (PGlite) en ${config.dataDir}`
      : 'base de datos PostgreSQL',
  );

  const admin = resolveAdminToken(config.adminToken, config.dataDir);
  if (admin.created) {
    logger.warn(
      `No hay ADMIN_TOKEN: se creó un token de administración en ${admin.file} (solo legible por su dueño). ` +
        'Úselo como "Authorization: Bearer <token>" o defina ADMIN_TOKEN.',
    );
  }

  const app = await buildApi({
    db,
    config,
    logger,
    clock: systemClock,
    adminTokens: [{ name: 'admin', token: admin.token }],
  });
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info(
    { address, startupMs: Math.round(performance.now() - started) },
    `TelTec Notificaciones escuchando en ${address}`,
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await app.close();
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
  const logger = createLogger({ level: config.logLevel });
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
