import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { cedulaFor } from '../support/fixtures.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, shownNumber, signIn, watchErrors } from './support/page.js';

describeBrowser('admin page in Chromium', () => {
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

  const open = async (opts: { phone?: boolean } = {}) => {
    ({ context, page } = await newPage(browser, opts));
    errors = watchErrors(page);
    return page;
  };
  screenshotOnFailure(() => page);
  afterEach(async () => {
    await context?.close();
    context = undefined;
    page = undefined;
  });

  const api = async (url: string) => (await running.app.inject({ url, headers: auth })).json();

  it('refuses a wrong token, signs in with the right one, keeps it only in sessionStorage and never in a URL', async () => {
    const p = await open();
    const urls: string[] = [];
    p.on('request', (r) => urls.push(r.url()));
    await p.goto(`${running.url}/`);
    await screenshot(p, 'entrar');
    await p.fill('#token', 'un-token-equivocado-0000');
    await p.click('#login button[type=submit]');
    await expect.poll(() => p.locator('#login-error').textContent()).toContain('Token incorrecto');
    expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await p.locator('#nav').isHidden()).toBe(true);
    await screenshot(p, 'entrar-token-equivocado');

    await p.fill('#token', running.token);
    await p.click('#login button[type=submit]');
    await p.waitForSelector('[data-cifra=total_clientes]');
    expect(await p.evaluate(() => sessionStorage.getItem('teltec.token'))).toBe(running.token);
    expect(await p.evaluate(() => localStorage.length)).toBe(0);
    // A reload keeps the session (same tab); "Salir" ends it.
    await p.reload();
    await p.waitForSelector('[data-cifra=total_clientes]');
    await p.click('#salir');
    await p.waitForSelector('#login');
    expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
    expect(urls.filter((u) => u.includes(running.token))).toEqual([]);
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  });

  it('the dashboard shows the same numbers as the API (time to first data printed)', async () => {
    const p = await open();
    await signIn(p, running.url, running.token);
    // Time to first data: a fresh load of the page, signed in, until the figures are on screen.
    const t0 = Date.now();
    await p.goto(`${running.url}/#/`);
    await p.reload();
    await p.waitForSelector('[data-cifra=total_clientes] [data-valor]');
    const firstData = Date.now() - t0;
    // A figure, not a verdict: speed is judged by `npm run bench` (bench/admin.ts), never by a timed
    // test on a shared machine.
    console.log(`admin page: first data in ${firstData} ms with 80 clients`);

    const stats = await api('/api/notificaciones/estadisticas/');
    const tg = await api('/api/notificaciones/telegram/estadisticas/');
    expect(await shownNumber(p, 'total_clientes')).toBe(stats.total_clientes);
    expect(stats.total_clientes).toBe(80);
    expect(await shownNumber(p, 'vinculados')).toBe(tg.vinculados);
    expect(await shownNumber(p, 'enviadas')).toBe(stats.notificaciones.enviadas);
    expect(await shownNumber(p, 'fallidas')).toBe(stats.notificaciones.fallidas);
    // Due and overdue clients without a working Telegram: the list staff must phone.
    const unreachable = await api('/api/notificaciones/sin-telegram/?por_pagina=1');
    expect(await shownNumber(p, 'sin_telegram_deben')).toBe(unreachable.total);
    expect(unreachable.total).toBeGreaterThan(0);
    expect(await p.locator('#sin-alcance li').count()).toBe(Math.min(8, unreachable.total));
    await screenshot(p, 'resumen');
    expect(errors).toEqual([]);
  });

  it('clients: server-side search, filters and pages; a client page records a payment', async () => {
    const p = await open();
    await signIn(p, running.url, running.token);
    await p.goto(`${running.url}/#/clientes`);
    await p.waitForSelector('#tabla-clientes tbody tr');
    expect(await p.locator('#tabla-clientes tbody tr').count()).toBe(25);
    expect(await p.locator('.pager [data-total]').getAttribute('data-total')).toBe('80');
    await screenshot(p, 'clientes');

    // Page 2, then a filter resets to page 1 and lands in the URL hash.
    await p.click('text=Siguiente →');
    await expect.poll(() => p.evaluate(() => location.hash)).toContain('pagina=2');
    await p.selectOption('#f-estado_pago', 'vencido');
    await expect.poll(() => p.evaluate(() => location.hash)).toBe('#/clientes?estado_pago=vencido');
    const vencidos = await api('/api/clientes?estado_pago=vencido&por_pagina=1');
    await expect
      .poll(() => p.locator('.pager [data-total]').getAttribute('data-total'))
      .toBe(String(vencidos.total));
    for (const v of await p
      .locator('#tabla-clientes tbody td[data-label=Pago] [data-valor]')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.valor))) {
      expect(['vencido', 'suspendido', 'retirado']).toContain(v);
    }

    // Search by cédula digits finds exactly that client.
    const one = (await api('/api/clientes?por_pagina=1&pagina=7')).clientes[0];
    await p.selectOption('#f-estado_pago', '');
    await p.fill('#f-buscar', one.cedula);
    await expect.poll(() => p.locator('#tabla-clientes tbody tr').count()).toBe(1);
    await p.click(`#tabla-clientes tbody tr[data-id="${one.id}"]`);
    await p.waitForSelector('#datos-cliente');
    expect(await p.locator('h1').textContent()).toBe(one.nombre);
    await p.waitForSelector('#form-pago');
    await screenshot(p, 'cliente');

    await p.fill('#form-pago [name=monto]', '25.50');
    await p.fill('#form-pago [name=referencia]', 'DEP-123');
    await p.click('#form-pago button[type=submit]');
    await expect.poll(() => p.locator('#pagos tbody').textContent()).toContain('DEP-123');
    const pagos = await api(`/api/clientes/${one.id}/pagos`);
    expect(
      pagos.pagos.some(
        (x: { referencia: string; monto: number }) => x.referencia === 'DEP-123' && x.monto === 25.5,
      ),
    ).toBe(true);
    expect(errors).toEqual([]);
  });

  it('a client can be created and edited; the API refusal shows next to the field', async () => {
    const p = await open();
    await signIn(p, running.url, running.token);
    await p.goto(`${running.url}/#/clientes/nuevo`);
    await p.waitForSelector('#form-cliente');
    await p.fill('#form-cliente [name=cedula]', '1714307104'); // wrong check digit
    await p.fill('#form-cliente [name=nombre]', 'Rosa Cárdenas');
    await p.click('#form-cliente button[type=submit]');
    await expect
      .poll(() => p.locator('#form-cliente .field .error').first().textContent())
      .toContain('verificador');
    await p.fill('#form-cliente [name=cedula]', cedulaFor(777));
    await p.fill('#form-cliente [name=telefono]', '0991234567');
    await p.fill('#form-cliente [name=sector]', 'Centro');
    await p.click('#form-cliente button[type=submit]');
    await p.waitForSelector('#datos-cliente');
    expect(await p.locator('h1').textContent()).toBe('Rosa Cárdenas');
    await p.click('#datos-cliente button:has-text("Editar")');
    await p.fill('#form-cliente [name=direccion]', 'Calle Sucre 12');
    await p.click('#form-cliente button[type=submit]');
    await expect.poll(() => p.locator('#datos-cliente').textContent()).toContain('Calle Sucre 12');
    const found = await api(`/api/clientes?buscar=${cedulaFor(777)}`);
    expect(found.clientes[0].direccion).toBe('Calle Sucre 12');
    expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
  });

  it('CSV import: creates and updates, and lists every refused line with its reason; CSV export downloads', async () => {
    const p = await open();
    await signIn(p, running.url, running.token);
    await p.goto(`${running.url}/#/clientes/importar`);
    const csv = [
      'cedula;nombre;telefono;sector;plan;fecha_ultimo_pago',
      `${cedulaFor(9001)};Lucía Mena;0987000001;Centro;Hogar 30;2026-03-01`,
      `1714307104;Cédula Mala;0987000002;Centro;Hogar 30;2026-03-01`,
      `${cedulaFor(9002)};Jorge Tapia;0987000003;Conocoto;Hogar 60;2026-02-01`,
      `${cedulaFor(9003)};Sin Plan Válido;0987000004;Centro;Plan Inexistente;2026-03-01`,
      `${cedulaFor(9004)};Fecha Mala;0987000005;Centro;Hogar 30;2026-02-30`,
    ].join('\n');
    await p.setInputFiles('#csv-archivo', {
      name: 'clientes.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csv),
    });
    await expect.poll(() => p.locator('#csv-texto').inputValue()).toContain('Lucía Mena');
    await p.click('form button[type=submit]:has-text("Importar")');
    await p.waitForSelector('#reporte-importacion [data-cifra=creados]');
    expect(await p.locator('[data-cifra=creados]').textContent()).toBe('2 creados');
    expect(await p.locator('[data-cifra=errores]').textContent()).toBe('3 con errores');
    const rows = await p
      .locator('#errores-importacion tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['3', '5', '6']);
    expect(rows[0]![2]).toMatch(/verificador/i);
    expect(rows[1]![2]).toMatch(/plan/i);
    expect(rows[2]![2]).toMatch(/fecha/i);
    await screenshot(p, 'importar');

    await p.goto(`${running.url}/#/clientes?sector=Conocoto`);
    await p.waitForSelector('#tabla-clientes tbody tr');
    const [download] = await Promise.all([p.waitForEvent('download'), p.click('text=Exportar CSV')]);
    const body = readFileSync((await download.path())!, 'utf8');
    const lines = body
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toMatch(/^cedula,nombre,/);
    const conocoto = await api('/api/clientes?sector=Conocoto&por_pagina=1');
    expect(lines.length - 1).toBe(conocoto.total);
    expect(body).toContain('Jorge Tapia');
    expect(download.suggestedFilename()).toMatch(/^clientes-\d{4}-\d{2}-\d{2}\.csv$/);
    expect(errors).toEqual([]);
  });

  describe('at phone width (390 px)', () => {
    for (const [name, hash] of [
      ['resumen', '#/'],
      ['clientes', '#/clientes'],
      ['cliente', '#/clientes/1'],
      ['importar', '#/clientes/importar'],
      ['notificaciones', '#/notificaciones'],
      ['campanas', '#/campanas'],
      ['ajustes', '#/ajustes'],
    ] as const) {
      it(`${name} fits without sideways scrolling`, async () => {
        const p = await open({ phone: true });
        await signIn(p, running.url, running.token);
        await p.goto(`${running.url}/${hash}`);
        await p.waitForSelector('.page h1');
        await p.waitForLoadState('networkidle');
        const width = await p.evaluate(() => document.documentElement.scrollWidth);
        expect(width).toBeLessThanOrEqual(390);
        await screenshot(p, `telefono-${name}`);
        expect(errors).toEqual([]);
      });
    }
  });

  it('every page of the laptop layout renders without an error notice', async () => {
    const p = await open();
    await signIn(p, running.url, running.token);
    for (const [name, hash] of [
      ['notificaciones', '#/notificaciones'],
      ['campanas', '#/campanas'],
      ['ajustes', '#/ajustes'],
    ] as const) {
      await p.goto(`${running.url}/${hash}`);
      await p.waitForSelector('.page h1');
      await p.waitForLoadState('networkidle');
      expect(await p.locator('.page .notice.bad').count(), name).toBe(0);
      await screenshot(p, name);
    }
    expect(errors).toEqual([]);
  });
});
