import { afterAll, beforeAll, expect, it } from 'vitest';
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
});
