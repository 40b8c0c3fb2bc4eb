import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { toEngineSettings } from '../../src/notifications/index.js';
import { recordReceipt, sha256Hex, storeReceiptFile } from '../../src/receipts/index.js';
import { testConfig } from '../support/app.js';
import { type RunningApp, startApp } from './support/app.js';
import { BROWSER_SETUP_MS, describeBrowser, launchBrowser, newPage } from './support/browser.js';
import { screenshotOnFailure, shownNumber, signIn, watchErrors } from './support/page.js';

// Issue 13 §3: staff walk the review queue in Chromium — the count on Resumen, the receipt's image
// beside the client, approve with the prefilled amount and date, reject with a reason.

const POLL = { timeout: 15_000 };
const NOW = '2026-03-10T15:00:00Z';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const PDF = Buffer.from('%PDF-1.4\n% comprobante de prueba\n');

describeBrowser('admin page: Comprobantes (review queue)', () => {
  let browser: Browser;
  let running: RunningApp;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let dataDir: string;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-browser-comprobantes-'));
    [browser, running] = await Promise.all([
      launchBrowser(),
      startApp({ now: NOW, env: { DATA_DIR: dataDir } }),
    ]);
    const db = running.db;
    const plan = await db.query<{ id: number }>(
      `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 30', 30, 20) RETURNING id`,
    );
    const settings = toEngineSettings(testConfig({ DATA_DIR: dataDir }));
    for (const [i, [nombre, bytes, mime]] of (
      [
        ['Ana Quispe', PNG, 'image/png'],
        ['Luis Andrade', PDF, 'application/pdf'],
      ] as const
    ).entries()) {
      const c = await db.query<{ id: number }>(
        `INSERT INTO clients (cedula, nombre, plan_id, fecha_ultimo_pago, chat_id, link_verified)
         VALUES ($1, $2, $3, '2026-02-08', $4, true) RETURNING id`,
        [`17000000${i}${i}`, nombre, plan.rows[0]!.id, 880_000 + i],
      );
      const clientId = c.rows[0]!.id;
      const archivo = storeReceiptFile(dataDir, clientId, bytes, mime);
      const r = await db.transaction((tx) =>
        recordReceipt(
          tx,
          {
            clientId,
            chatId: 880_000 + i,
            mime,
            size: bytes.length,
            sha256: sha256Hex(bytes),
            archivo,
            pauseDays: 3,
          },
          { settings, today: '2026-03-10', now: new Date(NOW) },
        ),
      );
      if (!r.ok) throw new Error('receipt not recorded');
      ids[nombre] = r.id;
    }
  }, BROWSER_SETUP_MS);
  afterAll(async () => {
    await browser?.close();
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  screenshotOnFailure(() => page);
  afterEach(async () => {
    await context?.close();
    context = undefined;
    page = undefined;
  });

  it('Resumen counts the receipts to review; the queue shows the image beside the client; approve and reject', async () => {
    ({ context, page } = await newPage(browser));
    const p = page;
    const errors = watchErrors(p);
    await signIn(p, running.url, running.token);
    expect(await shownNumber(p, 'comprobantes')).toBe(2);

    // The client page says the notices pause while the receipt is reviewed.
    const anaId = (
      await running.db.query<{ client_id: number }>('SELECT client_id FROM payment_receipts WHERE id = $1', [
        ids['Ana Quispe'],
      ])
    ).rows[0]!.client_id;
    await p.goto(`${running.url}/#/clientes/${anaId}`);
    await p.waitForSelector('#comprobantes-cliente [data-pausa="comprobante"]');
    expect(await p.locator('#comprobantes-cliente').textContent()).toContain('en pausa hasta el');

    await p.click('#nav a[data-path="/comprobantes"]');
    await p.waitForSelector('#comprobantes-lista tr[data-id]');
    expect(await p.locator('#comprobantes-lista tr[data-id]').count()).toBe(2);

    // The image receipt, beside the client and what they owe.
    await p.click(`#comprobantes-lista tr[data-id="${ids['Ana Quispe']}"] a`);
    await p.waitForSelector('#comprobante-imagen');
    await expect
      .poll(
        () => p.locator('#comprobante-imagen').evaluate((img: HTMLImageElement) => img.naturalWidth),
        POLL,
      )
      .toBe(1);
    expect(await p.locator('#comprobante-cliente').textContent()).toContain('Ana Quispe');
    expect(await p.locator('#comprobante-cliente').textContent()).toContain('Hogar 30');
    // Prefilled: the amount owed and today.
    expect(await p.inputValue('#comprobante-aprobar [name=monto]')).toBe('20');
    expect(await p.inputValue('#comprobante-aprobar [name=fecha]')).toBe('2026-03-10');
    await p.fill('#comprobante-aprobar [name=referencia]', 'PICH-000123');
    await p.click('#btn-aprobar');
    await expect
      .poll(() => p.locator(`#comprobantes-lista tr[data-id="${ids['Ana Quispe']}"]`).count(), POLL)
      .toBe(0);
    const pagos = await running.db.query<{ monto: string; referencia: string }>(
      `SELECT p.monto, p.referencia FROM payments p JOIN clients c ON c.id = p.client_id WHERE c.nombre = 'Ana Quispe'`,
    );
    expect(pagos.rows).toEqual([{ monto: expect.anything(), referencia: 'PICH-000123' }]);
    expect(Number(pagos.rows[0]!.monto)).toBe(20);

    // The PDF one is rejected with a reason the client will read.
    await p.click(`#comprobantes-lista tr[data-id="${ids['Luis Andrade']}"] a`);
    await p.waitForSelector('#comprobante-pdf');
    await p.fill('#comprobante-aprobar [name=motivo]', 'El valor no se lee');
    await p.click('#btn-rechazar');
    await p.waitForSelector('#comprobantes-vacio', POLL);
    const rej = await running.db.query<{ estado: string; motivo_rechazo: string }>(
      'SELECT estado, motivo_rechazo FROM payment_receipts WHERE id = $1',
      [ids['Luis Andrade']],
    );
    expect(rej.rows[0]).toEqual({ estado: 'rechazado', motivo_rechazo: 'El valor no se lee' });
    const msg = await running.db.query<{ mensaje: string }>(
      `SELECT mensaje FROM notifications WHERE dedupe_key = $1`,
      [`comprobante_rechazado:${ids['Luis Andrade']}`],
    );
    expect(msg.rows[0]?.mensaje).toContain('El valor no se lee');

    // The approved tab shows it with its reviewer.
    await p.click('button[data-estado="aprobado"]');
    await p.waitForSelector(`#comprobantes-lista tr[data-id="${ids['Ana Quispe']}"]`);
    expect(errors).toEqual([]);
  });
});
