import { beforeAll, expect, it } from 'vitest';
import { telegramSeries } from '../../src/bot/index.js';
import type { Queryable } from '../../src/db/index.js';
import { describeEachDb, recordingQueryable } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// The Telegram statistics' "linked at the close of each period" (the Resumen's adoption line).
// Weeks in Guayaquil (UTC-5, no daylight saving): a local week starts on Monday at 05:00Z.
const NOW = new Date('2026-03-10T15:00:00Z'); // Tuesday of the week of 2026-03-09
const TZ = 'America/Guayaquil';

describeEachDb('Telegram statistics: linked clients at the close of each period', (ctx) => {
  beforeAll(async () => {
    await ctx.db.exec('TRUNCATE clients RESTART IDENTITY CASCADE');
    const links: [number | null, string | null][] = [
      [1, null], // linked, date unknown: counted from the first period on
      [2, '2026-01-01T12:00:00Z'], // before the series
      [3, '2026-02-23T04:59:59Z'], // the last second of the first week
      [4, '2026-02-23T05:00:00Z'], // the first second of the second week
      [5, '2026-03-09T04:59:59Z'], // the last second of the third week
      [6, '2026-03-09T05:00:00Z'], // the first second of the current week
      [7, '2026-03-10T14:00:00Z'], // today
      [null, '2026-02-25T12:00:00Z'], // unlinked since: never counted
      [8, '2026-03-16T05:00:00Z'], // after the current week: never counted
    ];
    await ctx.db.query(
      `INSERT INTO clients (cedula, nombre, chat_id, linked_at)
       SELECT c, 'Cliente ' || i, chat, at FROM unnest($1::text[], $2::bigint[], $3::timestamptz[])
         WITH ORDINALITY AS t(c, chat, at, i)`,
      [links.map((_, i) => cedulaFor(700 + i)), links.map((l) => l[0]), links.map((l) => l[1])],
    );
  });

  const series = (db: Queryable) =>
    telegramSeries(db, { grouping: 'semana', periods: 4, now: NOW, timeZone: TZ, totalClients: 9 });

  it('each week counts the links made before its close, those of unknown date included', async () => {
    const s = await series(ctx.db);
    expect(s.map((p) => [p.desde, p.vinculados_al_cierre])).toEqual([
      ['2026-02-16', 3],
      ['2026-02-23', 4],
      ['2026-03-02', 5],
      ['2026-03-09', 7],
    ]);
    expect(s.at(-1)!.porcentaje_adopcion_al_cierre).toBeCloseTo((7 / 9) * 100, 2);
  });

  it('clients are read once for the whole series, not once per period', async () => {
    const { q, seen } = recordingQueryable(ctx.db);
    await series(q);
    expect(seen).toHaveLength(1);
    const { rows } = await ctx.db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${seen[0]!.text}`,
      seen[0]!.params,
    );
    const scans = rows.map((r) => r['QUERY PLAN']).filter((l) => / on clients\b/.test(l));
    expect(scans.length).toBeGreaterThan(0);
    for (const line of scans) expect(line).toMatch(/loops=1\)/);
  });
});
