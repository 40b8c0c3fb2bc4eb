import type { Queryable } from '../db/index.js';

/**
 * The `backups` table (migration 010): every backup attempt. One home for its SQL; Resumen,
 * diagnostico and staff alerts read `backupStatus`.
 */

export interface BackupRecord {
  kind: 'scheduled' | 'manual';
  status: 'running' | 'ok' | 'failed';
  file: string | null;
  bytes: number | null;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

/** A backup done by hand (CLI or API), recorded once finished. */
export async function recordManualBackup(
  q: Queryable,
  r: {
    status: 'ok' | 'failed';
    file?: string;
    bytes?: number;
    error?: string;
    startedAt: Date;
    finishedAt: Date;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO backups (kind, status, file, bytes, error, started_at, finished_at)
     VALUES ('manual', $1, $2, $3, $4, $5, $6)`,
    [r.status, r.file ?? null, r.bytes ?? null, r.error ?? null, r.startedAt, r.finishedAt],
  );
}

/**
 * Claims a scheduled slot: one instance wins it. A failed slot may be retried after an hour, and
 * a slot left 'running' by a dead process after six hours. Returns the row id, or null.
 */
export async function claimBackupSlot(q: Queryable, slot: Date, now: Date): Promise<number | null> {
  const { rows } = await q.query<{ id: number }>(
    `INSERT INTO backups (kind, slot, status, started_at) VALUES ('scheduled', $1, 'running', $2)
     ON CONFLICT (slot) DO UPDATE SET status = 'running', started_at = $2, finished_at = NULL, error = NULL
      WHERE (backups.status = 'failed' AND backups.finished_at < $2::timestamptz - interval '1 hour')
         OR (backups.status = 'running' AND backups.started_at < $2::timestamptz - interval '6 hours')
     RETURNING id`,
    [slot, now],
  );
  return rows[0]?.id ?? null;
}

export async function finishBackup(
  q: Queryable,
  id: number,
  r: { status: 'ok' | 'failed'; file?: string; bytes?: number; error?: string; finishedAt: Date },
): Promise<void> {
  await q.query(
    `UPDATE backups SET status = $2, file = $3, bytes = $4, error = $5, finished_at = $6 WHERE id = $1`,
    [id, r.status, r.file ?? null, r.bytes ?? null, r.error ?? null, r.finishedAt],
  );
}

/** After a restore: rows 'running' in the copy describe work of a database that no longer runs. */
export async function forgetRunningBackups(q: Queryable): Promise<void> {
  await q.query(`DELETE FROM backups WHERE status = 'running'`);
}

export interface BackupStatus {
  ultimo: {
    fecha: string;
    estado: 'en_curso' | 'correcto' | 'fallido';
    origen: 'programado' | 'manual';
    archivo: string | null;
    bytes: number | null;
    error: string | null;
  } | null;
  ultimo_correcto: { fecha: string; archivo: string | null; bytes: number | null } | null;
  /** 'ok', or what staff should look at: none yet, last one failed, last good one too old. */
  alerta: 'ninguno' | 'fallido' | 'antiguo' | null;
  mensaje: string;
}

const STATE = { running: 'en_curso', ok: 'correcto', failed: 'fallido' } as const;

/** The latest backup and whether it needs attention: failed, or the last good one older than `maxAgeHours`. */
export async function backupStatus(q: Queryable, now: Date, maxAgeHours = 36): Promise<BackupStatus> {
  const { rows } = await q.query<BackupRecord>(
    `(SELECT kind, status, file, bytes, error, started_at, finished_at FROM backups
       ORDER BY started_at DESC, id DESC LIMIT 1)
     UNION ALL
     (SELECT kind, status, file, bytes, error, started_at, finished_at FROM backups
       WHERE status = 'ok' ORDER BY finished_at DESC, id DESC LIMIT 1)`,
  );
  const last = rows[0];
  const good = rows.find((r, i) => i > 0 || r.status === 'ok');
  const ultimo = last
    ? {
        fecha: (last.finished_at ?? last.started_at).toISOString(),
        estado: STATE[last.status],
        origen: last.kind === 'scheduled' ? ('programado' as const) : ('manual' as const),
        archivo: last.file,
        bytes: last.bytes,
        error: last.error,
      }
    : null;
  const ultimo_correcto = good
    ? { fecha: good.finished_at!.toISOString(), archivo: good.file, bytes: good.bytes }
    : null;
  if (!ultimo) {
    return { ultimo, ultimo_correcto, alerta: 'ninguno', mensaje: 'Todavía no se ha hecho ningún respaldo.' };
  }
  if (last!.status === 'failed') {
    return {
      ultimo,
      ultimo_correcto,
      alerta: 'fallido',
      mensaje: `El último respaldo falló: ${last!.error ?? 'sin detalle'}. Revise el espacio en disco y BACKUP_DIR.`,
    };
  }
  const ageHours = good ? (now.getTime() - good.finished_at!.getTime()) / 3_600_000 : Infinity;
  if (ageHours > maxAgeHours) {
    return {
      ultimo,
      ultimo_correcto,
      alerta: good ? 'antiguo' : 'ninguno',
      mensaje: good
        ? `El último respaldo correcto tiene ${Math.floor(ageHours)} horas: revise el respaldo diario (BACKUP_TIME).`
        : 'Todavía no hay un respaldo correcto.',
    };
  }
  return {
    ultimo,
    ultimo_correcto,
    alerta: null,
    mensaje: `Último respaldo correcto hace ${Math.max(0, Math.floor(ageHours))} horas.`,
  };
}
