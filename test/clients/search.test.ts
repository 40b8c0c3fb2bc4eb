import { afterAll, beforeAll, expect, it } from 'vitest';
import { clientsCsv, createClientsRepository } from '../../src/clients/index.js';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

const names = [
  'Oña Pérez',
  'Ñacato Luis',
  'Yánez Ana',
  'YANEZ Beto',
  'Nuño Carla',
  'Nuñez Diego',
  'Núñez Elena',
  'Nunez Fabián',
  'Álvarez Gina',
  'Zambrano Hugo',
  'avila Iván',
];

describeEachDb('Search ignores accents; names sort in Spanish order (issue 9)', (ctx) => {
  let app: App;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
    await ctx.db.query(`INSERT INTO clients (cedula, nombre) SELECT * FROM unnest($1::text[], $2::text[])`, [
      names.map((_, i) => cedulaFor(500 + i)),
      names,
    ]);
  });
  afterAll(async () => {
    await app.close();
  });

  const search = async (q: string) =>
    (await app.inject({ url: `/api/clientes?buscar=${encodeURIComponent(q)}&por_pagina=100`, headers: auth }))
      .json()
      .clientes.map((c: { nombre: string }) => c.nombre) as string[];

  it('"Yanez" finds "Yánez", "Nacato" finds "Ñacato", whatever the case and accents typed', async () => {
    expect((await search('Yanez')).sort()).toEqual(['YANEZ Beto', 'Yánez Ana']);
    expect((await search('yÁnEz')).sort()).toEqual(['YANEZ Beto', 'Yánez Ana']);
    expect(await search('Nacato')).toEqual(['Ñacato Luis']);
    expect(await search('ñacato')).toEqual(['Ñacato Luis']);
    expect(await search('alvarez')).toEqual(['Álvarez Gina']);
    expect(await search('IVAN')).toEqual(['avila Iván']);
  });

  it('the list and the export are in Spanish order: accents and case ignored, ñ after n', async () => {
    const all = (await app.inject({ url: '/api/clientes?por_pagina=100', headers: auth })).json();
    const expected = [
      'Álvarez Gina',
      'avila Iván',
      'Nunez Fabián',
      'Nuñez Diego',
      'Núñez Elena',
      'Nuño Carla',
      'Ñacato Luis',
      'Oña Pérez',
      'Yánez Ana',
      'YANEZ Beto',
      'Zambrano Hugo',
    ];
    expect(all.clientes.map((c: { nombre: string }) => c.nombre)).toEqual(expected);
    const csv = (await app.inject({ url: '/api/clientes/exportar', headers: auth })).body;
    const exported = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[1]);
    expect(exported).toEqual(expected);
  });

  it('the export, in pages of 2, keeps equal names in id order across pages and follows a renamed client to its new place', async () => {
    // Three names with one sort key ("nun~ez ana"), and pages of 2: each page starts after the
    // last one's (key, id), so none is skipped or repeated.
    const twins = ['Núñez Ana', 'NUÑEZ ANA', 'nuñez ana'];
    await ctx.db.query(`INSERT INTO clients (cedula, nombre) SELECT * FROM unnest($1::text[], $2::text[])`, [
      twins.map((_, i) => cedulaFor(600 + i)),
      twins,
    ]);
    await ctx.db.query(`UPDATE clients SET nombre = 'Aguirre Hugo' WHERE nombre = 'Zambrano Hugo'`);
    const repo = createClientsRepository(ctx.db, () => ({
      today: '2026-03-10',
      cycleDays: 30,
      reminderDaysBefore: 3,
    }));
    let csv = '';
    for await (const chunk of clientsCsv(repo, {}, 2)) csv += chunk;
    const exported = csv
      .trim()
      .split('\r\n')
      .slice(1)
      .map((l) => l.split(',')[1]);
    expect(exported).toEqual([
      'Aguirre Hugo',
      'Álvarez Gina',
      'avila Iván',
      'Nunez Fabián',
      'Núñez Ana',
      'NUÑEZ ANA',
      'nuñez ana',
      'Nuñez Diego',
      'Núñez Elena',
      'Nuño Carla',
      'Ñacato Luis',
      'Oña Pérez',
      'Yánez Ana',
      'YANEZ Beto',
    ]);
  });
});
