import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { backupStatus } from '../backup/index.js';
import { WEBHOOK_ROUTE } from '../bot/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { type Db, readMigrations } from '../db/index.js';
import { redactBotToken } from '../logger.js';
import { isInSendWindow } from '../notifications/window.js';
import { localTime } from '../time.js';

/**
 * `teltec diagnostico` and GET /api/diagnostico: each check says ✔ (ok), ✖ (fallo: with what to
 * do) or — (no_configurado: a channel that is not set up is not a failure). Read-only: nothing
 * here changes the database or Telegram.
 */

export type CheckState = 'ok' | 'fallo' | 'no_configurado';

export interface CheckResult {
  id: string;
  nombre: string;
  estado: CheckState;
  detalle: string;
  /** What to do about a failure, in plain Spanish. */
  accion?: string;
}

export interface Diagnosis {
  correcto: boolean;
  fecha: string;
  comprobaciones: CheckResult[];
}

export interface DiagnosisDeps {
  config: Config;
  /** null when the database could not be opened (`dbError` says why). */
  db: Db | null;
  dbError?: string;
  clock: Clock;
  /** Seam for the disk check (tests): free and total bytes of the folder's file system. */
  diskUsage?: (dir: string) => Promise<{ free: number; total: number }>;
  /** Thresholds (defaults: 1 GiB and 5 % free, 60 s of clock skew, 100 waiting updates). */
  minFreeBytes?: number;
  maxClockSkewMs?: number;
  maxPendingUpdates?: number;
  /** Bot API calls time out after this (default 10 s). */
  telegramTimeoutMs?: number;
}

const ok = (id: string, nombre: string, detalle: string): CheckResult => ({
  id,
  nombre,
  estado: 'ok',
  detalle,
});
const fail = (id: string, nombre: string, detalle: string, accion: string): CheckResult => ({
  id,
  nombre,
  estado: 'fallo',
  detalle,
  accion,
});
const absent = (id: string, nombre: string, detalle: string): CheckResult => ({
  id,
  nombre,
  estado: 'no_configurado',
  detalle,
});

async function checkDatabase(deps: DiagnosisDeps): Promise<CheckResult> {
  const name = 'Base de datos';
  if (!deps.db) {
    return fail(
      'base_de_datos',
      name,
      `No se pudo abrir: ${deps.dbError ?? 'error desconocido'}`,
      deps.config.databaseUrl
        ? 'Revise DATABASE_URL (servidor, usuario, contraseña) y que PostgreSQL esté en marcha.'
        : `Revise que ${deps.config.dataDir} exista y pertenezca al usuario del servicio.`,
    );
  }
  try {
    const known = readMigrations().map((m) => m.version);
    const exists = await deps.db.query<{ t: string | null }>(
      `SELECT to_regclass('schema_migrations')::text AS t`,
    );
    const applied = exists.rows[0]?.t
      ? (await deps.db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (r) => r.version,
        )
      : [];
    const pending = known.filter((v) => !applied.includes(v));
    const unknown = applied.filter((v) => !known.includes(v));
    const { rows } = await deps.db.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    const what =
      deps.db.kind === 'pglite'
        ? `base embebida (PGlite, PostgreSQL ${rows[0]?.v}) en ${deps.config.dataDir}`
        : `PostgreSQL ${rows[0]?.v}`;
    if (unknown.length > 0) {
      return fail(
        'base_de_datos',
        name,
        `${what}: tiene migraciones que este programa no conoce (${unknown.join(', ')}).`,
        'La base es de una versión más nueva: instale esa versión (las migraciones solo avanzan).',
      );
    }
    if (pending.length > 0) {
      return fail(
        'base_de_datos',
        name,
        `${what}: faltan migraciones (${pending.join(', ')}).`,
        'Ejecute "npx teltec migrate" o reinicie el servicio (migra al arrancar).',
      );
    }
    return ok('base_de_datos', name, `${what}; ${applied.length} migraciones aplicadas, ninguna pendiente.`);
  } catch (err) {
    return fail(
      'base_de_datos',
      name,
      `La base no responde: ${(err as Error).message}`,
      'Revise que el servidor de base de datos esté en marcha y accesible.',
    );
  }
}

type BotCall =
  | { ok: true; result: Record<string, unknown>; date: Date | null }
  | { ok: false; status: number; description: string };

/** One Bot API call; never throws, never lets the token into a message. */
async function callBotApi(deps: DiagnosisDeps, method: string): Promise<BotCall> {
  const { apiRoot, token } = deps.config.telegram;
  try {
    const res = await fetch(`${apiRoot}/bot${token}/${method}`, {
      signal: AbortSignal.timeout(deps.telegramTimeoutMs ?? 10_000),
    });
    const body = (await res.json().catch(() => ({}))) as {
      ok?: boolean;
      result?: Record<string, unknown>;
      description?: string;
    };
    const date = res.headers.get('date');
    if (res.ok && body.ok) return { ok: true, result: body.result ?? {}, date: date ? new Date(date) : null };
    return { ok: false, status: res.status, description: redactBotToken(body.description ?? res.statusText) };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    const why = (err as Error).name === 'TimeoutError' ? 'sin respuesta' : (cause ?? (err as Error).message);
    return { ok: false, status: 0, description: redactBotToken(why) };
  }
}

function telegramFailure(
  call: Extract<BotCall, { ok: false }>,
  host: string,
): { detalle: string; accion: string } {
  if (call.status === 401 || call.status === 404) {
    return {
      detalle: `Telegram rechazó el token (${call.status} ${call.description}).`,
      accion:
        'Pida el token vigente a @BotFather (/mybots → su bot → API Token), póngalo en TELEGRAM_BOT_TOKEN y reinicie el servicio.',
    };
  }
  if (call.status === 0) {
    return {
      detalle: `No se pudo contactar a Telegram en ${host} (${call.description}).`,
      accion:
        'Revise la conexión a Internet del servidor, el DNS y que el cortafuegos permita salir por HTTPS (443).',
    };
  }
  return {
    detalle: `Telegram respondió ${call.status}: ${call.description}.`,
    accion: 'Reintente en unos minutos; si sigue, revise https://t.me/BotNews o el estado de Telegram.',
  };
}

async function checkTelegram(
  deps: DiagnosisDeps,
): Promise<{ results: CheckResult[]; telegramDate: Date | null }> {
  const { token, apiRoot, publicUrl } = deps.config.telegram;
  if (!token) {
    return {
      results: [
        absent(
          'telegram_token',
          'Telegram (token)',
          'Sin TELEGRAM_BOT_TOKEN: modo sandbox (Telegram simulado).',
        ),
        absent('telegram_webhook', 'Telegram (webhook)', 'Sin bot configurado.'),
      ],
      telegramDate: null,
    };
  }
  const host = new URL(apiRoot).host;
  const me = await callBotApi(deps, 'getMe');
  const tokenCheck = me.ok
    ? ok('telegram_token', 'Telegram (token)', `Token válido: bot @${String(me.result.username)}.`)
    : {
        id: 'telegram_token',
        nombre: 'Telegram (token)',
        estado: 'fallo' as const,
        ...telegramFailure(me, host),
      };
  const info = await callBotApi(deps, 'getWebhookInfo');
  const name = 'Telegram (webhook)';
  let webhook: CheckResult;
  if (!info.ok) {
    const f = telegramFailure(info, host);
    webhook = fail('telegram_webhook', name, `No se pudo consultar el webhook: ${f.detalle}`, f.accion);
  } else {
    const url = String(info.result.url ?? '');
    const pending = Number(info.result.pending_update_count ?? 0);
    const lastErrorDate = Number(info.result.last_error_date ?? 0);
    const lastError = String(info.result.last_error_message ?? '');
    const expected = publicUrl ? publicUrl + WEBHOOK_ROUTE : '';
    const now = deps.clock.now().getTime();
    const recentError = lastErrorDate > 0 && now - lastErrorDate * 1000 < 24 * 3_600_000;
    if (publicUrl && url !== expected) {
      webhook = fail(
        'telegram_webhook',
        name,
        url
          ? `Telegram entrega en ${url} y debería ser ${expected}.`
          : `Telegram no tiene webhook; debería ser ${expected}.`,
        'Reinicie el servicio (registra el webhook al arrancar con PUBLIC_URL) o use Ajustes → Telegram → Configurar webhook.',
      );
    } else if (!publicUrl && url) {
      webhook = fail(
        'telegram_webhook',
        name,
        `Hay un webhook en ${url}, pero el servicio usa long polling (sin PUBLIC_URL): no recibirá mensajes.`,
        'Defina PUBLIC_URL con su dominio https y reinicie, o borre ese webhook.',
      );
    } else if (url && recentError) {
      const minutes = Math.max(0, Math.round((now - lastErrorDate * 1000) / 60_000));
      webhook = fail(
        'telegram_webhook',
        name,
        `Telegram no pudo entregar hace ${minutes} min: "${lastError}". ${pending} actualizaciones esperando.`,
        `Compruebe que ${expected || 'la URL'} responde por HTTPS desde Internet: DNS del dominio, puertos 80/443 abiertos, Caddy en marcha y el servicio vivo (/ready).`,
      );
    } else if (pending > (deps.maxPendingUpdates ?? 100)) {
      webhook = fail(
        'telegram_webhook',
        name,
        `${pending} actualizaciones esperan ser recibidas.`,
        publicUrl
          ? 'El servicio no está recibiendo: revise que esté en marcha y que /ready responda.'
          : 'El servicio no está consultando a Telegram: revise que esté en marcha.',
      );
    } else {
      webhook = ok(
        'telegram_webhook',
        name,
        url
          ? `Entrega en ${url}; ${pending} actualizaciones esperando; sin errores recientes.`
          : `Long polling (sin PUBLIC_URL); ${pending} actualizaciones esperando.`,
      );
    }
  }
  const telegramDate = me.ok ? me.date : info.ok ? info.date : null;
  return { results: [tokenCheck, webhook], telegramDate };
}

/** Channels this version does not have yet: a "—" line each, never a failure. */
function checkOtherChannels(): CheckResult[] {
  return [
    absent('whatsapp', 'WhatsApp', 'No configurado (canal aún no disponible en esta versión).'),
    absent('correo', 'Correo (SMTP)', 'No configurado (canal aún no disponible en esta versión).'),
    absent('sms', 'SMS', 'No configurado (canal aún no disponible en esta versión).'),
  ];
}

function checkClock(deps: DiagnosisDeps, telegramDate: Date | null): CheckResult {
  const now = deps.clock.now();
  const tz = deps.config.timeZone;
  const local = `${localTime(now, tz)} en ${tz}`;
  if (!telegramDate) {
    return ok('reloj', 'Reloj y zona horaria', `Hora local ${local} (sin referencia externa para comparar).`);
  }
  // An HTTP Date has one-second resolution.
  const skew = Math.round((now.getTime() - telegramDate.getTime()) / 1000);
  if (Math.abs(skew) * 1000 > (deps.maxClockSkewMs ?? 60_000)) {
    return fail(
      'reloj',
      'Reloj y zona horaria',
      `El reloj del servidor está ${Math.abs(skew)} s ${skew > 0 ? 'adelantado' : 'atrasado'} respecto de Telegram (hora local ${local}).`,
      'Active la sincronización de hora: "sudo timedatectl set-ntp true" (o instale chrony).',
    );
  }
  return ok(
    'reloj',
    'Reloj y zona horaria',
    `Hora local ${local}; diferencia con Telegram ${Math.abs(skew)} s.`,
  );
}

async function defaultDiskUsage(dir: string) {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
}

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GB`;

async function checkDisk(deps: DiagnosisDeps): Promise<CheckResult> {
  const dirs = [...new Set([deps.config.dataDir, deps.config.backup.dir])];
  const lines: string[] = [];
  for (const dir of dirs) {
    let usage: { free: number; total: number };
    try {
      usage = await (deps.diskUsage ?? defaultDiskUsage)(existingParent(dir));
    } catch (err) {
      return fail(
        'disco',
        'Espacio en disco',
        `No se pudo medir ${dir}: ${(err as Error).message}`,
        'Revise que la carpeta exista.',
      );
    }
    const pct = usage.total > 0 ? (usage.free / usage.total) * 100 : 0;
    if (usage.free < (deps.minFreeBytes ?? 1024 ** 3) || pct < 5) {
      return fail(
        'disco',
        'Espacio en disco',
        `Quedan ${gib(usage.free)} libres (${pct.toFixed(0)} %) donde está ${dir}.`,
        'Libere espacio (registros viejos: "sudo journalctl --vacuum-size=200M"; respaldos: baje BACKUP_KEEP) o amplíe el disco.',
      );
    }
    lines.push(`${gib(usage.free)} libres (${pct.toFixed(0)} %) en ${dir}`);
  }
  return ok('disco', 'Espacio en disco', lines.join('; ') + '.');
}

/** A backup folder not created yet is measured where it will be. */
function existingParent(dir: string): string {
  let d = path.resolve(dir);
  while (!existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

async function checkBackups(deps: DiagnosisDeps): Promise<CheckResult> {
  const name = 'Respaldos';
  if (!deps.db)
    return fail(
      'respaldo',
      name,
      'Sin base de datos no se puede consultar.',
      'Resuelva primero la base de datos.',
    );
  const daily = deps.config.backup.dailyAt;
  try {
    const s = await backupStatus(deps.db, deps.clock.now());
    const schedule = daily
      ? `diario a las ${daily} en ${deps.config.backup.dir}, se conservan ${deps.config.backup.keep}`
      : 'respaldo diario desactivado (BACKUP_TIME=no)';
    if (s.alerta) {
      return fail(
        'respaldo',
        name,
        `${s.mensaje} (${schedule}).`,
        daily
          ? 'Haga uno ahora con "npx teltec respaldo" y revise el registro del servicio a la hora del respaldo diario.'
          : 'Defina BACKUP_TIME (por ejemplo 02:30) o haga respaldos con "npx teltec respaldo".',
      );
    }
    return ok('respaldo', name, `${s.mensaje} (${schedule}).`);
  } catch (err) {
    return fail(
      'respaldo',
      name,
      `No se pudo consultar: ${(err as Error).message}`,
      'Ejecute "npx teltec migrate".',
    );
  }
}

function checkSendWindow(deps: DiagnosisDeps): CheckResult {
  const { start, end } = deps.config.engine.sendWindow;
  const now = deps.clock.now();
  const local = localTime(now, deps.config.timeZone);
  const open = isInSendWindow(now, deps.config.engine.sendWindow, deps.config.timeZone);
  return ok(
    'ventana_envio',
    'Ventana de envío',
    open
      ? `Abierta ahora (${start}-${end}, son las ${local}): los avisos automáticos salen.`
      : `Cerrada ahora (${start}-${end}, son las ${local}): los avisos automáticos esperan hasta las ${start}.`,
  );
}

export async function runDiagnosis(deps: DiagnosisDeps): Promise<Diagnosis> {
  const database = await checkDatabase(deps);
  const telegram = await checkTelegram(deps);
  const comprobaciones = [
    database,
    ...telegram.results,
    ...checkOtherChannels(),
    checkClock(deps, telegram.telegramDate),
    await checkDisk(deps),
    await checkBackups(deps),
    checkSendWindow(deps),
  ];
  return {
    correcto: comprobaciones.every((c) => c.estado !== 'fallo'),
    fecha: deps.clock.now().toISOString(),
    comprobaciones,
  };
}

const MARK: Record<CheckState, string> = { ok: '✔', fallo: '✖', no_configurado: '—' };

/** The lines `teltec diagnostico` prints. */
export function formatDiagnosis(d: Diagnosis): string[] {
  const lines: string[] = [];
  for (const c of d.comprobaciones) {
    lines.push(`${MARK[c.estado]} ${c.nombre}: ${c.detalle}`);
    if (c.accion) lines.push(`    → ${c.accion}`);
  }
  const failures = d.comprobaciones.filter((c) => c.estado === 'fallo').length;
  lines.push(failures ? `${failures} comprobación(es) con problemas.` : 'Todo en orden.');
  return lines;
}
