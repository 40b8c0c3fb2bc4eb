import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { type ServiceProcess, spawnService } from '../support/process.js';
import { describeBrowser, launchBrowser, newPage, screenshot } from './support/browser.js';
import { screenshotOnFailure, shownNumber, signIn, watchErrors } from './support/page.js';

const TOKEN = 'sandbox-admin-token-0123456789';

describeBrowser('sandbox mode, as a newcomer runs it (real process, no bot token)', () => {
  let browser: Browser;
  let svc: ServiceProcess;
  let dataDir: string;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let errors: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-sandbox-'));
    // A send window of the whole day: the test runs at any hour.
    const service = spawnService({ DATA_DIR: dataDir, ADMIN_TOKEN: TOKEN, SEND_WINDOW: '00:00-24:00' });
    svc = service;
    [browser] = await Promise.all([launchBrowser(), service.ready]);
  });
  afterAll(async () => {
    await browser?.close();
    if (svc) {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
    rmSync(dataDir, { recursive: true, force: true });
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

  it('says so in its first log line, and seeds 80 demo clients into the empty database', async () => {
    const first = JSON.parse(svc.output().split('\n')[0]!);
    expect(first.msg).toContain('MODO SANDBOX');
    expect(svc.output()).toContain('se crearon 80 clientes de prueba');
    const res = await fetch(`${svc.address}/api/clientes?por_pagina=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect((await res.json()).total).toBe(80);
  });

  it('every page carries the sandbox banner, also before signing in', async () => {
    const p = await open();
    for (const url of ['/', '/sandbox']) {
      await p.goto(`${svc.address}${url}`);
      await p.waitForSelector('#login');
      expect(await p.locator('#sandbox-banner').isVisible(), url).toBe(true);
      expect(await p.locator('#sandbox-banner').textContent()).toContain('Modo sandbox');
    }
    await signIn(p, svc.address, TOKEN);
    expect(await p.locator('#sandbox-banner').isVisible()).toBe(true);
    expect(await p.locator('#nav a[href="/sandbox"]').count()).toBe(1);
  });

  it('the chat page: the person types in a phone-like chat; the message reaches the simulated Telegram', async () => {
    const p = await open({ phone: true });
    await signIn(p, svc.address, TOKEN);
    await p.goto(`${svc.address}/sandbox`);
    await p.waitForSelector('#composer');
    await p.waitForSelector('#clientes-prueba [data-cedula]');
    await p.fill('#texto', '/start');
    await p.press('#texto', 'Enter');
    await p.waitForSelector('.bubble.cliente:has-text("/start")');
    await screenshot(p, 'sandbox-chat-telefono');
    expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
  });

  it('a person registers through the sandbox chat (cédula + shared contact) and the client becomes "vinculado"', async () => {
    const p = await open();
    await signIn(p, svc.address, TOKEN);
    await p.goto(`${svc.address}/sandbox`);
    // Play the first demo client without Telegram: its cédula and phone.
    const first = p.locator('#clientes-prueba [data-cedula]').first();
    await first.waitFor();
    const cedula = (await first.getAttribute('data-cedula'))!;
    await first.locator('button').click();
    expect(await p.inputValue('#mi-telefono')).toMatch(/^09\d{8}$/);

    await p.fill('#texto', '/start');
    await p.press('#texto', 'Enter');
    await p.waitForSelector('.bubble.bot:has-text("cédula")');
    await p.fill('#texto', cedula);
    await p.press('#texto', 'Enter');
    // The bot asks for the contact with a request_contact button; tapping it shares "Su teléfono".
    await p.click('#teclado button[data-contacto="1"]');
    await p.waitForSelector('.bubble.bot:has-text("vinculado")');
    await screenshot(p, 'sandbox-registro');

    await p.goto(`${svc.address}/#/clientes?buscar=${cedula}`);
    const badge = p.locator(`#tabla-clientes tr[data-cedula="${cedula}"] td[data-telegram] .badge`);
    await expect.poll(() => badge.getAttribute('data-valor')).toBe('vinculado');
    expect(await badge.textContent()).toContain('✓'); // verified by the contact
    await screenshot(p, 'sandbox-registro-clientes');
    expect(errors).toEqual([]);
  });

  it('a campaign for one sector: live audience, launch, progress to 100 %, and it arrives in the chat', async () => {
    const p = await open();
    await signIn(p, svc.address, TOKEN);
    const headers = { authorization: `Bearer ${TOKEN}` };
    const linked = await (
      await fetch(
        `${svc.address}/api/clientes?sector=Cumbay%C3%A1&telegram=si&estado=activo&por_pagina=100`,
        { headers },
      )
    ).json();
    expect(linked.total).toBeGreaterThan(0);

    await p.goto(`${svc.address}/#/campanas`);
    await p.waitForSelector('#form-campana');
    await p.selectOption('#form-campana [name=sector]', 'Cumbayá');
    await p.fill(
      '#form-campana [name=mensaje]',
      'Estimado/a {nombre}: el jueves haremos mantenimiento en Cumbayá.',
    );
    const audience = p.locator('[data-cifra=audiencia]');
    await audience.waitFor();
    const shown = Number(await audience.getAttribute('data-valor'));
    expect(shown).toBeGreaterThan(0);
    // Issue 11: SMS and e-mail are simulated too, so the audience is every active client of the
    // sector some channel reaches, not only the Telegram-linked ones.
    const sector = await (
      await fetch(`${svc.address}/api/clientes?sector=Cumbay%C3%A1&estado=activo&por_pagina=1`, { headers })
    ).json();
    expect(shown).toBeLessThanOrEqual(sector.total);
    await screenshot(p, 'campana-nueva');
    // A double click makes one campaign (Idempotency-Key), then the confirmation.
    await p.dblclick('#lanzar');
    await p.click('dialog button[value=si]');
    await p.waitForSelector('#progreso');
    const t0 = Date.now();
    await p.waitForSelector('[data-progreso="100"]', { timeout: 20_000 });
    console.log(`campaign to ${shown} clients: 100 % in ${Date.now() - t0} ms`);
    expect(await p.locator('#campana .badge').first().textContent()).toBe('Completada');
    await screenshot(p, 'campana-progreso');
    const campaigns = await (await fetch(`${svc.address}/api/campanas`, { headers })).json();
    expect(campaigns.total).toBe(1);
    expect(campaigns.campanas[0].progreso.enviadas).toBe(shown);

    // The message is in the simulated chat of one of those clients.
    const target = linked.clientes.find((c: { telegram: { bloqueado: boolean } }) => !c.telegram.bloqueado);
    await p.goto(`${svc.address}/sandbox`);
    await p.waitForSelector('#clientes-vinculados li button');
    const chat = await (
      await fetch(`${svc.address}/api/sandbox/chats/${target.telegram.chat_id}`, { headers })
    ).json();
    expect(chat.mensajes.some((m: { texto: string }) => m.texto.includes('mantenimiento en Cumbayá'))).toBe(
      true,
    );
    expect(errors).toEqual([]);
  });
  it('the WhatsApp phone beside the Telegram one: the client opts in with SI and asks ESTADO', async () => {
    const p = await open();
    await signIn(p, svc.address, TOKEN);
    await p.goto(`${svc.address}/sandbox`);
    await p.waitForSelector('#telefono-whatsapp');
    // A demo client with a WhatsApp number is preselected.
    await expect.poll(async () => p.inputValue('#wa-numero'), { timeout: 15_000 }).toMatch(/^09\d{8}$/);
    await p.fill('#wa-texto', 'Hola');
    await p.press('#wa-texto', 'Enter');
    const phone = p.locator('#telefono-whatsapp');
    await phone.locator('.bubble.bot:has-text("¿Desea recibir sus avisos")').waitFor({ timeout: 20_000 });
    await phone.locator('button:has-text("SI")').click();
    await phone.locator('.bubble.bot:has-text("desde ahora recibirá")').waitFor({ timeout: 20_000 });
    await phone.locator('button:has-text("ESTADO")').click();
    await phone.locator('.bubble.bot:has-text("Estado de su servicio")').waitFor({ timeout: 20_000 });
    expect(await phone.locator('#wa-ventana').textContent()).toContain('ventana abierta');
    await screenshot(p, 'sandbox-whatsapp');
    expect(errors).toEqual([]);
  });

  it('payment notices on demand from the sandbox page; the dashboard then shows what was sent', async () => {
    const p = await open();
    await signIn(p, svc.address, TOKEN);
    const headers = { authorization: `Bearer ${TOKEN}` };
    const stats = async () =>
      (await (await fetch(`${svc.address}/api/notificaciones/estadisticas/`, { headers })).json()) as {
        notificaciones: { enviadas: number; pendientes: number };
      };
    const before = (await stats()).notificaciones.enviadas;
    await p.goto(`${svc.address}/sandbox`);
    await p.click('button:has-text("Generar avisos de pago")');
    const report = p.locator('text=/Se crearon \\d+ avisos/');
    await report.waitFor();
    // The scheduler may have caught up today's run at start-up (after 08:00): then the notices
    // exist already and the button creates none — but every due client has one either way.
    const text = (await report.textContent())!;
    const created = Number(text.match(/Se crearon (\d+)/)![1]);
    const already = Number(text.match(/\((\d+) ya se habían avisado\)/)![1]);
    expect(created + already).toBeGreaterThan(0);
    // The dispatcher sends them on its own (the send window is the whole day here).
    // SMS and e-mail (simulated too) are paced: allow for a loaded machine.
    await expect.poll(async () => (await stats()).notificaciones.pendientes, { timeout: 40_000 }).toBe(0);
    const after = (await stats()).notificaciones.enviadas;
    expect(after).toBeGreaterThanOrEqual(before + created);
    expect(after).toBeGreaterThan(0);

    // Issue 11 §7: demo clients with neither Telegram nor WhatsApp got theirs by SMS or e-mail, and
    // the sandbox page shows that client's SMS inbox and mailbox.
    const list = (await (
      await fetch(`${svc.address}/api/notificaciones/?por_pagina=500`, { headers })
    ).json()) as { notificaciones: { cliente_id: number; canal: string; tipo: string }[] };
    const bySms = list.notificaciones.find(
      (n) => n.canal === 'sms' && ['recordatorio_pago', 'pago_vencido'].includes(n.tipo),
    );
    expect(bySms, 'a notice sent by SMS in the sandbox').toBeDefined();
    await p.evaluate(
      (id) => sessionStorage.setItem('teltec.sandbox.bandejas', String(id)),
      bySms!.cliente_id,
    );
    await p.goto(`${svc.address}/sandbox`);
    await p
      .locator('#bandeja-sms .inbox-text', { hasText: /^TelTec: / })
      .first()
      .waitFor({ timeout: 15_000 });
    await screenshot(p, 'sandbox-bandejas');
    // The client answers «SALIR» by SMS: the service records the SMS opt-out in their consents.
    await p.locator('#sms-salir').click();
    await p.locator('.toast', { hasText: 'ya no recibe SMS' }).waitFor({ timeout: 10_000 });
    const consents = (await (
      await fetch(`${svc.address}/api/clientes/${bySms!.cliente_id}/consentimientos`, { headers })
    ).json()) as { historial: { canal: string; categoria: string; otorgado: boolean; fuente: string }[] };
    expect(consents.historial).toContainEqual(
      expect.objectContaining({ canal: 'sms', categoria: 'servicio', otorgado: false, fuente: 'sms' }),
    );

    await p.goto(`${svc.address}/#/`);
    await p.waitForSelector('[data-cifra=enviadas] [data-valor]');
    expect(await shownNumber(p, 'enviadas')).toBe(after);
    expect(await shownNumber(p, 'vinculados')).toBeGreaterThan(0);
    await p.waitForSelector('#por-dia svg');
    await screenshot(p, 'sandbox-resumen');
    expect(errors).toEqual([]);
  }, 90_000);
});
