import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { importClientsCsv } from './clients/index.js';
import { type Clock, systemClock } from './clock.js';
import { ConfigError, loadConfig } from './config.js';
import { DataDirLockedError, migrate, openDatabase } from './db/index.js';
import { audit } from './http/audit.js';
import { createLogger } from './logger.js';
import {
  dispatcherFromConfig,
  generateUnderLock,
  notificationCounts,
  toEngineSettings,
} from './notifications/index.js';
import { isOpsCommand, opsUsage, runOpsCommand } from './ops/commands.js';
import { localDate } from './time.js';

import { readSecretLine, usuarioCommand, usuarioUsage } from './users/cli-command.js';

const usage = `Uso: teltec <comando>
  migrate                 aplica las migraciones pendientes
  importar <archivo.csv>  importa clientes (actualiza por cédula)
  estadisticas            muestra clientes con y sin Telegram y notificaciones por estado
  generar                 genera hoy los recordatorios y avisos de vencido (idempotente)
  procesar                envía ahora lo que está en cola (una pasada; necesita TELEGRAM_BOT_TOKEN)
${opsUsage}
${usuarioUsage}`;

/** Staff's hand-run operations; the same code the API runs. Returns the exit code. */
export async function runCli(
  argv: string[],
  out: (line: string) => void = console.log,
  clock: Clock = systemClock,
  readSecret: (prompt: string) => Promise<string> = readSecretLine,
): Promise<number> {
  const [command, ...args] = argv;
  if (!command || command === 'ayuda' || command === '--help') {
    out(usage);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  // Operations (issue 15): they may need to ask the running service instead of opening the database.
  if (isOpsCommand(command)) return runOpsCommand(command, args, { config, out, clock });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrate(db);
    switch (command) {
      case 'migrate':
        out(
          applied.length
            ? `Migraciones aplicadas: ${applied.join(', ')}`
            : 'La base de datos ya está al día.',
        );
        return 0;
      case 'importar': {
        if (!args[0]) {
          out('Indique el archivo CSV: teltec importar clientes.csv');
          return 2;
        }
        const report = await importClientsCsv(db, readFileSync(args[0]));
        out(
          `Creados: ${report.creados}. Actualizados: ${report.actualizados}. Con errores: ${report.errores.length}.`,
        );
        for (const e of report.errores) out(`  línea ${e.linea}: ${e.motivo}`);
        return report.errores.length ? 1 : 0;
      }
      case 'estadisticas':
        out(JSON.stringify(await notificationCounts({ db }), null, 2));
        return 0;
      case 'generar': {
        const now = clock.now();
        const report = await db.transaction(async (tx) => {
          const r = await generateUnderLock(tx, toEngineSettings(config), {
            today: localDate(now, config.timeZone),
            now,
          });
          await audit(tx, {
            actor: 'cli',
            accion: 'notificaciones.generar',
            detalles: { total_creadas: r.total_creadas },
          });
          return r;
        });
        out(JSON.stringify(report, null, 2));
        return 0;
      }
      case 'procesar': {
        const dispatcher = dispatcherFromConfig({
          db,
          config,
          clock,
          // Logs go to stderr: stdout carries the report.
          logger: createLogger({ level: config.logLevel, destination: pino.destination(2) }),
        });
        if (!dispatcher) {
          out('Sin TELEGRAM_BOT_TOKEN no hay a quién enviar: defínalo (o use el servicio en modo sandbox).');
          return 2;
        }
        const report = await dispatcher.runOnce();
        await dispatcher.stop();
        out(JSON.stringify(report, null, 2));
        return dispatcher.state === 'token_invalido' ? 1 : 0;
      }
      case 'usuario':
        return await usuarioCommand(db, args, out, readSecret, clock.now());
      default:
        out(`Comando desconocido: ${command}\n${usage}`);
        return 2;
    }
  } finally {
    await db.close();
  }
}

/**
 * The command line's entry (`npx teltec`, bin/teltec.js, and this file run directly): the exit
 * code, with what went wrong as one line on `err`, never a stack trace.
 */
export async function cliMain(argv: string[], err: (line: string) => void = console.error): Promise<number> {
  try {
    return await runCli(argv);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof DataDirLockedError) err(e.message);
    else err(`Error: ${(e as Error).message}`);
    return 1;
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) process.exit(await cliMain(process.argv.slice(2)));
