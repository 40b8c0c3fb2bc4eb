/**
 * One CSV cell as a spreadsheet must read it: quoted when it holds a separator, a quote or a line
 * break, and never evaluated. A cell a spreadsheet would take for a formula — leading `=`, `+`,
 * `-`, `@`, tab or carriage return (OWASP "CSV injection") — is prefixed with `'`, unless the
 * whole cell is a plain number ("-12.5" is harmless; "-2+3+cmd|' /C calc'!A0" is not).
 * Every CSV the service writes goes through here; `fromCsvCell` undoes the prefix on import.
 */
export function toCsvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",;\r\n\t]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The value of a cell written by `toCsvCell` (drops the formula guard). */
export function fromCsvCell(s: string): string {
  return /^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s;
}

/** One CSV line (no line break). */
export function toCsvLine(values: readonly unknown[]): string {
  return values.map(toCsvCell).join(',');
}
