import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db, Queryable } from '../db/index.js';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logger.js';
import { createCalendar, isTimeInWindow } from '../notifications/index.js';
import type { TelegramSender } from '../telegram/send.js';
import { clearAlert, listStaffChats, queueStaffNotice, raiseAlert } from './store.js';

/**
 * The alert monitor: every minute it looks at what can go wrong without anybody noticing
 * (token refused, webhook failing or piling up, failure rate, a stuck queue, disk space), raises or
 * clears those incidents through the one door (`raiseAlert`/`clearAlert`), and delivers what is
 * to be said to the staff chats. Alerts raised elsewhere (backups, the cédula budget) are
 * delivered the same way. E-mail alerts are not here yet (no SMTP client in the project).
 */

/** The thresholds (`Config['alerts']`, documented there) and what the monitor needs besides. */
export type AlertSettings = Config['alerts'] & {
  sendWindow: { start: string; end: string };
  timeZone: string;
  dataDir: string;
};

export interface WebhookInfoLike {
  url?: string;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
}

export interface AlertProbes {
  /** The dispatcher says Telegram refuses the token (401). */
  tokenInvalid?: () => boolean;
  /** getWebhookInfo, in webhook mode only. */
  webhookInfo?: () => Promise<WebhookInfoLike>;
  /** The bot's cédula lookups refused in the last hour by the hourly budget (issue 12 §1). */
  cedulaLookups?: () => Promise<{ rechazadas: number; presupuesto: number }>;
  /** Free and total bytes of DATA_DIR's file system (default: statfs). */
  disk?: () => Promise<{ free: number; total: number }>;
}

export type SendOutcome = 'sent' | 'failed' | 'retry';

export interface AlertMonitorDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  settings: AlertSettings;
  /** Staff messages go out through it; without it they stay stored (and listed). */
  sender?: TelegramSender;
  probes?: AlertProbes;
  /** How often `run` looks (default 60 s). */
  everyMs?: number;
}

export interface AlertMonitor {
  /** An outcome of a send attempt of the dispatcher (counted for the failure rate). */
  observe(outcome: SendOutcome): void;
  /** Runs every check once and delivers what waits. Never throws. */
  runOnce(): Promise<{ activas: string[]; entregados: number }>;
  run(signal: AbortSignal): Promise<void>;
}

const WINDOW_MS = 15 * 60_000;

export function createAlertMonitor(deps: AlertMonitorDeps): AlertMonitor {
  const { db, clock, settings: s } = deps;
  const log = deps.logger.child({ componente: 'alertas' });
  const calendar = createCalendar(s.timeZone);
  /** [time ms, failed?] of recent attempts. */
  const attempts: [number, boolean][] = [];

  async function check(
    clave: string,
    nivel: number,
    alert: () => { titulo: string; detalle: string },
  ): Promise<void> {
    const now = clock.now();
    if (nivel > 0) {
      const outcome = await raiseAlert(db, { clave, nivel, ...alert() }, now);
      if (outcome !== 'sin_cambio')
        log.warn({ clave, nivel, outcome }, `alerta para el personal: ${alert().titulo}`);
    } else if (await clearAlert(db, clave, now)) {
      log.info({ clave }, 'alerta resuelta');
    }
  }

  async function failureRate(): Promise<void> {
    const now = clock.now().getTime();
    while (attempts.length && attempts[0]![0] < now - WINDOW_MS) attempts.shift();
    const total = attempts.length;
    const failed = attempts.filter((a) => a[1]).length;
    const rate = total ? failed / total : 0;
    const nivel =
      total < s.minAttempts || rate < s.failureRate ? 0 : rate >= Math.min(1, s.failureRate * 2) ? 2 : 1;
    await check('tasa_de_fallos', nivel, () => ({
      titulo: `${Math.round(rate * 100)} % de los envíos fallan (últimos 15 minutos)`,
      detalle: `${failed} de ${total} intentos fallaron. Revise Notificaciones → fallidas y el estado de Telegram.`,
    }));
  }

  async function stuckQueue(q: Queryable): Promise<void> {
    const now = clock.now();
    let nivel = 0;
    let minutes = 0;
    if (isTimeInWindow(calendar.time(now), s.sendWindow)) {
      const { rows } = await q.query<{ oldest: Date | null }>(
        `SELECT min(proximo_intento) AS oldest FROM notifications
          WHERE estado = 'pendiente' AND proximo_intento <= $1`,
        [now],
      );
      const oldest = rows[0]?.oldest;
      if (oldest) {
        // Waiting counts from when the window opened today, not from the night before.
        const opened = zonedToday(now, s.sendWindow.start, s.timeZone);
        const since = Math.max(new Date(oldest).getTime(), opened.getTime());
        minutes = Math.floor((now.getTime() - since) / 60_000);
        nivel = minutes > s.stuckMinutes * 4 ? 2 : minutes > s.stuckMinutes ? 1 : 0;
      }
    }
    await check('cola_atascada', nivel, () => ({
      titulo: `La cola de notificaciones no avanza: hay avisos esperando ${minutes} minutos`,
      detalle:
        'El despachador no está enviando dentro del horario de envío. Revise /ready, el registro del ' +
        'servicio y Resumen (estado del despachador).',
    }));
  }

  async function token(): Promise<void> {
    if (!deps.probes?.tokenInvalid) return;
    await check('token_invalido', deps.probes.tokenInvalid() ? 1 : 0, () => ({
      titulo: 'Telegram rechaza el token del bot (401): no sale ningún mensaje',
      detalle: 'Revise TELEGRAM_BOT_TOKEN (¿se revocó en @BotFather?) y reinicie el servicio.',
    }));
  }

  async function webhook(): Promise<void> {
    if (!deps.probes?.webhookInfo) return;
    const info = await deps.probes.webhookInfo();
    const now = clock.now().getTime();
    const recentError = info.last_error_date !== undefined && now - info.last_error_date * 1000 < WINDOW_MS;
    await check('webhook_fallando', recentError ? 1 : 0, () => ({
      titulo: 'Telegram no logra entregar al webhook',
      detalle: `Último error: ${info.last_error_message ?? 'desconocido'}. Revise PUBLIC_URL, el proxy HTTPS y el certificado.`,
    }));
    const pending = info.pending_update_count;
    const nivel = pending > s.pendingUpdates * 10 ? 2 : pending > s.pendingUpdates ? 1 : 0;
    await check('webhook_pendientes', nivel, () => ({
      titulo: `${pending} mensajes de clientes esperan en Telegram sin entregarse`,
      detalle:
        'El servicio no recibe o no procesa las actualizaciones a tiempo. Revise el webhook y la carga.',
    }));
  }

  async function cedulaBudget(): Promise<void> {
    if (!deps.probes?.cedulaLookups) return;
    const { rechazadas, presupuesto } = await deps.probes.cedulaLookups();
    const nivel = rechazadas > presupuesto ? 2 : rechazadas > 0 ? 1 : 0;
    await check('presupuesto_cedulas', nivel, () => ({
      titulo: `Se agotó el presupuesto de consultas de cédula del bot (${presupuesto} por hora)`,
      detalle:
        `${rechazadas} consultas rechazadas en la última hora: posible enumeración de cédulas. ` +
        'Revise el registro (chats y usuarios de Telegram) y, si son clientes reales, suba CEDULA_LOOKUPS_PER_HOUR.',
    }));
  }

  async function disk(): Promise<void> {
    const probe =
      deps.probes?.disk ??
      (async () => {
        // DATA_DIR may not exist on PostgreSQL without files of its own: then its parent's disk.
        const st = await statfs(s.dataDir).catch(() => statfs(path.dirname(s.dataDir)));
        return { free: st.bavail * st.bsize, total: st.blocks * st.bsize };
      });
    const { free, total } = await probe();
    const ratio = total > 0 ? free / total : 1;
    const nivel = ratio < s.diskFreeRatio / 3 ? 2 : ratio < s.diskFreeRatio ? 1 : 0;
    await check('disco_casi_lleno', nivel, () => ({
      titulo: `El disco de los datos está casi lleno: queda ${Math.round(ratio * 1000) / 10} % libre`,
      detalle: `Libere espacio en el disco de ${s.dataDir} (respaldos viejos, registros) antes de que la base deje de escribir.`,
    }));
  }

  /** Sends what waits in staff_messages to every staff chat. */
  async function deliver(): Promise<number> {
    const { rows } = await db.query<{ id: number; texto: string; intentos: number }>(
      'SELECT id, texto, intentos FROM staff_messages WHERE enviado_en IS NULL ORDER BY id LIMIT 20',
    );
    if (!rows.length) return 0;
    const chats = await listStaffChats(db);
    let delivered = 0;
    for (const m of rows) {
      const now = clock.now();
      if (!chats.length || !deps.sender) {
        // Nobody to tell (yet): kept in the list, not sent later as a surprise backlog.
        await db.query(`UPDATE staff_messages SET enviado_en = $2, ultimo_error = $3 WHERE id = $1`, [
          m.id,
          now,
          !deps.sender ? 'sin_bot' : 'sin_chats_del_personal',
        ]);
        continue;
      }
      let ok = 0;
      let error = '';
      for (const c of chats) {
        const r = await deps.sender.sendMessage(c.chat_id, m.texto, { html: false });
        if (r.ok) ok++;
        else
          error = r.failure.kind === 'api' ? `${r.failure.code} ${r.failure.description}` : r.failure.message;
      }
      const done = ok > 0 || m.intentos + 1 >= 5;
      await db.query(
        `UPDATE staff_messages SET intentos = intentos + 1, ultimo_error = $3,
                enviado_en = CASE WHEN $4::boolean THEN $2::timestamptz END WHERE id = $1`,
        [m.id, now, error || null, done],
      );
      if (ok > 0) delivered++;
      else log.warn({ error }, 'no se pudo avisar al personal por Telegram; se reintentará');
    }
    return delivered;
  }

  async function guarded(name: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      log.warn({ err, check: name }, 'no se pudo revisar una condición de alerta');
    }
  }

  async function runOnce() {
    await guarded('token', token);
    await guarded('webhook', webhook);
    await guarded('fallos', failureRate);
    await guarded('cola', () => stuckQueue(db));
    await guarded('disco', disk);
    await guarded('cedulas', cedulaBudget);
    let entregados = 0;
    await guarded('entrega', async () => {
      entregados = await deliver();
    });
    let activas: string[] = [];
    await guarded('lista', async () => {
      const { rows } = await db.query<{ clave: string }>(
        `SELECT clave FROM staff_alerts WHERE estado = 'activa' ORDER BY clave`,
      );
      activas = rows.map((r) => r.clave);
    });
    return { activas, entregados };
  }

  return {
    observe(outcome) {
      attempts.push([clock.now().getTime(), outcome !== 'sent']);
      if (attempts.length > 100_000) attempts.splice(0, attempts.length - 100_000);
    },
    runOnce,
    async run(signal) {
      while (!signal.aborted) {
        await runOnce();
        await sleep(deps.everyMs ?? 60_000, signal).catch(() => {});
      }
    },
  };
}

/** Today's `hhmm` in `timeZone`, as an instant. */
function zonedToday(now: Date, hhmm: string, timeZone: string): Date {
  const cal = createCalendar(timeZone);
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  // The local wall time of `now`, then step back to hh:mm of the same local day.
  const [nh, nm] = cal.time(now).split(':').map(Number) as [number, number];
  const deltaMin = nh * 60 + nm - (h * 60 + m);
  const t = now.getTime() - deltaMin * 60_000;
  return new Date(t - (t % 60_000));
}

/** The daily digest for staff (a scheduled job: once per day across instances). */
export function digestJob(settings: Pick<AlertSettings, 'digestAt' | 'timeZone'>) {
  return {
    name: 'resumen_diario_personal',
    dailyAt: settings.digestAt,
    async run(tx: Queryable, ctx: { slot: Date; now: Date }) {
      const texto = await buildDigest(tx, ctx.now, settings.timeZone);
      await queueStaffNotice(tx, texto, ctx.now);
      return { caracteres: texto.length };
    },
  };
}

/** Yesterday's figures (local day) and what needs a person today. */
export async function buildDigest(q: Queryable, now: Date, timeZone: string): Promise<string> {
  const { rows } = await q.query<{
    ayer: string;
    enviados: number;
    fallidos: number;
    vinculos: number;
    pendientes: number;
    sin_alcance: number;
    alertas: number;
  }>(
    `WITH d AS (SELECT ((($1::timestamptz) AT TIME ZONE $2)::date - 1) AS ayer),
          r AS (SELECT (d.ayer::timestamp AT TIME ZONE $2) AS desde,
                       ((d.ayer + 1)::timestamp AT TIME ZONE $2) AS hasta, d.ayer FROM d)
     SELECT to_char(r.ayer, 'DD/MM/YYYY') AS ayer,
            (SELECT count(*)::int FROM notifications n
              WHERE n.estado IN ('enviado', 'entregado', 'leido') AND n.sent_at >= r.desde AND n.sent_at < r.hasta) AS enviados,
            (SELECT count(*)::int FROM notifications n
              WHERE n.estado = 'fallido' AND n.updated_at >= r.desde AND n.updated_at < r.hasta) AS fallidos,
            (SELECT count(*)::int FROM clients c
              WHERE c.linked_at >= r.desde AND c.linked_at < r.hasta) AS vinculos,
            (SELECT count(*)::int FROM notifications n WHERE n.estado = 'pendiente') AS pendientes,
            (SELECT count(*)::int FROM clients c WHERE c.estado = 'activo'
               AND (c.chat_id IS NULL OR c.telegram_blocked OR c.telegram_unreachable IS NOT NULL)) AS sin_alcance,
            (SELECT count(*)::int FROM staff_alerts a WHERE a.estado = 'activa') AS alertas
       FROM r`,
    [now, timeZone],
  );
  const r = rows[0]!;
  return [
    `📋 Resumen del ${r.ayer}`,
    `Telegram: ${r.enviados} enviados, ${r.fallidos} fallidos.`,
    `Nuevos vínculos: ${r.vinculos}.`,
    `En cola ahora: ${r.pendientes}.`,
    `Clientes activos a los que no llega ningún aviso (sin Telegram o bloqueado): ${r.sin_alcance}.`,
    r.alertas ? `Alertas abiertas: ${r.alertas} (vea Ajustes → Alertas).` : 'Sin alertas abiertas.',
  ].join('\n');
}
