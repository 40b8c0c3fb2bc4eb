import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Issue 10 §7–8: a WhatsApp number per client (from the mobile by default, editable, normalised to
// 5939XXXXXXXX; API and CSV field `whatsapp`) and the preferred channel.
describeEachDb('client WhatsApp number and preferred channel', (ctx) => {
  let app: App;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db));
  });
  afterAll(async () => {
    await app.close();
  });
  const create = (n: number, extra: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(9300 + n), nombre: `Cliente WhatsApp ${n}`, ...extra },
    });

  it('takes the mobile as WhatsApp by default, never a landline; an explicit number is normalised', async () => {
    const mobile = await create(1, { telefono: '098 765 4321' });
    expect(mobile.statusCode, mobile.body).toBe(201);
    expect(mobile.json()).toMatchObject({
      whatsapp: '593987654321',
      canal_preferido: null,
      whatsapp_ventana_hasta: null,
      whatsapp_inalcanzable: null,
    });
    const landline = await create(2, { telefono: '02 245 6789' });
    expect(landline.json().whatsapp).toBeNull();
    const explicit = await create(3, { telefono: '02 245 6789', whatsapp: '+593 99 111 2222' });
    expect(explicit.json().whatsapp).toBe('593991112222');
    const bad = await create(4, { whatsapp: '022456789' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.mensaje).toContain('"whatsapp"');
    expect(bad.json().error.mensaje).toContain('celular de Ecuador');
  });

  it('PATCH changes or clears the number and sets the preferred channel; unknown channels are refused', async () => {
    const c = (await create(5, { telefono: '0987000555' })).json();
    const patch = (payload: object) =>
      app.inject({ method: 'PATCH', url: `/api/clientes/${c.id}`, headers: auth, payload });
    const set = await patch({ whatsapp: '0991234567', canal_preferido: 'whatsapp' });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json()).toMatchObject({ whatsapp: '593991234567', canal_preferido: 'whatsapp' });
    const cleared = await patch({ whatsapp: '', canal_preferido: null });
    expect(cleared.json()).toMatchObject({ whatsapp: null, canal_preferido: null });
    const bad = await patch({ canal_preferido: 'fax' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.mensaje).toContain('telegram, whatsapp, sms o email');
  });

  it('CSV: the whatsapp column is imported (normalised) and exported; without it a new mobile is the WhatsApp', async () => {
    const csv =
      'cedula,nombre,telefono,whatsapp\n' +
      `${cedulaFor(9401)},Ana CSV,0987111111,0997222222\n` +
      `${cedulaFor(9402)},Beto CSV,0987333333,\n` +
      `${cedulaFor(9403)},Caro CSV,0987444444,022456789\n`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/clientes/importar',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().creados).toBe(2);
    expect(res.json().errores).toHaveLength(1);
    expect(res.json().errores[0].motivo).toContain('whatsapp');
    const noColumn = await app.inject({
      method: 'POST',
      url: '/api/clientes/importar',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: `cedula,nombre,telefono\n${cedulaFor(9404)},Dani CSV,0987555555\n`,
    });
    expect(noColumn.json().creados).toBe(1);
    const rows = await ctx.db.query<{ nombre: string; whatsapp: string | null }>(
      `SELECT nombre, whatsapp FROM clients WHERE nombre LIKE '% CSV' ORDER BY nombre`,
    );
    expect(rows.rows).toEqual([
      { nombre: 'Ana CSV', whatsapp: '593997222222' },
      { nombre: 'Beto CSV', whatsapp: null },
      { nombre: 'Dani CSV', whatsapp: '593987555555' },
    ]);
    const exported = await app.inject({ url: '/api/clientes/exportar?buscar=Ana%20CSV', headers: auth });
    const [header, line] = exported.body.replace(/^\uFEFF/, '').split('\r\n');
    const col = header!.split(',').indexOf('whatsapp');
    expect(col).toBeGreaterThan(0);
    expect(line!.split(',')[col]).toBe('593997222222');
  });
});
