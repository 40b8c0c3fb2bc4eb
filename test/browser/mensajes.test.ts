import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { recordIncoming } from '../../src/messages/index.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage } from './support/browser.js';
import { screenshotOnFailure, signIn, watchErrors } from './support/page.js';

// Issue 13 §8: staff read what clients wrote to the bot and answer from the admin page; the
// answer is queued for the client's chat. A chat linked with the cédula alone is marked.

const POLL = { timeout: 15_000 };
const NOW = '2026-03-10T15:00:00Z';

describeBrowser('admin page: Mensajes (staff inbox)', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ now: NOW })]);
    const db = running.db;
    for (const [i, [nombre, texto, verified]] of (
      [
        ['Rosa Chávez', 'No tengo internet desde ayer', true],
        ['Pedro Mora', 'Tengo una duda con mi factura', false],
      ] as const
    ).entries()) {
      const c = await db.query<{ id: number }>(
        `INSERT INTO clients (cedula, nombre, fecha_ultimo_pago, chat_id, link_verified)
         VALUES ($1, $2, '2026-03-01', $3, $4) RETURNING id`,
        [`17100000${i}${i}`, nombre, 870_000 + i, verified],
      );
      const m = await recordIncoming(db, {
        clientId: c.rows[0]!.id,
        chatId: 870_000 + i,
        canal: 'telegram',
        texto,
        verified,
        origen: `telegram:1:${i + 1}`,
        now: new Date(NOW),
      });
      ids[nombre] = m!.id;
    }
  }, BROWSER_SETUP_MS);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  screenshotOnFailure(() => page);
  afterEach(async () => {
    await context?.close();
    context = undefined;
    page = undefined;
  });

  it('Resumen counts the unanswered messages; the inbox answers through the chat', async () => {
    ({ context, page } = await newPage(browser));
    const p = page;
    const errors = watchErrors(p);
    await signIn(p, running.url, running.token);
    await p.waitForSelector('#mensajes-nuevos', POLL);
    expect(await p.locator('#mensajes-nuevos strong').textContent()).toBe('2');

    await p.click('#nav a[data-path="/mensajes"]');
    await p.waitForSelector('.mensaje[data-id]');
    expect(await p.locator('.mensaje[data-id]').count()).toBe(2);
    const pedro = p.locator(`.mensaje[data-id="${ids['Pedro Mora']}"]`);
    expect(await pedro.textContent()).toContain('solo con la cédula');

    const rosa = p.locator(`.mensaje[data-id="${ids['Rosa Chávez']}"]`);
    await rosa.locator('textarea[name=texto]').fill('Mañana pasa el técnico entre 09:00 y 12:00.');
    await rosa.locator('button[type=submit]').click();
    await expect.poll(() => p.locator('.mensaje[data-id]').count(), POLL).toBe(1);

    const { rows } = await running.db.query<{ tipo: string; mensaje: string; urgente: boolean }>(
      `SELECT n.tipo, n.mensaje, n.urgente FROM notifications n
         JOIN client_messages m ON m.notification_id = n.id WHERE m.responde_a = $1`,
      [ids['Rosa Chávez']],
    );
    expect(rows).toEqual([
      { tipo: 'manual', mensaje: 'Mañana pasa el técnico entre 09:00 y 12:00.', urgente: true },
    ]);
    await p.click('button[data-estado="respondido"]');
    await p.waitForSelector(`.mensaje[data-id="${ids['Rosa Chávez']}"] .respuesta`);
    expect(errors).toEqual([]);
  });
});
