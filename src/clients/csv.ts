import { parse } from 'csv-parse/sync';
import type { Queryable } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { normalizePhone } from './phone.js';
import type { ClientView } from './repository.js';
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
] as const;

export interface ImportReport {
  creados: number;
  actualizados: number;
  errores: { linea: number; cedula: string | null; motivo: string }[];
}

/**
 * Imports clients from CSV text (UTF-8, header row with the API's field names; `,` or `;`).
 * Valid lines are upserted by cédula in one transaction; each bad line is reported with its
 * line number and reason and changes nothing.
 */
export async function importClientsCsv(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  text: string,
): Promise<ImportReport> {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(body, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
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
  const columns = (header ?? []).map((h) => h.toLowerCase());
  for (const required of ['cedula', 'nombre']) {
    if (!columns.includes(required)) {
      throw new AppError(
        'VALIDACION',
        `Falta la columna "${required}" en la primera línea del CSV. Columnas aceptadas: ${csvColumns.join(', ')}.`,
      );
    }
  }

  return db.transaction(async (tx) => {
    const plans = new Map<string, number>();
    for (const p of (await tx.query<{ id: number; nombre: string }>('SELECT id, nombre FROM plans')).rows) {
      plans.set(p.nombre.toLowerCase(), p.id);
    }
    const report: ImportReport = { creados: 0, actualizados: 0, errores: [] };
    for (const { record, info } of records) {
      const linea = info.lines;
      const parsed = createClientBody.safeParse(record);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        report.errores.push({
          linea,
          cedula: record['cedula'] || null,
          motivo: `${String(issue.path[0] ?? 'fila')}: ${issue.message}`,
        });
        continue;
      }
      const c = parsed.data;
      let planId: number | null = null;
      if (c.plan) {
        planId = plans.get(c.plan.toLowerCase()) ?? null;
        if (planId === null) {
          report.errores.push({ linea, cedula: c.cedula, motivo: `plan: el plan "${c.plan}" no existe` });
          continue;
        }
      } else if (c.plan_id) {
        planId = [...plans.values()].includes(c.plan_id) ? c.plan_id : null;
        if (planId === null) {
          report.errores.push({ linea, cedula: c.cedula, motivo: `plan_id: el plan ${c.plan_id} no existe` });
          continue;
        }
      }
      // Columns absent from the file keep their stored value on update.
      const { rows } = await tx.query<{ inserted: boolean }>(
        `INSERT INTO clients AS c (cedula, nombre, telefono, telefono_norm, email, direccion, sector, plan_id, estado,
                                   fecha_ultimo_pago, dia_pago)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, 'activo'), $10, $11)
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
           updated_at = now()
         RETURNING (xmax = 0) AS inserted`,
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
        ],
      );
      if (rows[0]?.inserted) report.creados++;
      else report.actualizados++;
    }
    return report;
  });
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote when needed; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",;\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const exportColumns = [...csvColumns, 'estado_pago', 'fecha_vencimiento', 'telegram'] as const;

/** One CSV line per client, same columns as the import (plus read-only ones). Re-importable. */
export function toCsvLine(c: ClientView): string {
  const values: Record<(typeof exportColumns)[number], unknown> = {
    cedula: c.cedula,
    nombre: c.nombre,
    telefono: c.telefono,
    email: c.email,
    direccion: c.direccion,
    sector: c.sector,
    plan: c.plan,
    estado: c.estado,
    fecha_ultimo_pago: c.fecha_ultimo_pago,
    dia_pago: c.dia_pago,
    estado_pago: c.estado_pago,
    fecha_vencimiento: c.fecha_vencimiento,
    telegram: c.telegram.vinculado ? 'si' : 'no',
  };
  return exportColumns.map((k) => csvCell(values[k])).join(',');
}
