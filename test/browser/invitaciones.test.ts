import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { recordEnabledChannels } from '../../src/channels/index.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage } from './support/browser.js';
import { screenshotOnFailure, signIn, watchErrors } from './support/page.js';

// Issue 11 §5: from Invitaciones, staff preview an invitation send by SMS (who it reaches, how it
// reads), send it, watch its progress, cancel it, and read the funnel per channel.

const POLL = { timeout: 15_000 };
const NOW = '2026-03-10T15:00:00Z';

describeBrowser('admin page: Invitaciones by SMS, e-mail and WhatsApp', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ now: NOW, bot: true })]);
    // This deployment sends SMS and e-mail too (main.ts records it from the configuration).
    await recordEnabledChannels(running.db, ['telegram', 'sms', 'email'], new Date(NOW));
    for (const [i, nombre] of ['Lucía Andrade', 'Jorge Vera'].entries()) {
      await running.db.query(
        `INSERT INTO clients (cedula, nombre, sector, telefono, telefono_norm, email)
         VALUES ($1, $2, 'La Floresta', $3, $3, $4)`,
        [`17200000${i}${i}`, nombre, `59398765432${i}`, i === 0 ? 'lucia@correo.test' : null],
      );
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

  it('preview, send, progress, cancel and the funnel per channel', async () => {
    ({ context, page } = await newPage(browser));
    const p = page;
    const errors = watchErrors(p);
    await signIn(p, running.url, running.token);
    await p.goto(`${running.url}/#/clientes/invitaciones`);
    await p.waitForSelector('#embudo tr[data-canal="sms"]', POLL);
    expect(await p.locator('#embudo tr[data-canal="sms"] [data-cifra="enviadas"]').textContent()).toBe('0');

    await p.selectOption('#enviar-invitaciones select[name=canal]', 'sms');
    await p.click('#vista-previa-envio');
    await p.waitForSelector('#vista-envio [data-cifra="audiencia"]', POLL);
    expect(await p.locator('#vista-envio [data-cifra="audiencia"]').getAttribute('data-valor')).toBe('2');
    const sms = await p.locator('#vista-envio [data-muestra="sms"]').first().textContent();
    expect(sms).toMatch(
      /^TelTec: reciba sus avisos de pago por Telegram\. Su enlace personal: https:\/\/t\.me\//,
    );
    expect(await p.locator('#vista-envio').textContent()).toContain('Correo electrónico 1');

    await p.click('#enviar-envio');
    await p.click('dialog[open] button:has-text("Enviar")');
    await p.waitForSelector('#progreso-envio [data-estado="en_curso"]', POLL);
    expect(await p.locator('#resumen-envio').textContent()).toContain('2 en cola');
    await p.click('#cancelar-envio');
    await p.click('dialog[open] button:has-text("Sí, cancelar")');
    await p.waitForSelector('#progreso-envio [data-estado="cancelada"]', POLL);
    expect(await p.locator('#resumen-envio').textContent()).toContain('2 no salieron');

    const { rows } = await running.db.query<{ estado: string; motivo: string }>(
      `SELECT estado, motivo FROM notifications WHERE tipo = 'invitacion' ORDER BY id`,
    );
    expect(rows).toEqual([
      { estado: 'cancelado', motivo: 'campana_cancelada' },
      { estado: 'cancelado', motivo: 'campana_cancelada' },
    ]);
    expect(errors).toEqual([]);
  });
});
