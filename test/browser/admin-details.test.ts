import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { auth } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, shownNumber, signIn, watchErrors } from './support/page.js';

// What a newcomer hit on the admin page (issue 9), at night: 01:51 in Guayaquil, outside the
// 08:00–20:00 send window. The clock is fixed; nothing here depends on today's date or hour.
/** Waits for the page on a busy shared machine (expect.poll's default is 1 s). */
const POLL = { timeout: 15_000 };

const NIGHT = '2026-03-10T06:51:00Z';

describeBrowser('admin page: waiting, call list, labels, layout', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];
  let campaignId: number;

  beforeAll(async () => {
    [browser, running] = await Promise.all([launchBrowser(), startApp({ demo: true, now: NIGHT })]);
    // A dozen active clients with a (made-up) chat, so a campaign has an audience.
    await running.db.query(
      `UPDATE clients SET chat_id = 900000000000000 + id, linked_at = now(), link_verified = true
        WHERE id IN (SELECT id FROM clients WHERE estado = 'activo' ORDER BY id LIMIT 12)`,
    );
    const res = await running.app.inject({
      method: 'POST',
      url: '/api/notificaciones/masiva/',
      headers: auth,
      payload: { nombre: 'Aviso nocturno', tipo: 'manual', mensaje: 'Hola <b>{nombre}</b>, prueba.' },
    });
    expect(res.statusCode, res.body).toBe(201);
    campaignId = res.json().campana.id;
  }, BROWSER_SETUP_MS);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  const open = async (opts: { phone?: boolean } = {}) => {
    ({ context, page } = await newPage(browser, opts));
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
  const api = async (url: string) => (await running.app.inject({ url, headers: auth })).json();

  it('the API says the send window is closed and when it opens, from the service clock', async () => {
    const a = await api('/api/ajustes');
    expect(a.ahora).toBe(new Date(NIGHT).toISOString());
    expect(a.envio.en_ventana).toBe(false);
    expect(a.envio.proxima_apertura).toBe('2026-03-10T13:00:00.000Z'); // 08:00 in Guayaquil
    expect(a.planificador.find((j: { tarea: string }) => j.tarea === 'limpieza_idempotencia').interna).toBe(
      true,
    );
  });

  it('a campaign waiting for the window says when it goes out, not "En curso · 0 %"', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/campanas/${campaignId}`);
    await p.waitForSelector('#resumen-progreso');
    const text = (await p.locator('#campana').textContent()) ?? '';
    expect(text).toContain('sale a las 08:00 (fuera del horario de envío)');
    expect(text).not.toContain('0 %');
    expect(await p.locator('#campana .badge').first().getAttribute('data-valor')).toBe('esperando');
    // The list says the same.
    await p.goto(`${running.url}/#/campanas`);
    await p.waitForSelector(`#lista-campanas tr[data-id="${campaignId}"]`);
    expect(await p.locator(`#lista-campanas tr[data-id="${campaignId}"]`).textContent()).toContain(
      'sale a las 08:00',
    );
    expect(errors).toEqual([]);
  });

  it('the campaign detail shows a rendered sample, never the raw source', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/campanas/${campaignId}`);
    const sample = p.locator('#muestra-campana [data-muestra]');
    await sample.waitFor();
    const text = (await sample.textContent()) ?? '';
    expect(text).not.toContain('{nombre}');
    expect(text).not.toContain('<b>');
    // Staff text is Telegram HTML: the client's name in bold, as Telegram shows it.
    expect(await sample.locator('strong').count()).toBe(1);
    expect(((await sample.locator('strong').textContent()) ?? '').length).toBeGreaterThan(3);
    expect(text).toMatch(/^Hola .+, prueba\.$/);
    expect(errors).toEqual([]);
  });

  it('a pending notice at night says when it goes out, never a time already past', async () => {
    await running.app.inject({
      method: 'POST',
      url: '/api/notificaciones/generar-automaticas/',
      headers: auth,
    });
    const p = await open();
    await p.goto(`${running.url}/#/notificaciones?estado=pendiente&tipo=manual`);
    await p.waitForSelector('#tabla-notificaciones tr.clickable');
    await p.locator('#tabla-notificaciones tr.clickable').first().click();
    const when = p.locator('#tabla-notificaciones tr.detail:not([hidden]) .proximo-intento');
    expect(await when.textContent()).toBe('sale a las 08:00 (fuera del horario de envío)');
    expect(errors).toEqual([]);
  });

  it('cancelling asks "Volver" / "Sí, cancelar"; a cancelled campaign reads "Cancelada", no full green bar', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/campanas/${campaignId}`);
    await p.click('#cancelar-campana');
    const buttons = await p.locator('dialog[open] button').allTextContents();
    expect(buttons).toEqual(['Volver', 'Sí, cancelar']);
    await p.click('dialog[open] button:has-text("Sí, cancelar")');
    await p.waitForSelector('#campana .badge[data-valor="cancelada"]');
    expect(await p.locator('#campana .badge').first().textContent()).toBe('Cancelada');
    const bar = p.locator('#progreso');
    expect(await bar.getAttribute('value')).toBe('0');
    expect(await bar.getAttribute('class')).not.toMatch(/\bok\b/);
    expect(await p.locator('#resumen-progreso').textContent()).toContain('Cancelada: salieron 0 de 12');
    await screenshot(p, 'campana-cancelada');
    expect(errors).toEqual([]);
  });

  it('the call list on Resumen and its full list are one list (same count, same clients, same order), printable', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/`);
    const total = await shownNumber(p, 'sin_telegram_deben');
    const first = await p
      .locator('#sin-alcance li a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    await p.click('#ver-llamadas');
    await p.waitForSelector('#hoja-llamadas tbody tr');
    expect(await shownNumber(p, 'llamadas')).toBe(total);
    const ids = await p
      .locator('#hoja-llamadas tbody tr')
      .evaluateAll((trs) => trs.map((tr) => Number((tr as HTMLElement).dataset.id)));
    expect(ids.length).toBe(total);
    expect(ids.slice(0, first.length).map((id) => `#/clientes/${id}`)).toEqual(first);
    // Same clients as the API's list, and none of them retired.
    const all = await api(`/api/notificaciones/sin-telegram/?por_pagina=500`);
    expect(ids).toEqual(all.clientes.map((c: { id: number }) => c.id));
    const retired = await running.db.query<{ id: number }>(
      `SELECT id FROM clients WHERE estado = 'retirado'`,
    );
    for (const r of retired.rows) expect(ids).not.toContain(r.id);
    // Printed: no navigation, no buttons, the table with a column to write the outcome.
    await p.emulateMedia({ media: 'print' });
    expect(await p.locator('.topbar').isVisible()).toBe(false);
    expect(await p.locator('#imprimir').isVisible()).toBe(false);
    expect(await p.locator('#hoja-llamadas table').isVisible()).toBe(true);
    await screenshot(p, 'hoja-llamadas-impresa');
    expect(errors).toEqual([]);
  });

  it('one label per concept: no two filter options read the same; "Bloqueó el bot" once', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/notificaciones`);
    await p.waitForSelector('#n-motivo');
    const labels = await p.locator('#n-motivo option').allTextContents();
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.filter((l) => /bloque/i.test(l))).toEqual(['Bloqueó el bot']);
    // The labels are the service's vocabulary (GET /api/vocabulario), not a copy of it.
    const vocab = await api('/api/vocabulario');
    expect(labels.slice(1)).toEqual(Object.values(vocab.motivo));
    expect(await p.locator('#n-tipo option').allTextContents()).toEqual([
      'Todos los tipos',
      ...Object.values(vocab.tipo),
    ]);
    expect(errors).toEqual([]);
  });

  it('times read "08:00" (24 h): no "a. m." and no double period; internal jobs are not listed', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/`);
    // The page may render again while loading (a refresh puts "Cargando…" back): wait for a list
    // that is rendered and not loading, and read that very text.
    const { runs, items } = (await (
      await p.waitForFunction(() => {
        const el = document.querySelector('#planificador');
        const text = el?.textContent ?? '';
        const items = el?.querySelectorAll('li').length ?? 0;
        return items > 0 && !text.includes('Cargando') ? { runs: text, items } : false;
      })
    ).jsonValue()) as { runs: string; items: number };
    expect(runs).toContain('08:00');
    expect(runs).not.toMatch(/a\. ?m\.|p\. ?m\./);
    expect(runs).not.toMatch(/Limpieza/i);
    expect(items).toBe(1);
    // A saved template says when it was changed: one period at the end, not "a. m..".
    await running.app.inject({
      method: 'PUT',
      url: '/api/plantillas/oferta',
      headers: auth,
      payload: { texto: 'Oferta para {nombre}.' },
    });
    await p.goto(`${running.url}/#/ajustes`);
    await p.click('#plantillas button[data-tipo="oferta"]');
    await expect.poll(() => p.locator('#estado-plantilla').textContent(), POLL).toMatch(/^Modificada/);
    const status = (await p.locator('#estado-plantilla').textContent()) ?? '';
    expect(status).not.toContain('..');
    expect(status).toMatch(/\d\d:\d\d\.$/);
    expect(errors).toEqual([]);
  });

  it('the template preview finds any client by searching, not only the first 30', async () => {
    const all = await api('/api/clientes?por_pagina=200');
    const last = all.clientes.at(-1); // far beyond the first 30 in name order
    expect(all.total).toBe(80);
    const p = await open();
    await p.goto(`${running.url}/#/ajustes`);
    await p.waitForSelector('#cliente-vista-previa');
    await p.fill('#cliente-vista-previa', last.nombre.split(' ').slice(0, 2).join(' '));
    await p.click(`#plantillas .picker-results button[data-id="${last.id}"]`);
    await expect
      .poll(() => p.locator('#vista-previa').textContent(), POLL)
      .toContain(last.nombre.split(' ')[0]);
    expect(await p.locator('#plantillas .picker-chosen strong').textContent()).toBe(last.nombre);
    expect(errors).toEqual([]);
  });

  it('notices in the queue and Telegram updates are not both called "Pendientes"', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/`);
    await p.waitForSelector('[data-cifra=enviadas] .sub');
    expect(await p.locator('[data-cifra=enviadas] .sub').textContent()).toMatch(/avisos en cola/);
    // At night the queue says when it moves.
    await expect
      .poll(() => p.locator('[data-cifra=enviadas] [data-espera]').textContent(), POLL)
      .toBe('Los no urgentes salen a las 08:00 (fuera del horario de envío).');
    expect(await p.locator('.page').textContent()).not.toMatch(/\bPendientes\b/);
    expect(errors).toEqual([]);
  });

  it('Resumen asks for its first figures before the conversion card, which still fills in', async () => {
    const p = await open();
    // The sign-in lands on Resumen: let that render finish before listening.
    await expect.poll(() => p.locator('#conversion').textContent(), POLL).not.toMatch(/Cargando/);
    const events: string[] = [];
    p.on('request', (r) => {
      if (r.url().includes('/estadisticas/')) events.push(`pide ${new URL(r.url()).search}`);
    });
    p.on('response', (r) => {
      if (r.url().includes('/estadisticas/')) events.push(`llega ${new URL(r.url()).search}`);
    });
    await p.goto(`${running.url}/#/`);
    await expect
      .poll(() => p.locator('#conversion').textContent(), POLL)
      .toMatch(/Conversión de avisos en pagos.*\d/s);
    expect(await p.locator('#conversion').textContent()).not.toMatch(/Cargando/);
    // On the embedded database requests are answered in turn: the 60 days the card reads, asked
    // first, held the first figures (1.6 s at 100,000 clients). Read from this render's first
    // request on: the render that followed the sign-in may still be finishing.
    const ours = events.slice(events.lastIndexOf('pide ?dias=14'));
    const first = ['?dias=14', '?agrupar=semana&periodos=8'].map((q) => ours.indexOf(`llega ${q}`));
    const card = ours.indexOf('pide ?dias=60');
    expect(Math.min(...first), events.join(' | ')).toBeGreaterThanOrEqual(0);
    expect(card, events.join(' | ')).toBeGreaterThan(Math.max(...first));
    expect(errors).toEqual([]);
  });

  it('campaign preview: the number of examples said is the number shown', async () => {
    const p = await open();
    await p.goto(`${running.url}/#/campanas`);
    await p.fill('#form-campana [name=mensaje]', 'Hola {nombre}');
    await p.waitForSelector('#muestra summary');
    const shown = await p.locator('#muestra .message-text').count();
    expect(shown).toBeGreaterThan(0);
    expect(await p.locator('#muestra summary').textContent()).toContain(
      `(${shown} ${shown === 1 ? 'ejemplo' : 'ejemplos'})`,
    );
    expect(errors).toEqual([]);
  });

  it('at 1280 px no filter select clips its text', async () => {
    const p = await open();
    for (const hash of ['#/clientes', '#/notificaciones']) {
      await p.goto(`${running.url}/${hash}`);

      await p.waitForSelector('.filters select');
      await p.waitForLoadState('networkidle');
      const clipped = await p.locator('.filters select').evaluateAll((selects) =>
        (selects as HTMLSelectElement[]).flatMap((s) => {
          const cs = getComputedStyle(s);
          const ctx = document.createElement('canvas').getContext('2d')!;
          ctx.font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
          // The text shown (the selected option) plus padding and the arrow (~20 px).
          const text = s.options[s.selectedIndex]?.text ?? '';
          const need =
            ctx.measureText(text).width + parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) + 20;
          return need > s.clientWidth ? [`${s.name}: "${text}" needs ${need} px, has ${s.clientWidth}`] : [];
        }),
      );
      expect(clipped, hash).toEqual([]);
    }
    expect(errors).toEqual([]);
  });

  it('no page carries an inline style (the CSP allows none): bars are <progress>, swatches SVG fills', async () => {
    const p = await open();
    for (const hash of [
      '#/',
      '#/llamadas',
      '#/clientes',
      '#/clientes/1',
      '#/notificaciones',
      '#/campanas',
      `#/campanas/${campaignId}`,
      '#/ajustes',
    ]) {
      await p.goto(`${running.url}/${hash}`);
      await p.waitForSelector('.page h1');
      await p.waitForLoadState('networkidle');
      const styled = await p
        .locator('[style]')
        .evaluateAll((els) => els.map((e) => `${e.tagName.toLowerCase()}: ${e.getAttribute('style')}`));
      expect(styled, hash).toEqual([]);
    }
    expect(errors).toEqual([]);
  });

  it('Planes: edit a price, retire a plan that has clients, and it is no longer offered to others', async () => {
    const p = await open();
    const planes = (await running.app.inject({ url: '/api/planes', headers: auth })).json().planes as {
      id: number;
      nombre: string;
      clientes: number;
    }[];
    const used = planes.find((x) => x.clientes > 0)!;
    await p.goto(`${running.url}/#/planes`);
    const row = p.locator(`#planes-lista tr[data-plan="${used.id}"]`);
    await row.waitFor();
    // No delete button for a plan with clients.
    expect(await row.locator('[data-accion="borrar"]').count()).toBe(0);
    await row.locator('[data-accion="editar"]').click();
    const form = p.locator(`form.plan-form[data-plan="${used.id}"]`);
    await form.locator('input[name="precio"]').fill('31,75');
    await form.locator('button[type=submit]').click();
    await expect.poll(() => row.locator('td[data-label="Precio"]').textContent(), POLL).toContain('31,75');
    await row.locator('[data-accion="retirar"]').click();
    await p.click('dialog[open] button[value="si"]');
    await expect.poll(() => row.getAttribute('data-retirado'), POLL).toBe('1');
    const after = (await running.app.inject({ url: `/api/planes/${used.id}`, headers: auth })).json();
    expect(after).toMatchObject({ precio: 31.75, retirado: true, clientes: used.clientes });
    // The new-client form does not offer it.
    await p.goto(`${running.url}/#/clientes/nuevo`);
    await p.waitForSelector('select[name="plan_id"]');
    const offered = await p
      .locator('select[name="plan_id"] option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(offered).not.toContain(String(used.id));
    await screenshot(p, 'planes');
    expect(errors).toEqual([]);
  });

  it('at 390 px every section of the navigation is in sight, "Ajustes" included', async () => {
    const p = await open({ phone: true });
    await p.goto(`${running.url}/#/`);
    await p.waitForSelector('.page h1');
    const links = await p.locator('#nav a').evaluateAll((as) =>
      as.map((a) => {
        const r = a.getBoundingClientRect();
        return { text: a.textContent, left: r.left, right: r.right, width: r.width };
      }),
    );
    expect(links.map((l) => l.text)).toContain('Ajustes');
    for (const l of links) {
      expect(l.width, l.text ?? '').toBeGreaterThan(0);
      expect(l.left, l.text ?? '').toBeGreaterThanOrEqual(0);
      expect(l.right, l.text ?? '').toBeLessThanOrEqual(390);
    }
    await p.click('#nav a:has-text("Ajustes")');
    await p.waitForSelector('#plantillas');
    await screenshot(p, 'telefono-menu');
    expect(errors.filter((e) => !e.includes('404') && !e.includes('409'))).toEqual([]);
  });
});
