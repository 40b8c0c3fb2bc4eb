import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { detectBackupFormat } from '../../src/backup/index.js';
import { type RunningApp, startApp } from '../browser/support/app.js';
import {
  BROWSER_SETUP_MS,
  describeBrowser,
  launchBrowser,
  newPage,
  screenshot,
} from '../browser/support/browser.js';
import { screenshotOnFailure, signIn, watchErrors } from '../browser/support/page.js';

// The admin page's operations parts: Resumen's backup card, Ajustes' backup download and diagnosis.

describeBrowser('admin page: backups and diagnosis', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true })]);
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

  it('Resumen warns with no backup; Ajustes downloads one and runs the diagnosis; then Resumen is calm', async () => {
    ({ context, page } = await newPage(browser));
    errors = watchErrors(page);
    await signIn(page, running.url, running.token);
    await page.goto(`${running.url}/#/`);
    const notice = page.locator('#respaldos .notice');
    await notice.waitFor();
    expect(await notice.getAttribute('data-alerta')).toBe('ninguno');
    expect(await notice.textContent()).toContain('Todavía no se ha hecho ningún respaldo');

    await page.goto(`${running.url}/#/ajustes`);
    await page.waitForSelector('#descargar-respaldo');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#descargar-respaldo')]);
    expect(download.suggestedFilename()).toMatch(/^teltec-respaldo-20260310-150000\.pglite\.tar\.gz$/);
    const file = await download.path();
    expect(await detectBackupFormat(file)).toBe('pglite');

    await page.click('#ejecutar-diagnostico');
    const db = page.locator('#diagnostico-resultado li[data-comprobacion="base_de_datos"]');
    await db.waitFor();
    expect(await db.getAttribute('data-estado')).toBe('ok');
    expect(
      await page
        .locator('#diagnostico-resultado li[data-comprobacion="whatsapp"]')
        .getAttribute('data-estado'),
    ).toBe('no_configurado');
    expect(
      await page
        .locator('#diagnostico-resultado li[data-comprobacion="respaldo"]')
        .getAttribute('data-estado'),
    ).toBe('ok');
    await screenshot(page, 'ajustes-diagnostico');

    await page.goto(`${running.url}/#/`);
    await expect.poll(() => page!.locator('#respaldos .notice').getAttribute('data-alerta')).toBe('ninguna');
    expect(await page.locator('#respaldos .notice').textContent()).toContain(
      'Último respaldo correcto hace 0 horas',
    );
    expect(errors).toEqual([]);
  });
});
