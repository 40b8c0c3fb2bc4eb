import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, signIn, watchErrors } from './support/page.js';

// Ajustes → Telegram with a real bot talking to the Bot API stand-in (a real HTTP server on
// 127.0.0.1): what Telegram says about the webhook, the way back to long polling, and a test
// message to a chosen client with Telegram's own answer.

/** Waits for the page on a busy shared machine (expect.poll's default is 1 s). */
const POLL = { timeout: 15_000 };

describeBrowser('admin page: Telegram in Ajustes', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true, bot: true })]);
  }, BROWSER_SETUP_MS);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });
  const open = async () => {
    ({ context, page } = await newPage(browser));
    errors = watchErrors(page);
    await signIn(page, running.url, running.token);
    return page;
  };
  screenshotOnFailure(() => page);
  afterEach(async () => {
    await context?.close();
    context = undefined;
    page = undefined;
  });

  it('shows the webhook Telegram really has and goes back to long polling with one button (deleteWebhook)', async () => {
    const url = 'https://teltec.example.ec/api/notificaciones/telegram/webhook/';
    const set = await running.app.inject({
      method: 'POST',
      url: '/api/notificaciones/telegram/configurar-webhook/',
      headers: auth,
      payload: { webhook_url: url },
    });
    expect(set.statusCode, set.body).toBe(200);
    const p = await open();
    await p.goto(`${running.url}/#/ajustes`);
    await p.waitForSelector('#webhook-real');
    expect(await p.locator('#webhook-real').getAttribute('data-webhook-real')).toBe('webhook');
    expect(await p.locator('#webhook-real').textContent()).toContain(url);
    await screenshot(p, 'ajustes-webhook');
    await p.click('#volver-polling');
    await p.click('dialog[open] button:has-text("Sí, volver a long polling")');
    await expect
      .poll(() => p.locator('#webhook-real').getAttribute('data-webhook-real'), POLL)
      .toBe('long_polling');
    expect(await p.locator('#volver-polling').count()).toBe(0);
    expect(running.standin!.calls.some((c) => c.method === 'deleteWebhook')).toBe(true);
    const info = await running.app.inject({
      url: '/api/notificaciones/telegram/configurar-webhook/',
      headers: auth,
    });
    expect(info.json()).toMatchObject({ modo: 'long_polling', url: '' });
    expect(errors).toEqual([]);
  });

  it('a link made with the cédula alone reads "Pendiente de verificar"; staff confirm it with one click', async () => {
    const { rows } = await running.db.query<{ id: number }>(
      `UPDATE clients SET chat_id = 880000000000001, linked_at = now(), link_verified = false
        WHERE id = (SELECT min(id) FROM clients WHERE estado = 'activo' AND chat_id IS NULL) RETURNING id`,
    );
    const id = rows[0]!.id;
    const p = await open();
    await p.goto(`${running.url}/#/clientes/${id}`);
    const badge = p.locator('#telegram-cliente .badge').first();
    await badge.waitFor();
    expect(await badge.getAttribute('data-valor')).toBe('pendiente_de_verificar');
    expect(await badge.textContent()).toBe('Pendiente de verificar');
    await p.click('#verificar-vinculo');
    await p.click('dialog[open] button:has-text("Sí, es el cliente")');
    await expect
      .poll(() => p.locator('#telegram-cliente .badge').first().getAttribute('data-valor'), POLL)
      .toBe('vinculado');
    expect(await p.locator('#verificar-vinculo').count()).toBe(0);
    const c = await running.app.inject({ url: `/api/clientes/${id}`, headers: auth });
    expect(c.json().telegram).toMatchObject({ verificado: true, estado_vinculo: 'verificado' });
    expect(errors).toEqual([]);
  });

  it("a test message goes to a client chosen by searching, rendered as the real send, with Telegram's own answer", async () => {
    const { rows } = await running.db.query<{ id: number; nombre: string; chat_id: string }>(
      `UPDATE clients SET chat_id = 880000000000000 + id, linked_at = now(), link_verified = true
        WHERE id IN (SELECT id FROM clients WHERE estado = 'activo' AND chat_id IS NULL ORDER BY id DESC LIMIT 2)
        RETURNING id, nombre, chat_id::text`,
    );
    const [ok, gone] = rows as [(typeof rows)[0], (typeof rows)[0]];
    // Telegram does not know the second chat (the client never opened the bot).
    running.standin!.unknownChats.add(Number(gone.chat_id));
    const p = await open();
    await p.goto(`${running.url}/#/ajustes`);
    await p.waitForSelector('#cliente-prueba');
    await p.fill('#mensaje-prueba', 'Hola <b>{nombre}</b>: prueba.');

    await p.fill('#cliente-prueba', ok.nombre);
    await p.click(`#prueba-telegram .picker-results button[data-id="${ok.id}"]`);
    await p.click('#enviar-prueba');
    const answer = p.locator('#respuesta-prueba .notice');
    await expect.poll(() => answer.getAttribute('data-resultado'), POLL).toBe('ok');
    expect(await answer.textContent()).toContain(`chat ${ok.chat_id}`);
    const sent = running.standin!.calls.findLast((c) => c.method === 'sendMessage');
    expect(sent?.params.chat_id).toBe(Number(ok.chat_id));
    expect(sent?.params.text).toBe(`Hola <b>${ok.nombre}</b>: prueba.`);
    expect(sent?.params.parse_mode).toBe('HTML');

    await p.fill('#cliente-prueba', gone.nombre);
    await p.click(`#prueba-telegram .picker-results button[data-id="${gone.id}"]`);
    await p.click('#enviar-prueba');
    await expect.poll(() => answer.getAttribute('data-resultado'), POLL).toBe('error');
    expect(await answer.textContent()).toMatch(/chat no existe/);
    await screenshot(p, 'ajustes-prueba');
    expect(errors.filter((e) => !e.includes('502') && !e.includes('422') && !e.includes('400'))).toEqual([]);
  });
});
