import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/http/types.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';

// Planes (issue 14 §7): edit a price, retire a plan that has clients (they keep it, nobody new
// gets it), put it back on sale, delete only an unused plan.
describeEachDb('plans: price, retire, delete', (ctx) => {
  let app: App;
  let planId: number;
  let otherId: number;
  let clientId: number;
  beforeAll(async () => {
    ({ app } = await buildTestApp(ctx.db, { now: '2026-03-10T15:00:00Z' }));
    const post = (payload: object) =>
      app.inject({ method: 'POST', url: '/api/planes', headers: auth, payload });
    planId = (await post({ nombre: 'Antiguo 10', velocidad_mbps: 10, precio: 15 })).json().id;
    otherId = (await post({ nombre: 'Nuevo 100', velocidad_mbps: 100, precio: 30 })).json().id;
    const c = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(1), nombre: 'Ana Torres', plan_id: planId },
    });
    expect(c.statusCode).toBe(201);
    clientId = c.json().id;
  });
  afterAll(async () => {
    await app.close();
  });

  const patch = (id: number, payload: object) =>
    app.inject({ method: 'PATCH', url: `/api/planes/${id}`, headers: auth, payload });

  it('edits the price and the client billing follows it', async () => {
    const res = await patch(planId, { precio: '17,50'.replace(',', '.') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ precio: 17.5, retirado: false, retirado_en: null, clientes: 1 });
    const client = (await app.inject({ url: `/api/clientes/${clientId}`, headers: auth })).json();
    expect(client.plan_id).toBe(planId);
    expect(JSON.stringify(client)).toContain('17.5');
  });

  it('a plan with clients cannot be deleted; the error says to retire it', async () => {
    const res = await app.inject({ method: 'DELETE', url: `/api/planes/${planId}`, headers: auth });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('PLAN_EN_USO');
    expect(res.json().error.mensaje).toMatch(/retírelo/);
  });

  it('retires a plan with clients: they keep it, new clients cannot get it', async () => {
    const res = await patch(planId, { retirado: true });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ retirado: true, clientes: 1 });
    expect(res.json().retirado_en).toBe('2026-03-10T15:00:00.000Z');
    // Retiring again keeps the first time.
    expect((await patch(planId, { retirado: true })).json().retirado_en).toBe('2026-03-10T15:00:00.000Z');

    const list = (await app.inject({ url: '/api/planes', headers: auth })).json().planes;
    expect(list.map((p: { id: number }) => p.id)).toEqual([otherId, planId]); // on sale first

    const create = await app.inject({
      method: 'POST',
      url: '/api/clientes',
      headers: auth,
      payload: { cedula: cedulaFor(2), nombre: 'Luis Mora', plan: 'antiguo 10' },
    });
    expect(create.statusCode).toBe(422);
    expect(create.json().error.code).toBe('PLAN_RETIRADO');
    expect(create.json().error.mensaje).toContain('Antiguo 10');
    const count = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM clients');
    expect(count.rows[0]!.n).toBe(1);

    // The client who has it keeps it through an edit that repeats it…
    const edit = await app.inject({
      method: 'PATCH',
      url: `/api/clientes/${clientId}`,
      headers: auth,
      payload: { nombre: 'Ana Torres Vera', plan_id: planId },
    });
    expect(edit.statusCode).toBe(200);
    expect(edit.json().plan_id).toBe(planId);
    // …and can move to a plan on sale, but not back.
    const move = await app.inject({
      method: 'PATCH',
      url: `/api/clientes/${clientId}`,
      headers: auth,
      payload: { plan_id: otherId },
    });
    expect(move.statusCode).toBe(200);
    const back = await app.inject({
      method: 'PATCH',
      url: `/api/clientes/${clientId}`,
      headers: auth,
      payload: { plan_id: planId },
    });
    expect(back.statusCode).toBe(422);
    expect(back.json().error.code).toBe('PLAN_RETIRADO');
  });

  it('puts a retired plan back on sale, and deletes an unused one', async () => {
    const res = await patch(planId, { retirado: false });
    expect(res.json()).toMatchObject({ retirado: false, retirado_en: null });
    const bad = await patch(planId, { retirado: 'sí' });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.mensaje).toMatch(/retirado/);
    const del = await app.inject({ method: 'DELETE', url: `/api/planes/${planId}`, headers: auth });
    expect(del.statusCode).toBe(204);
  });
});
