import { parse } from 'csv-parse/sync';
import {
  analyzeAfterBatch,
  BULK_STATEMENT_TIMEOUT_MS,
  type Queryable,
  type TransactionOptions,
} from '../db/index.js';
import { AppError } from '../errors/index.js';
import { fromCsvCell, toCsvLine } from '../lib/csv-cell.js';
import type { importStates } from '../vocabulary.js';
import { normalizePhone, toWhatsApp } from './phone.js';
import type { ClientFilters, createClientsRepository } from './repository.js';

type ClientsRepository = ReturnType<typeof createClientsRepository>;
type ClientFilterInput = Omit<ClientFilters, 'pagina' | 'por_pagina'>;

import { createClientBody } from './schemas.js';

export const csvColumns = [
  'cedula',
  'nombre',
  'telefono',
  'email',
  'direccion',
  'sector',
  'plan',
  'estado',
  'fecha_ultimo_pago',
  'dia_pago',
  'whatsapp',
] as const;

export interface ImportReport {
  /** The record of this import (`GET /api/clientes/importaciones`). */
  importacion_id: number;
  /** How the file was read: 'utf-8', 'utf-16le' or 'windows-1252' (Excel's "CSV" on Windows). */
  codificacion: CsvEncoding;
  creados: number;
  actualizados: number;
  errores: { linea: number; cedula: string | null; motivo: string }[];
}

export type CsvEncoding = 'utf-8' | 'utf-16le' | 'windows-1252';

/**
 * Bytes of a CSV file to text. UTF-8 (with or without BOM) when the bytes are valid UTF-8,
 * UTF-16 when a UTF-16 BOM says so, and Windows-1252 otherwise: Excel on Windows saves "CSV" in
 * the ANSI code page, where "Ñuñez" is 0xD1 0x75 0xF1… and would turn into "�u�ez" read as UTF-8.
 */
export function decodeCsv(input: string | Uint8Array): { text: string; codificacion: CsvEncoding } {
  if (typeof input === 'string') return { text: input.replace(/^\uFEFF/, ''), codificacion: 'utf-8' };
  if (input[0] === 0xff && input[1] === 0xfe) {
    return { text: new TextDecoder('utf-16le').decode(input.subarray(2)), codificacion: 'utf-16le' };
  }
  try {
    // ignoreBOM: false drops a leading UTF-8 BOM.
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(input), codificacion: 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(input), codificacion: 'windows-1252' };
  }
}

/** Other names staff give the columns (after lower case, no accents, `_` for spaces). */
const headerAliases: Record<string, string> = {
  cedula_de_identidad: 'cedula',
  ci: 'cedula',
  nombres: 'nombre',
  nombre_completo: 'nombre',
  celular: 'telefono',
  correo: 'email',
  correo_electronico: 'email',
  e_mail: 'email',
  fecha_de_ultimo_pago: 'fecha_ultimo_pago',
  ultimo_pago: 'fecha_ultimo_pago',
  dia_de_pago: 'dia_pago',
};

/** "Cédula" → cedula, "Teléfono " → telefono, "Fecha último pago" → fecha_ultimo_pago. */
export function normalizeHeader(h: string): string {
  const key = h
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return headerAliases[key] ?? key;
}

/** Spreadsheet dates: dd/mm/aaaa (also d/m/aaaa, with - or .) → AAAA-MM-DD; others unchanged. */
export function toIsoDate(v: string): string {
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(v.trim());
  return m ? `${m[3]}-${m[2]!.padStart(2, '0')}-${m[1]!.padStart(2, '0')}` : v;
}

/** Every problem of one line, not only the first. */
function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${String(i.path[0] ?? 'fila')}: ${i.message}`).join('; ');
}

/** A stale `en_curso` import older than this was interrupted (the process stopped). */
const INTERRUPTED_AFTER_MS = 15 * 60_000;

export interface ImportOptions {
  actor?: string;
  /** The injected clock (start and end times of the record). */
  clock?: { now(): Date };
  /**
   * Called in the import's transaction for each existing client whose `estado` the file changed
   * (the caller tells the client — suspended, reactivated — through the same door as the staff
   * route: notifications/service-state.ts `applyServiceStateToOutbox`).
   */
  onStateChange?: (tx: Queryable, c: ImportStateChange) => Promise<unknown>;
}

export interface ImportStateChange {
  clientId: number;
  from: string;
  to: string;
  importId: number;
}

/**
 * Imports clients from a CSV file (header row with the API's field names, accents and capitals
 * welcome; `,` or `;`; UTF-8 or Windows-1252; dates AAAA-MM-DD or dd/mm/aaaa). Valid lines are
 * upserted by cédula in one transaction; each bad line is reported with its line number and every
 * reason, and changes nothing. The import is recorded (`client_imports`) before the work starts,
 * in its own transaction, and closed as `terminada` or `fallida` with the reason.
 */
export async function importClientsCsv(
  db: Queryable & { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  input: string | Uint8Array,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const clock = opts.clock ?? { now: () => new Date() };
  const now = clock.now();
  const { text: body, codificacion } = decodeCsv(input);
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  const started = await db.query<{ id: number }>(
    `INSERT INTO client_imports (actor, codificacion, bytes, iniciada_en) VALUES ($1, $2, $3, $4) RETURNING id`,
    [opts.actor ?? 'sistema', codificacion, size, now],
  );
  const importId = started.rows[0]!.id;
  try {
    const report = await runImport(db, body, importId, codificacion, opts.onStateChange);
    await db.query(
      `UPDATE client_imports SET estado = 'terminada', lineas = $2, creados = $3, actualizados = $4, errores = $5,
              terminada_en = $6 WHERE id = $1`,
      [
        importId,
        report.creados + report.actualizados + report.errores.length,
        report.creados,
        report.actualizados,
        report.errores.length,
        clock.now(),
      ],
    );
    return report;
  } catch (err) {
    const motivo =
      err instanceof AppError ? err.message : 'error interno (detalle en el registro del servidor)';
    await db
      .query(`UPDATE client_imports SET estado = 'fallida', motivo = $2, terminada_en = $3 WHERE id = $1`, [
        importId,
        motivo,
        clock.now(),
      ])
      .catch(() => {});
    throw err;
  }
}

export interface ImportRecord {
  id: number;
  estado: (typeof importStates.values)[number];
  actor: string | null;
  codificacion: string | null;
  bytes: number;
  lineas: number | null;
  creados: number | null;
  actualizados: number | null;
  errores: number | null;
  motivo: string | null;
  iniciada_en: string;
  terminada_en: string | null;
}

/**
 * The latest imports, newest first. An import still `en_curso` long after it started was
 * interrupted (the service stopped or was killed: its transaction rolled back, nothing applied):
 * it is closed here as `fallida` with that reason.
 */
export async function listImports(db: Queryable, now: Date, limit = 50): Promise<ImportRecord[]> {
  await db.query(
    `UPDATE client_imports
        SET estado = 'fallida', terminada_en = $1,
            motivo = 'interrumpida: el servicio se detuvo antes de terminar; no se aplicó ningún cambio'
      WHERE estado = 'en_curso' AND iniciada_en < $1::timestamptz - make_interval(secs => $2)`,
    [now, INTERRUPTED_AFTER_MS / 1000],
  );
  const { rows } = await db.query<
    Omit<ImportRecord, 'iniciada_en' | 'terminada_en'> & { iniciada_en: Date; terminada_en: Date | null }
  >(
    `SELECT id, estado, actor, codificacion, bytes, lineas, creados, actualizados, errores, motivo,
            iniciada_en, terminada_en
       FROM client_imports ORDER BY iniciada_en DESC, id DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    ...r,
    iniciada_en: r.iniciada_en.toISOString(),
    terminada_en: r.terminada_en?.toISOString() ?? null,
  }));
}

async function runImport(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: TransactionOptions): Promise<T> },
  body: string,
  importId: number,
  codificacion: CsvEncoding,
  onStateChange?: ImportOptions['onStateChange'],
): Promise<ImportReport> {
  const firstLine = body.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(body, {
      columns: (header: string[]) => header.map(normalizeHeader),
      // A cell our export guarded against formulas ('+593…) reads back as it was.
      cast: (value: string) => fromCsvCell(value),
      delimiter,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      info: true,
    });
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new AppError(
      'VALIDACION',
      `El CSV no se pudo leer (línea ${e.lines ?? '?'}): revise comillas y separadores.`,
    );
  }
  const header = parse(firstLine, { delimiter, trim: true })[0] as string[] | undefined;
  const columns = (header ?? []).map(normalizeHeader);
  for (const required of ['cedula', 'nombre']) {
    if (!columns.includes(required)) {
      throw new AppError(
        'VALIDACION',
        `Falta la columna "${required}" en la primera línea del CSV. Columnas aceptadas: ${csvColumns.join(', ')}.`,
      );
    }
  }

  return bulk(db, async (tx) => {
    const plans = new Map<string, number>();
    for (const p of (await tx.query<{ id: number; nombre: string }>('SELECT id, nombre FROM plans')).rows) {
      plans.set(p.nombre.toLowerCase(), p.id);
    }
    const report: ImportReport = {
      importacion_id: importId,
      codificacion,
      creados: 0,
      actualizados: 0,
      errores: [],
    };
    for (const { record, info } of records) {
      const linea = info.lines;
      const withNul = Object.entries(record).filter(([, v]) => typeof v === 'string' && v.includes('\0'));
      if (withNul.length > 0) {
        report.errores.push({
          linea,
          cedula: record['cedula']?.replace(/\0/g, '') || null,
          motivo: withNul.map(([k]) => `${k}: contiene un carácter nulo (\\0)`).join('; '),
        });
        continue;
      }
      if (record['fecha_ultimo_pago']) record['fecha_ultimo_pago'] = toIsoDate(record['fecha_ultimo_pago']);
      const parsed = createClientBody.safeParse(record);
      const problems = parsed.success ? [] : [describeIssues(parsed.error.issues)];
      // The plan is checked even when other fields are wrong: every problem of the line at once.
      let planId: number | null = null;
      const planName = record['plan']?.trim();
      const planIdText = record['plan_id']?.trim();
      if (planName) {
        planId = plans.get(planName.toLowerCase()) ?? null;
        if (planId === null) problems.push(`plan: el plan "${planName}" no existe`);
      } else if (planIdText && /^\d+$/.test(planIdText)) {
        planId = [...plans.values()].includes(Number(planIdText)) ? Number(planIdText) : null;
        if (planId === null) problems.push(`plan_id: el plan ${planIdText} no existe`);
      }
      if (!parsed.success || problems.length > 0) {
        report.errores.push({ linea, cedula: record['cedula'] || null, motivo: problems.join('; ') });
        continue;
      }
      const c = parsed.data;
      // Columns absent from the file keep their stored value on update.
      // `prev` reads the row as this statement's snapshot saw it, before the upsert (which locks
      // it; a FOR UPDATE here would skip the row the same statement updates): a state the file
      // changes is told to the client.
      const { rows } = await tx.query<{
        id: number;
        estado: string;
        antes: string | null;
        inserted: boolean;
      }>(
        `WITH prev AS (SELECT estado FROM clients WHERE cedula = $1), up AS (
         INSERT INTO clients AS c (cedula, nombre, telefono, telefono_norm, email, direccion, sector, plan_id, estado,
                                   fecha_ultimo_pago, dia_pago, whatsapp)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, 'activo'), $10, $11, $19)
         ON CONFLICT (cedula) DO UPDATE SET
           nombre = EXCLUDED.nombre,
           telefono = CASE WHEN $12 THEN EXCLUDED.telefono ELSE c.telefono END,
           telefono_norm = CASE WHEN $12 THEN EXCLUDED.telefono_norm ELSE c.telefono_norm END,
           email = CASE WHEN $13 THEN EXCLUDED.email ELSE c.email END,
           direccion = CASE WHEN $14 THEN EXCLUDED.direccion ELSE c.direccion END,
           sector = CASE WHEN $15 THEN EXCLUDED.sector ELSE c.sector END,
           plan_id = CASE WHEN $16 THEN EXCLUDED.plan_id ELSE c.plan_id END,
           estado = CASE WHEN $9::text IS NOT NULL THEN EXCLUDED.estado ELSE c.estado END,
           fecha_ultimo_pago = CASE WHEN $17 THEN EXCLUDED.fecha_ultimo_pago ELSE c.fecha_ultimo_pago END,
           dia_pago = CASE WHEN $18 THEN EXCLUDED.dia_pago ELSE c.dia_pago END,
           whatsapp = CASE WHEN $20 THEN EXCLUDED.whatsapp ELSE c.whatsapp END,
           updated_at = now()
         RETURNING c.id, c.estado, (xmax = 0) AS inserted)
         SELECT up.id, up.estado, up.inserted, (SELECT estado FROM prev) AS antes FROM up`,
        [
          c.cedula,
          c.nombre,
          c.telefono ?? null,
          c.telefono ? normalizePhone(c.telefono) : null,
          c.email ?? null,
          c.direccion ?? null,
          c.sector ?? null,
          planId,
          c.estado ?? null,
          c.fecha_ultimo_pago ?? null,
          c.dia_pago ?? null,
          columns.includes('telefono'),
          columns.includes('email'),
          columns.includes('direccion'),
          columns.includes('sector'),
          columns.includes('plan') || columns.includes('plan_id'),
          columns.includes('fecha_ultimo_pago'),
          columns.includes('dia_pago'),
          // Without a whatsapp column a new client's mobile is their WhatsApp (issue 10 §7).
          c.whatsapp !== undefined ? c.whatsapp : c.telefono ? toWhatsApp(c.telefono) : null,
          columns.includes('whatsapp'),
        ],
      );
      const row = rows[0];
      if (row?.inserted) report.creados++;
      else report.actualizados++;
      if (row && !row.inserted && row.antes !== null && row.antes !== row.estado && onStateChange) {
        await onStateChange(tx, { clientId: row.id, from: row.antes, to: row.estado, importId });
      }
    }
    // A file of a whole client base: the day's generation and the lists plan for its size at once.
    await analyzeAfterBatch(tx, 'clients', report.creados + report.actualizados);
    return report;
  });
}

export const exportColumns = [...csvColumns, 'estado_pago', 'fecha_vencimiento', 'telegram'] as const;

type ExportColumn = (typeof exportColumns)[number];

/**
 * Each exported column as SQL over `c` (clients), `p` (plans) and `d.due` (the due date, computed
 * once per row by the walk); $1 today, $2 cycle days, $3 reminder days. Only these are read — no
 * view object per client — so 100k clients stream fast. Dates are formatted here: the walk hands
 * values over as JSON.
 */
const exportSql: Record<ExportColumn, string> = {
  cedula: 'c.cedula',
  nombre: 'c.nombre',
  telefono: 'c.telefono',
  email: 'c.email',
  direccion: 'c.direccion',
  sector: 'c.sector',
  plan: 'p.nombre',
  estado: 'c.estado',
  fecha_ultimo_pago: "to_char(c.fecha_ultimo_pago, 'YYYY-MM-DD')",
  dia_pago: 'c.dia_pago',
  whatsapp: 'c.whatsapp',
  estado_pago: 'teltec_payment_state(d.due, $1::date, $3)',
  fecha_vencimiento: "to_char(d.due, 'YYYY-MM-DD')",
  telegram: "CASE WHEN c.chat_id IS NULL THEN 'no' ELSE 'si' END",
};

/**
 * The clients CSV (same columns as the import, plus read-only ones; re-importable), as chunks of
 * text: the header, then one chunk per page of clients in name order.
 */
export async function* clientsCsv(
  repo: Pick<ClientsRepository, 'walkValues'>,
  filters: ClientFilterInput,
  pageSize: number,
): AsyncGenerator<string> {
  yield '\uFEFF' + exportColumns.join(',') + '\r\n';
  const columns = exportColumns.map((k) => exportSql[k]);
  for await (const rows of repo.walkValues(filters, columns, pageSize)) {
    yield rows.map((values) => toCsvLine(values)).join('\r\n') + '\r\n';
  }
}

/** An import may be large: it gets the bulk statement limit, not a request's. */
function bulk<T>(
  db: { transaction<U>(fn: (tx: Queryable) => Promise<U>, opts?: TransactionOptions): Promise<U> },
  fn: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return db.transaction(fn, { timeoutMs: BULK_STATEMENT_TIMEOUT_MS });
}
