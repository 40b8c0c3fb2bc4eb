import { afterAll, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cedulaFor } from '../support/fixtures.js';
import { type BotHarness, nextId, seedClient, startBotHarness } from './support.js';

// Ajustes (issue 14 §6): the company data staff change in the admin page reaches the bot's
// /contact and every template preview at once — no restart, no value frozen at start.
describeEachDb('company data from Ajustes, without restart', (ctx) => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness(ctx.db, { mode: 'polling', liveSettings: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('/contact and the template preview follow a change of the company data', async () => {
    const u = h.user({ chatId: 830_000 + nextId() });
    const before = await h.say(u, '/contact');
    expect(before).toContain('02 234 5678');

    const client = await seedClient(ctx.db, cedulaFor(46_000 + nextId()), { nombre: 'Rosa Quispe' });
    const res = await h.app.inject({
      method: 'PATCH',
      url: '/api/ajustes',
      headers: auth,
      payload: { empresa: { nombre: 'RedAndina', telefono: '04 600 7000' } },
    });
    expect(res.statusCode, res.body).toBe(200);

    const after = await h.say(u, '/contact');
    expect(after).toContain('04 600 7000');
    expect(after).not.toContain('02 234 5678');
    expect(after).toContain('RedAndina');

    const preview = await h.app.inject({
      method: 'POST',
      url: '/api/plantillas/recordatorio_pago/vista-previa',
      headers: auth,
      payload: { cliente_id: client.id, texto: '{empresa}: {contacto}' },
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().texto).toContain('RedAndina');
    expect(preview.json().texto).toContain('04 600 7000');
  });
});
