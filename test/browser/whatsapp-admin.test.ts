import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage } from './support/browser.js';
import { screenshotOnFailure, shownNumber, signIn, watchErrors } from './support/page.js';

// Issue 10 §10 on the admin page: the client page's WhatsApp card (number, window, consents and the
// form that records one with its evidence), Resumen's reach by channel with the month's cost, and
// Ajustes → WhatsApp with "Probar" (against the Cloud API stand-in).
const POLL = { timeout: 15_000 };

describeBrowser('admin page: WhatsApp consents and reach', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];
  let clientId: number;

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true, whatsapp: true })]);
    // One demo client with a WhatsApp number and no consent yet.
    const { rows } = await running.db.query<{ id: number }>(
      `UPDATE clients SET whatsapp = '593987650001', chat_id = NULL
        WHERE id = (SELECT min(id) FROM clients WHERE estado = 'activo') RETURNING id`,
    );
    clientId = rows[0]!.id;
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
  const open = async () => {
    ({ context, page } = await newPage(browser));
    errors = watchErrors(page);
    await signIn(page, running.url, running.token);
    return page;
  };
  const reach = async () =>
    (await running.app.inject({ url: '/api/notificaciones/alcance/', headers: auth })).json();

  it('the client page records a WhatsApp consent with its evidence and shows it; without evidence it says why', async () => {
    const before = await reach();
    const p = await open();
    await p.goto(`${running.url}/#/clientes/${clientId}`);
    const card = p.locator('#whatsapp-cliente');
    await card.locator('#form-consentimiento').waitFor();
    expect(await card.locator('#whatsapp-numero').textContent()).toBe('593987650001');
    expect(await card.locator('#whatsapp-consentimiento').getAttribute('data-valor')).toBe('sin_registro');
    expect(await card.locator('#whatsapp-ventana').getAttribute('data-abierta')).toBe('no');

    // Issue 11 §6: the Canales card says WhatsApp does not reach this client yet, and why.
    const waRow = p.locator('#canales-cliente tr[data-canal=whatsapp]');
    await waRow.waitFor();
    expect(await waRow.getAttribute('data-alcanzable')).toBe('false');
    expect(await waRow.textContent()).toContain('Sin consentimiento');

    // A grant without evidence: the field is marked with the API's Spanish reason, nothing recorded.
    await card.locator('select[name=canal]').selectOption('whatsapp');
    await card.locator('select[name=categoria]').selectOption('servicio');
    await card.locator('select[name=otorgado]').selectOption('si');
    await card.locator('select[name=fuente]').selectOption('contrato');
    await card.locator('#form-consentimiento button[type=submit]').click();
    await expect.poll(async () => (await card.textContent()) ?? '', POLL).toContain('describa la evidencia');
    expect((await reach()).alcance.whatsapp).toBe(before.alcance.whatsapp);

    await card.locator('input[name=evidencia]').fill('Contrato 2026-0042, firmado en oficina');
    await card.locator('#form-consentimiento button[type=submit]').click();
    await expect
      .poll(() => card.locator('#whatsapp-consentimiento').getAttribute('data-valor'), POLL)
      .toBe('si');
    expect(
      await card
        .locator('#consentimientos-actuales tr[data-canal=whatsapp] td[data-categoria=servicio]')
        .getAttribute('data-valor'),
    ).toBe('si');
    expect(await card.locator('#consentimientos-historial li').first().textContent()).toContain(
      'Contrato 2026-0042',
    );
    // The ledger, through the API: staff source, evidence and who.
    const api = (
      await running.app.inject({ url: `/api/clientes/${clientId}/consentimientos`, headers: auth })
    ).json();
    expect(api.historial[0]).toMatchObject({
      canal: 'whatsapp',
      categoria: 'servicio',
      otorgado: true,
      fuente: 'contrato',
      evidencia: 'Contrato 2026-0042, firmado en oficina',
    });
    expect((await reach()).alcance.whatsapp).toBe(before.alcance.whatsapp + 1);
    await p.reload();
    await expect.poll(() => waRow.getAttribute('data-alcanzable'), POLL).toBe('true');
    // The refused grant is the only failed request: the browser logs its 422, nothing else.
    expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
  });

  it('Resumen shows reach by channel as the API counts it, and the WhatsApp cost marked "verifique"', async () => {
    const r = await reach();
    expect(r.alcance.whatsapp).toBeGreaterThanOrEqual(1);
    const p = await open();
    await p.goto(`${running.url}/#/`);
    await p.locator('#alcance [data-alcance=ninguno]').waitFor();
    expect(await shownNumber(p, 'alcance_telegram')).toBe(r.alcance.telegram);
    expect(await shownNumber(p, 'alcance_whatsapp')).toBe(r.alcance.whatsapp);
    expect(await shownNumber(p, 'alcance_alguno')).toBe(r.alcance.alguno);
    expect(await shownNumber(p, 'alcance_ninguno')).toBe(r.alcance.ninguno);
    expect(r.alcance.ninguno).toBe(r.total_clientes - r.alcance.alguno);
    expect((await p.locator('#costo-whatsapp').textContent()) ?? '').toContain('WhatsApp este mes');
    // Issue 11 §6: only the configured channels are listed (this deployment: Telegram and WhatsApp).
    expect(r.alcance.canales_activos).toEqual(['telegram', 'whatsapp']);
    expect(await p.locator('#alcance [data-alcance=sms]').count()).toBe(0);
    const cost = (await p.locator('#costo-mes').textContent()) ?? '';
    expect(cost).toContain('verifique');
    expect(cost).toContain('$0.0113');
    expect(cost).toContain('$0.0740');
    expect(errors).toEqual([]);
  });

  it('Ajustes shows WhatsApp (token valid, approved templates) and "Probar" sends to the consented client', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/ajustes`);
    const card = p.locator('#estado-whatsapp');
    await card.locator('#probar-whatsapp').waitFor();
    expect(await card.locator('.badge[data-valor=valido]').count()).toBe(1);
    expect(Number(await card.locator('#whatsapp-plantillas').getAttribute('data-aprobadas'))).toBeGreaterThan(
      0,
    );
    const { rows } = await running.db.query<{ nombre: string }>('SELECT nombre FROM clients WHERE id = $1', [
      clientId,
    ]);
    await p.fill('#cliente-prueba-whatsapp', rows[0]!.nombre);
    await p.click(`#prueba-whatsapp .picker-results button[data-id="${clientId}"]`);
    await p.click('#probar-whatsapp');
    const answer = card.locator('#respuesta-prueba-whatsapp .notice');
    await answer.waitFor(POLL);
    expect(await answer.getAttribute('data-resultado')).toBe('ok');
    expect(await answer.textContent()).toContain('plantilla «bienvenida»');
    expect(running.whatsapp!.thread('593987650001').filter((e) => e.direction === 'out')).toHaveLength(1);
    expect(errors).toEqual([]);
  });
});
