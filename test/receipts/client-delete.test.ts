import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { toEngineSettings } from '../../src/notifications/index.js';
import { takeReceipt } from '../../src/receipts/index.js';
import { seedClients } from '../notifications/support.js';
import { auth, buildTestApp } from '../support/app.js';
import { describeEachDb } from '../support/db.js';

/** Receipt files do not outlive their client (issue 13 §2: stored safely, and only while needed). */
describeEachDb('Receipt files go with their client', (ctx) => {
  let dataDir: string;
  let t: Awaited<ReturnType<typeof buildTestApp>>;
  const JPEG = (seed: number) =>
    Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), Buffer.from(`foto ${seed} `.repeat(40))]);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'teltec-borrar-comprobantes-'));
    t = await buildTestApp(ctx.db, { env: { DATA_DIR: dataDir } });
  });
  afterAll(async () => {
    await t.app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('deleting a client removes its files under DATA_DIR/comprobantes, and only its own', async () => {
    const [gone, kept] = await seedClients(ctx.db, [{ pago: '2026-02-20' }, { pago: '2026-02-20' }]);
    const store = (clientId: number, seed: number) =>
      takeReceipt(
        ctx.db,
        { dataDir, clientId, chatId: null, bytes: JPEG(seed), pauseDays: 3 },
        { settings: toEngineSettings(t.config), today: '2026-03-10', now: t.clock.now() },
      );
    expect(await store(gone!, 1)).toMatchObject({ ok: true });
    expect(await store(gone!, 2)).toMatchObject({ ok: true });
    expect(await store(kept!, 3)).toMatchObject({ ok: true });
    const folder = (id: number) => path.join(dataDir, 'comprobantes', String(id));
    expect(readdirSync(folder(gone!))).toHaveLength(2);

    const res = await t.app.inject({ method: 'DELETE', url: `/api/clientes/${gone}`, headers: auth });
    expect(res.statusCode).toBe(204);
    expect(existsSync(folder(gone!))).toBe(false);
    expect(readdirSync(folder(kept!))).toHaveLength(1);
    const rows = await ctx.db.query('SELECT 1 FROM payment_receipts WHERE client_id = $1', [gone]);
    expect(rows.rows).toHaveLength(0);
    // Deleting again: 404, nothing else touched.
    const again = await t.app.inject({ method: 'DELETE', url: `/api/clientes/${gone}`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(readdirSync(folder(kept!))).toHaveLength(1);
  });
});
