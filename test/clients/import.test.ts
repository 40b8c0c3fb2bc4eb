import { afterAll, beforeAll, expect, it } from 'vitest';
import { importClientsCsv, listImports } from '../../src/clients/index.js';
import { createManualClock } from '../../src/clock.js';
import { ANALYZE_AFTER_ROWS, type Db, type Queryable } from '../../src/db/index.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

/** A file as Excel on Windows saves it: Windows-1252 bytes, `;`, accented headers. */
function windows1252(text: string): Buffer {
  // Every character used here is in Latin-1, where Windows-1252 agrees.
  return Buffer.from(text, 'latin1');
}

describeEachDb('CSV import from Excel and its record (issue 9, issue 12 §4 and §11)', (ctx) => {
  let app: App;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, { now: '2026-03-10T15:00:00Z' }));
    await ctx.db.query(`INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25)`);
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (payload: string | Buffer) =>
    app.inject({
      method: 'POST',
      url: '/api/clientes/importar',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload,
    });

  it('a Windows-1252 file with accented headers and dd/mm/aaaa dates is read as written', async () => {
    const csv = windows1252(
      `Cédula;Nombre;Teléfono;Sector;Fecha último pago\r\n${cedulaFor(1)};Pedro Ñuñez Peña;0987654321;Cumbayá;05/02/2026\r\n`,
    );
    const res = await post(csv);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ creados: 1, errores: [], codificacion: 'windows-1252' });
    const { rows } = await ctx.db.query<{
      nombre: string;
      sector: string;
      fecha_ultimo_pago: string;
      telefono: string;
    }>('SELECT nombre, sector, fecha_ultimo_pago, telefono FROM clients WHERE cedula = $1', [cedulaFor(1)]);
    expect(rows[0]).toEqual({
      nombre: 'Pedro Ñuñez Peña',
      sector: 'Cumbayá',
      fecha_ultimo_pago: '2026-02-05',
      telefono: '0987654321',
    });
    // UTF-8 (with Excel's BOM) still reads as UTF-8.
    const utf8 = await post(
      Buffer.from(`\uFEFFcedula,nombre,sector\n${cedulaFor(2)},José Ñacato,Cumbayá\n`, 'utf8'),
    );
    expect(utf8.json()).toMatchObject({ creados: 1, codificacion: 'utf-8' });
    const sectors = await ctx.db.query<{ sector: string }>('SELECT DISTINCT sector FROM clients ORDER BY 1');
    expect(sectors.rows.map((r) => r.sector)).toEqual(['Cumbayá']);
  });

  it('reports every problem of a line, not only the first', async () => {
    const res = await post(`cedula,nombre,telefono,dia_pago,plan\n1714307104,A,12,31,Plan X\n`);
    const [line] = res.json().errores;
    expect(line.linea).toBe(2);
    for (const field of ['cedula', 'nombre', 'telefono', 'dia_pago', 'plan']) {
      expect(line.motivo).toContain(`${field}:`);
    }
  });

  it('a NUL character at line 5,000 is reported with its line; the other lines are imported', async () => {
    const lines = ['cedula,nombre'];
    for (let i = 0; i < 5_099; i++) {
      const n = 10_000 + i;
      lines.push(`${cedulaFor(n)},Cliente ${i === 4_998 ? 'Nu\u0000lo' : n}`);
    }
    const res = await post(lines.join('\n'));
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.creados).toBe(5_098);
    expect(body.errores).toEqual([
      { linea: 5_000, cedula: cedulaFor(14_998), motivo: expect.stringContaining('carácter nulo') },
    ]);
    // 5,100 lines: generous time for a busy shared machine.
  }, 180_000);

  it('every import is listed: finished with its counts, failed with its reason', async () => {
    const bad = await post('nombre\nAlguien\n');
    expect(bad.statusCode).toBe(422);
    const res = await app.inject({ url: '/api/clientes/importaciones', headers: auth });
    expect(res.statusCode).toBe(200);
    const [last, previous] = res.json().importaciones;
    expect(last).toMatchObject({
      estado: 'fallida',
      actor: 'admin',
      motivo: expect.stringContaining('cedula'),
    });
    expect(previous).toMatchObject({ estado: 'terminada', creados: 5_098, errores: 1 });
    expect(last.terminada_en).not.toBeNull();
  });

  it('an import killed half-way leaves a trace written before the work started', async () => {
    const clock = createManualClock('2026-03-10T15:00:00Z');
    // The work transaction never ends, as when the process is killed in the middle of it.
    let started!: () => void;
    const inWork = new Promise<void>((r) => (started = r));
    const killed: Queryable & { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> } = {
      query: (text, params) => ctx.db.query(text, params),
      exec: (sql) => ctx.db.exec(sql),
      transaction: () => {
        started();
        return new Promise(() => {});
      },
    };
    void importClientsCsv(killed, `cedula,nombre\n${cedulaFor(3)},Nunca Llega\n`, { actor: 'ana', clock });
    await inWork;
    // Another connection sees the record at once.
    const seen = await listImports(ctx.db as Db, clock.now());
    expect(seen[0]).toMatchObject({ actor: 'ana', estado: 'en_curso', terminada_en: null });
    // Long after, it is shown as failed, with why.
    clock.advance(16 * 60_000);
    const later = await listImports(ctx.db as Db, clock.now());
    expect(later[0]).toMatchObject({
      actor: 'ana',
      estado: 'fallida',
      motivo: expect.stringContaining('interrumpida'),
    });
  });

  it('a client the file suspends or reactivates is told once, as by the staff route (issue 13 §6)', async () => {
    const cedula = cedulaFor(900);
    const fresh = cedulaFor(901);
    expect((await post(`cedula;nombre\r\n${cedula};Lucía Andrade\r\n`)).json()).toMatchObject({ creados: 1 });
    // Reachable on Telegram (a verified chat), as the notices need.
    await ctx.db.query(
      `UPDATE clients SET chat_id = 9000901, link_verified = true, fecha_ultimo_pago = '2026-02-01' WHERE cedula = $1`,
      [cedula],
    );
    const notices = async () =>
      (
        await ctx.db.query<{ tipo: string; estado: string }>(
          `SELECT n.tipo, n.estado FROM notifications n JOIN clients c ON c.id = n.client_id
            WHERE c.cedula = $1 AND n.tipo IN ('servicio_suspendido', 'servicio_reactivado') ORDER BY n.id`,
          [cedula],
        )
      ).rows;
    const suspend = `cedula;nombre;estado\r\n${cedula};Lucía Andrade;suspendido\r\n${fresh};Nuevo Suspendido;suspendido\r\n`;
    expect((await post(suspend)).json()).toMatchObject({ errores: [] });
    expect(await notices()).toEqual([{ tipo: 'servicio_suspendido', estado: 'pendiente' }]);
    // The same file again changes no state: nothing new. A client the file creates is not told.
    await post(suspend);
    expect(await notices()).toHaveLength(1);
    const created = await ctx.db.query(
      `SELECT 1 FROM notifications n JOIN clients c ON c.id = n.client_id WHERE c.cedula = $1`,
      [fresh],
    );
    expect(created.rows).toHaveLength(0);
    // A file without the estado column keeps the state.
    await post(`cedula;nombre\r\n${cedula};Lucía Andrade P.\r\n`);
    expect(await notices()).toHaveLength(1);
    // Back to activo: reactivated, and the pending suspension notice is cancelled (the route's door).
    await post(`cedula;nombre;estado\r\n${cedula};Lucía Andrade;activo\r\n`);
    expect(await notices()).toEqual([
      { tipo: 'servicio_suspendido', estado: 'cancelado' },
      { tipo: 'servicio_reactivado', estado: 'pendiente' },
    ]);
  });

  // Issue 16 §3: a file of a whole client base refreshes the planner's statistics of clients in
  // its own transaction (PGlite has no autovacuum; a server's comes a minute or more later).
  it('an import of as many clients as the threshold: the planner knows them when it commits', async () => {
    const plannerRows = async () =>
      Number(
        (
          await ctx.db.query<{ n: number }>(
            `SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'clients'::regclass`,
          )
        ).rows[0]!.n,
      );
    const lines = ['cedula,nombre'];
    for (let i = 0; i < ANALYZE_AFTER_ROWS; i++) lines.push(`${cedulaFor(50_000 + i)},Cliente ${i}`);
    const before = await plannerRows();
    const res = await post(lines.join('\n'));
    expect(res.json()).toMatchObject({ creados: ANALYZE_AFTER_ROWS, errores: [] });
    const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
    expect(before).toBeLessThan(rows[0]!.n - ANALYZE_AFTER_ROWS / 2);
    expect(await plannerRows()).toBeGreaterThanOrEqual(rows[0]!.n * 0.9);
    // 10,000 lines: generous time for a busy shared machine.
  }, 240_000);
});
