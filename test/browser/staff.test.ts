import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createUser } from '../../src/users/index.js';
import { auth } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, watchErrors } from './support/page.js';

const CLAVE = 'caja-de-cobro-norte-2026';

describeBrowser('staff accounts in Chromium (issue 14)', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true })]);
    await createUser(running.db, {
      usuario: 'cajera',
      nombre: 'Cajera Norte',
      rol: 'operador',
      clave: CLAVE,
      now: new Date(),
    });
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

  it('an operador signs in with user and password, records a payment, and cannot open Ajustes', async () => {
    ({ context, page } = await newPage(browser));
    const p = page;
    const errors = watchErrors(p);
    const requests: string[] = [];
    p.on('request', (r) => requests.push(`${r.url()} ${r.postData() ?? ''}`));
    await p.goto(`${running.url}/`);
    await p.fill('#usuario', 'cajera');
    await p.fill('#clave', 'clave-equivocada-123');
    await p.click('#ingreso button[type=submit]');
    await expect
      .poll(() => p.locator('#ingreso-error').textContent())
      .toContain('Usuario o clave incorrectos');
    await p.fill('#clave', CLAVE);
    await p.click('#ingreso button[type=submit]');
    await p.waitForSelector('#nav:not([hidden])');
    // The session is an HttpOnly cookie: the page's script cannot read it, and nothing is kept in storage.
    expect(await p.evaluate(() => document.cookie)).toBe('');
    expect(await p.evaluate(() => sessionStorage.getItem('teltec.token'))).toBeNull();
    const cookies = await context!.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['teltec_sesion', true, 'Strict']]);
    // Ajustes is not offered to an operador.
    expect(await p.locator('#nav a[data-path="/ajustes"]').isHidden()).toBe(true);

    const one = (
      await running.app.inject({ url: '/api/clientes?por_pagina=1&pagina=3', headers: auth })
    ).json().clientes[0];
    await p.goto(`${running.url}/#/clientes/${one.id}`);
    await p.waitForSelector('#form-pago');
    await p.fill('#form-pago [name=monto]', '30');
    await p.fill('#form-pago [name=referencia]', 'CAJA-NORTE-1');
    await p.click('#form-pago button[type=submit]');
    await expect.poll(() => p.locator('#pagos tbody').textContent()).toContain('CAJA-NORTE-1');
    const { rows } = await running.db.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE accion = 'pago.registrar' AND objeto = $1`,
      [`cliente:${one.id}`],
    );
    expect(rows.map((r) => r.actor)).toEqual(['cajera']);

    // A reload keeps the session (cookie); Ajustes answers "solo administradores".
    await p.goto(`${running.url}/#/ajustes`);
    await p.waitForSelector('#solo-admin');
    expect(await p.locator('#solo-admin').textContent()).toContain('Solo administradores');
    await screenshot(p, 'operador-sin-ajustes');
    // The API refuses the change too, even from the signed-in page.
    const status = await p.evaluate(async () => {
      const me = await (await fetch('/api/sesion')).json();
      const r = await fetch('/api/ajustes', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify({ ciclo: { dias: 31 } }),
      });
      return r.status;
    });
    expect(status).toBe(403);

    await p.click('#salir');
    await p.waitForSelector('#ingreso');
    expect(await context!.cookies()).toEqual([]);
    // The password never travelled in a URL, and no page showed it.
    expect(requests.filter((r) => r.split(' ')[0]!.includes(CLAVE))).toEqual([]);
    expect(await p.content()).not.toContain(CLAVE);
    expect(errors.filter((e) => !e.includes('401') && !e.includes('403'))).toEqual([]);
  }, 120_000);

  it('an admin sees the first-run checklist on Resumen and fills it in Ajustes, without a restart', async () => {
    await createUser(running.db, {
      usuario: 'gerente',
      nombre: 'Gerente',
      rol: 'admin',
      clave: CLAVE,
      now: new Date(),
    });
    ({ context, page } = await newPage(browser));
    const p = page;
    await p.goto(`${running.url}/`);
    await p.fill('#usuario', 'gerente');
    await p.fill('#clave', CLAVE);
    await p.click('#ingreso button[type=submit]');
    await p.waitForSelector('#primeros-pasos');
    expect(await p.locator('#primeros-pasos').textContent()).toContain('{contacto}');
    await p.click('#primeros-pasos a');
    await p.waitForSelector('#form-ajustes');
    await p.fill('#form-ajustes [name="empresa.telefono"]', '02 600 7000');
    await p.fill('#form-ajustes [name="empresa.email"]', 'cobros@teltec.ec');
    await p.fill('#form-ajustes [name="empresa.direccion"]', 'Av. 10 de Agosto N20');
    await p.click('#form-ajustes button:has-text("Agregar cuenta bancaria")');
    await p.fill('#cuentas [name=banco]', 'Banco Pichincha');
    await p.fill('#cuentas [name=numero]', '2200456789');
    await p.fill('#cuentas [name=titular]', 'TelTec S.A.');
    await p.fill('#form-ajustes [name="envio.ventana.inicio"]', '09:00');
    // Canales de respaldo (issue 11 §3): SMS first, Telegram second, nothing after.
    await p.selectOption('#form-ajustes [name="respaldo.orden.0"]', 'sms');
    await p.selectOption('#form-ajustes [name="respaldo.orden.1"]', 'telegram');
    await p.selectOption('#form-ajustes [name="respaldo.orden.2"]', '');
    await p.selectOption('#form-ajustes [name="respaldo.orden.3"]', '');
    // The rule per kind of notice: reminders become must-deliver; the label is the type's own word.
    await expect.poll(() => p.locator('#form-ajustes').textContent()).toContain('Recordatorio de pago');
    await p.selectOption('#form-ajustes [name="respaldo.reglas.recordatorio_pago"]', 'must_deliver');
    await p.click('#form-ajustes button[type=submit]');
    await expect
      .poll(
        async () =>
          (await running.app.inject({ url: '/api/ajustes', headers: auth })).json().envio.ventana.inicio,
      )
      .toBe('09:00');
    const a = (await running.app.inject({ url: '/api/ajustes', headers: auth })).json();
    expect(a.pendientes).toEqual([]);
    expect(a.respaldo.orden).toEqual(['sms', 'telegram']);
    expect(a.respaldo.reglas).toMatchObject({
      recordatorio_pago: 'must_deliver',
      pago_vencido: 'must_deliver',
      oferta: 'no_fallback',
    });
    expect(a.empresa.cuentas_bancarias).toEqual([
      { banco: 'Banco Pichincha', tipo: 'ahorros', numero: '2200456789', titular: 'TelTec S.A.' },
    ]);
    await screenshot(p, 'ajustes-editables');
    await p.goto(`${running.url}/#/`);
    await p.waitForSelector('#resumen-cifras');
    expect(await p.locator('#primeros-pasos').count()).toBe(0);

    // Auditoría lists the change with the person; Usuarios lists the staff.
    await p.goto(`${running.url}/#/auditoria?accion=ajustes.`);
    await p.waitForSelector('#auditoria table');
    expect(await p.locator('#auditoria tbody').textContent()).toContain('gerente');
    await p.goto(`${running.url}/#/usuarios`);
    await p.waitForSelector('#usuarios table');
    expect(await p.locator('#usuarios tbody').textContent()).toContain('cajera');
    // The client page shows its history (the operador's payment) and offers "Enviar mensaje".
    const { rows } = await running.db.query<{ objeto: string }>(
      `SELECT objeto FROM audit_log WHERE accion = 'pago.registrar' LIMIT 1`,
    );
    await p.goto(`${running.url}/#/clientes/${rows[0]!.objeto.split(':')[1]}`);
    await p.waitForSelector('#historial-cliente table');
    expect(await p.locator('#historial-cliente tbody').textContent()).toContain('cajera');
    expect(await p.locator('#enviar-mensaje').isVisible()).toBe(true);
  }, 120_000);
});
