import { beforeAll, expect, it } from 'vitest';
import { createClientsRepository } from '../../src/clients/index.js';
import type { ClientFilters } from '../../src/clients/repository.js';
import { describeEachDb, recordingQueryable } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// The clients list (GET /api/clientes): one page and the count of what matches, in one statement.
// Over 100,000 clients on PGlite a window count over the whole view took 0.4-1.0 s a page, and a
// search 0.7 s (the fold computed for every client); the embedded database answers nothing else
// meanwhile. These tests hold the pages to a truth read apart, and the statement to its plan.

const billing = () => ({ today: '2026-03-10', cycleDays: 30, reminderDaysBefore: 3 });
const names = ['Ñacato', 'Núñez', 'Nuñez', 'Oña', 'Álvarez', 'avila', 'Yánez', 'YANEZ', 'Zambrano', 'Pérez'];

type Filters = Omit<ClientFilters, 'pagina' | 'por_pagina'>;

describeEachDb('The clients list: pages and count in one statement', (ctx) => {
  beforeAll(async () => {
    await ctx.db.exec('TRUNCATE clients RESTART IDENTITY CASCADE');
    // 47 clients: names that fold and sort in Spanish, payments spread over 40 days (some overdue,
    // some in the reminder window, some without a date), every third on Telegram.
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, telefono, telefono_norm, fecha_ultimo_pago, chat_id)
       SELECT c, n || ' ' || i, '09' || lpad(i::text, 8, '0'), '5939' || lpad(i::text, 8, '0'),
              CASE WHEN i % 7 = 0 THEN NULL ELSE DATE '2026-03-10' - (i % 40)::int END,
              CASE WHEN i % 3 = 0 THEN 7000 + i::int END
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(c, n, i)`,
      [
        Array.from({ length: 47 }, (_, i) => cedulaFor(900 + i)),
        Array.from({ length: 47 }, (_, i) => names[i % names.length]!),
      ],
    );
  });

  /** Every page of 7 in turn, and one past the end. */
  async function walk(f: Filters) {
    const repo = createClientsRepository(ctx.db, billing);
    const ids: number[] = [];
    const totals = new Set<number>();
    for (let pagina = 1; ; pagina++) {
      const { clientes, total } = await repo.list({ ...f, pagina, por_pagina: 7 });
      totals.add(total);
      if (clientes.length === 0) break;
      expect(clientes.length).toBeLessThanOrEqual(7);
      ids.push(...clientes.map((c) => c.id));
    }
    return { ids, totals: [...totals] };
  }

  /** The same filter read apart: every client's view, filtered here, in the list's order. */
  async function truth(
    pick: (c: { nombre: string; estado_pago: string; chat: boolean; tel: string }) => boolean,
  ) {
    const { rows } = await ctx.db.query<{
      id: number;
      nombre: string;
      estado_pago: string;
      chat: boolean;
      tel: string;
    }>(
      `SELECT id, nombre, chat_id IS NOT NULL AS chat, telefono_norm AS tel,
              teltec_payment_state(teltec_due_date(fecha_ultimo_pago, dia_pago, 30), DATE '2026-03-10', 3) AS estado_pago
         FROM clients ORDER BY teltec_sort_key(nombre) COLLATE "C", id`,
    );
    return rows.filter(pick).map((r) => r.id);
  }

  it('every page of every filter: each matching client once, in name order, the same count on every page', async () => {
    const fold = (s: string) =>
      s
        .normalize('NFD')
        .replace(/[\u0300-\u036f]/g, '')
        .toLowerCase();
    const cases: [
      Filters,
      (c: { nombre: string; estado_pago: string; chat: boolean; tel: string }) => boolean,
    ][] = [
      [{}, () => true],
      [{ estado_pago: 'vencido' }, (c) => c.estado_pago === 'vencido'],
      [{ estado_pago: 'por_vencer' }, (c) => c.estado_pago === 'por_vencer'],
      [{ estado_pago: 'sin_fecha' }, (c) => c.estado_pago === 'sin_fecha'],
      [{ telegram: 'no' }, (c) => !c.chat],
      [{ buscar: 'nunez' }, (c) => fold(c.nombre).includes('nunez')],
      [
        { buscar: 'YANEZ', estado_pago: 'al_dia' },
        (c) => fold(c.nombre).includes('yanez') && c.estado_pago === 'al_dia',
      ],
      [{ buscar: '0000001' }, (c) => c.tel.includes('000001')],
    ];
    for (const [f, pick] of cases) {
      const expected = await truth(pick);
      expect(expected.length, JSON.stringify(f)).toBeGreaterThan(0);
      const { ids, totals } = await walk(f);
      expect(ids, JSON.stringify(f)).toEqual(expected);
      // Past the last page too: no clients, and the count still says how many match.
      expect(totals, JSON.stringify(f)).toEqual([expected.length]);
    }
  });

  it('a page is found on the name index, counted without a window over the whole view; filters read stored keys', async () => {
    const { q, seen } = recordingQueryable(ctx.db);
    const repo = createClientsRepository(q, billing);
    const plan = async (f: Filters) => {
      seen.length = 0;
      await repo.list({ ...f, pagina: 2, por_pagina: 5 });
      expect(seen).toHaveLength(1);
      const { text, params } = seen[0]!;
      const { rows } = await ctx.db.transaction(async (tx) => {
        // A test table is tiny: sequential scans priced out show which index can serve the query.
        await tx.query(`SELECT set_config('enable_seqscan', 'off', true)`);
        return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (VERBOSE) ${text}`, params);
      });
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    const filters = (p: string) =>
      p
        .split('\n')
        .filter((l) => /Filter:/.test(l))
        .join('\n');

    const all = await plan({});
    expect(all).not.toContain('WindowAgg');
    expect(all).toMatch(/Index (Only )?Scan using clients_nombre_orden_idx/);

    // The payment state's filter reads the due date once per row, so its function is inlined
    // (called per row it was 6x slower); the search reads the stored fold (migration 037).
    const overdue = await plan({ estado_pago: 'vencido' });
    expect(overdue).not.toContain('WindowAgg');
    expect(filters(overdue)).not.toContain('teltec_payment_state(');
    const search = await plan({ buscar: 'nunez' });
    expect(filters(search)).toContain('nombre_busqueda');
    expect(filters(search)).not.toContain('translate(');
  });
});
