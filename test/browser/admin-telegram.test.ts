import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, signIn, watchErrors } from './support/page.js';

// Ajustes → Telegram with a real bot talking to the Bot API stand-in (a real HTTP server on
// 127.0.0.1): what Telegram says about the webhook, the way back to long polling, and a test
// message to a chosen client with Telegram's own answer.

describeBrowser('admin page: Telegram in Ajustes', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true, bot: true })]);
  });
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
    await p.click('#volver-polling');
    await p.click('dialog[open] button:has-text("Sí, volver a long polling")');
    await expect
      .poll(() => p.locator('#webhook-real').getAttribute('data-webhook-real'))
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
});
