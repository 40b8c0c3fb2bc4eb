import type { Page } from 'playwright-core';
import { afterEach, expect } from 'vitest';
import { screenshot } from './browser.js';

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
}

/** Collects page errors and failed console messages; a test that caused one should fail. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Takes a screenshot of `getPage()` after every failed test, named after the test. */
export function screenshotOnFailure(getPage: () => Page | undefined): void {
  afterEach(async (ctx) => {
    const page = getPage();
    if (page && ctx.task.result?.state === 'fail') {
      await screenshot(page, `FALLO-${ctx.task.name}`).catch(() => {});
    }
  });
}

/** The number shown in a `[data-cifra=…]` tile or label. */
export async function shownNumber(page: Page, cifra: string): Promise<number> {
  const el = page.locator(`[data-cifra="${cifra}"]`).first();
  await el.waitFor();
  const inner = el.locator('[data-valor]');
  const attr =
    (await el.getAttribute('data-valor')) ??
    ((await inner.count()) > 0 ? await inner.first().getAttribute('data-valor') : null);
  const text = attr ?? (await el.textContent()) ?? '';
  const n = Number(text.replace(/\D/g, ''));
  expect(Number.isFinite(n), `${cifra}: ${text}`).toBe(true);
  return n;
}
