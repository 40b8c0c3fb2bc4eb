import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe } from 'vitest';
import { repoRoot } from '../../support/process.js';

/** Debian's Chromium (`apt-get install chromium`); never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const screenshotDir = path.join(repoRoot, 'test-results', 'screenshots');

/**
 * A describe that needs Chromium. Without it the tests skip with one clear line, except in CI, where a
 * missing browser is a failure (the browser tests are part of "done").
 */
export function describeBrowser(name: string, fn: () => void): void {
  if (hasChromium) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      throw new Error(
        `CI: no se encontró Chromium en ${CHROMIUM}; instálelo con "apt-get install -y chromium".`,
      );
    });
    return;
  }
  console.warn(
    `\n⚠ Pruebas de navegador omitidas: no hay Chromium en ${CHROMIUM} (apt-get install -y chromium).\n`,
  );
  describe.skip(`${name} (sin Chromium: omitido)`, fn);
}

/**
 * Time for a browser test file's setup (Chromium + a fresh database with demo data). Generous: on a
 * shared 2-core machine several files start at once; a slow start is not a failure of the page.
 */
export const BROWSER_SETUP_MS = 180_000;

export interface BrowserSession {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Headless Chromium with no network chatter of its own. Each launch gets a fresh, empty profile:
 * Playwright passes its own new --user-data-dir (a temporary folder it deletes on close) and refuses
 * one in `args`.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A new isolated context (its own sessionStorage) and page, at laptop or phone size. */
export async function newPage(
  browser: Browser,
  opts: { phone?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(
    opts.phone
      ? {
          viewport: { width: 390, height: 844 },
          deviceScaleFactor: 1,
          isMobile: true,
          hasTouch: true,
          locale: 'es-EC',
        }
      : { viewport: { width: 1280, height: 860 }, locale: 'es-EC' },
  );
  const page = await context.newPage();
  return { context, page };
}

/** test-results/screenshots/<name>.png (full page). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
