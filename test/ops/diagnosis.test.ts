import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordManualBackup } from '../../src/backup/index.js';
import { createManualClock } from '../../src/clock.js';
import { createPgliteDb, type Db } from '../../src/db/index.js';
import { type CheckResult, formatDiagnosis, runDiagnosis } from '../../src/diagnosis/index.js';
import { type Standin, startStandin } from '../../src/telegram/standin/index.js';
import { auth, buildTestApp, testConfig } from '../support/app.js';
import { describeEachDb } from '../support/db.js';
import { cli, freePort } from './support.js';

const WEBHOOK = '/api/notificaciones/telegram/webhook/';
const plenty = async () => ({ free: 50 * 1024 ** 3, total: 100 * 1024 ** 3 });

function byId(checks: CheckResult[]) {
  return Object.fromEntries(checks.map((c) => [c.id, c]));
}

async function setWebhook(standin: Standin, url: string) {
  const r = await fetch(`${standin.url}/bot${standin.token}/setWebhook?url=${encodeURIComponent(url)}`);
  expect(r.status).toBe(200);
}

describe('diagnostico: every check can fail, with what to do', () => {
  let standin: Standin;
  let db: Db;
  beforeAll(async () => {
    standin = await startStandin();
    db = await createPgliteDb();
    const { migrate } = await import('../../src/db/index.js');
    await migrate(db);
  });
  afterAll(async () => {
    await standin.close();
    await db.close();
  });

  /** Telegram compares against real time (its Date header): the clock is "now", shifted on purpose. */
  const realClock = (shiftMs = 0) => createManualClock(new Date(Date.now() + shiftMs).toISOString());

  it('all green with a valid token, the webhook at PUBLIC_URL, a recent backup and room on disk', async () => {
    const clock = realClock();
    await recordManualBackup(db, {
      status: 'ok',
      file: 'x',
      bytes: 10,
      startedAt: clock.now(),
      finishedAt: clock.now(),
    });
    await setWebhook(standin, `https://teltec.example.ec${WEBHOOK}`);
    const config = testConfig({
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
      PUBLIC_URL: 'https://teltec.example.ec',
    });
    const d = await runDiagnosis({ config, db, clock, diskUsage: plenty });
    const c = byId(d.comprobaciones);
    expect(d.comprobaciones.filter((x) => x.estado === 'fallo')).toEqual([]);
    expect(d.correcto).toBe(true);
    expect(c.base_de_datos!.detalle).toMatch(/PGlite.*ninguna pendiente/);
    expect(c.telegram_token!.detalle).toContain(`@${standin.botInfo.username}`);
    expect(c.telegram_webhook!.detalle).toContain(`https://teltec.example.ec${WEBHOOK}`);
    // Channels that this version does not have: a "—" line, never a failure.
    for (const id of ['whatsapp', 'correo', 'sms']) expect(c[id]!.estado).toBe('no_configurado');
    expect(c.reloj!.detalle).toMatch(/diferencia con Telegram \d+ s/);
    const lines = formatDiagnosis(d);
    expect(lines.filter((l) => l.startsWith('✔'))).toHaveLength(7);
    expect(lines.filter((l) => l.startsWith('—'))).toHaveLength(3);
    expect(lines.at(-1)).toBe('Todo en orden.');
  });

  it('a token Telegram rejects (401): both Telegram lines fail, saying to ask @BotFather', async () => {
    const config = testConfig({
      TELEGRAM_BOT_TOKEN: '123456:WRONG-token-for-tests',
      TELEGRAM_API_ROOT: standin.url,
    });
    const d = await runDiagnosis({ config, db, clock: realClock(), diskUsage: plenty });
    const c = byId(d.comprobaciones);
    expect(d.correcto).toBe(false);
    expect(c.telegram_token).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/rechazó el token \(401/),
    });
    expect(c.telegram_token!.accion).toMatch(/@BotFather/);
    expect(c.telegram_webhook!.estado).toBe('fallo');
    expect(JSON.stringify(d)).not.toContain('WRONG-token');
  });

  it('Telegram unreachable', async () => {
    const closed = await freePort();
    const config = testConfig({
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: `http://127.0.0.1:${closed}`,
    });
    const c = byId(
      (await runDiagnosis({ config, db, clock: realClock(), diskUsage: plenty })).comprobaciones,
    );
    expect(c.telegram_token).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/ECONNREFUSED/),
    });
    expect(c.telegram_token!.accion).toMatch(/cortafuegos/);
  });

  it('the webhook: elsewhere than PUBLIC_URL; failing deliveries; set while the service polls; updates piling up', async () => {
    const base = { TELEGRAM_BOT_TOKEN: standin.token, TELEGRAM_API_ROOT: standin.url };
    const run = async (env: Record<string, string>, extra = {}) =>
      byId(
        (
          await runDiagnosis({
            config: testConfig({ ...base, ...env }),
            db,
            clock: realClock(),
            diskUsage: plenty,
            ...extra,
          })
        ).comprobaciones,
      ).telegram_webhook!;

    await setWebhook(standin, `https://otro.example.ec${WEBHOOK}`);
    const elsewhere = await run({ PUBLIC_URL: 'https://teltec.example.ec' });
    expect(elsewhere).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/otro\.example\.ec.*debería ser/),
    });
    expect(elsewhere.accion).toMatch(/Reinicie el servicio/);

    // Nobody listens at PUBLIC_URL: Telegram's deliveries fail and say why.
    const closed = `http://127.0.0.1:${await freePort()}`;
    await setWebhook(standin, closed + WEBHOOK);
    await standin.user({ chatId: 90001 }).send('hola');
    const failing = await run({ PUBLIC_URL: closed });
    expect(failing).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/no pudo entregar.*Connection refused/),
    });
    expect(failing.accion).toMatch(/HTTPS desde Internet/);

    const polling = await run({});
    expect(polling).toMatchObject({ estado: 'fallo', detalle: expect.stringMatching(/long polling/) });

    // Long polling that nobody runs: updates pile up.
    await fetch(`${standin.url}/bot${standin.token}/deleteWebhook`);
    for (let i = 0; i < 3; i++) await standin.user({ chatId: 90002 + i }).send('hola');
    const piling = await run({}, { maxPendingUpdates: 2 });
    expect(piling).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/\d+ actualizaciones esperan/),
    });
    expect((await run({}, { maxPendingUpdates: 1000 })).estado).toBe('ok');
  });

  it('the clock off by ten minutes against Telegram’s', async () => {
    const config = testConfig({ TELEGRAM_BOT_TOKEN: standin.token, TELEGRAM_API_ROOT: standin.url });
    const c = byId(
      (await runDiagnosis({ config, db, clock: realClock(600_000), diskUsage: plenty })).comprobaciones,
    );
    expect(c.reloj).toMatchObject({ estado: 'fallo', detalle: expect.stringMatching(/adelantado/) });
    expect(c.reloj!.accion).toMatch(/timedatectl set-ntp true/);
  });

  it('a nearly full disk', async () => {
    const config = testConfig();
    const full = async () => ({ free: 300 * 1024 ** 2, total: 20 * 1024 ** 3 });
    const c = byId((await runDiagnosis({ config, db, clock: realClock(), diskUsage: full })).comprobaciones);
    expect(c.disco).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/Quedan 0\.3 GB libres \(1 %\)/),
    });
    // Without a token the Telegram lines are "—", not failures.
    expect(c.telegram_token!.estado).toBe('no_configurado');
  });

  it('the send window, open or closed at the injected hour (never a failure)', async () => {
    const config = testConfig({ SEND_WINDOW: '08:00-20:00' });
    const at = async (iso: string) =>
      byId(
        (await runDiagnosis({ config, db, clock: createManualClock(iso), diskUsage: plenty })).comprobaciones,
      ).ventana_envio!;
    expect(await at('2026-03-10T15:00:00Z')).toMatchObject({
      estado: 'ok',
      detalle: expect.stringMatching(/^Abierta ahora .*son las 10:00/),
    });
    expect(await at('2026-03-11T02:00:00Z')).toMatchObject({
      estado: 'ok',
      detalle: expect.stringMatching(/^Cerrada ahora .*hasta las 08:00/),
    });
  });
});

describeEachDb('diagnostico: database and backups', (ctx) => {
  it('pending migrations, an unreachable database, no backup, a failed backup', async () => {
    const config = testConfig();
    const clock = createManualClock('2026-03-10T15:00:00Z');
    const fresh = await createPgliteDb();
    try {
      const c = byId((await runDiagnosis({ config, db: fresh, clock, diskUsage: plenty })).comprobaciones);
      expect(c.base_de_datos).toMatchObject({
        estado: 'fallo',
        detalle: expect.stringMatching(/faltan migraciones \(1, 2/),
      });
      expect(c.base_de_datos!.accion).toMatch(/npx teltec migrate/);
    } finally {
      await fresh.close();
    }
    const none = byId(
      (
        await runDiagnosis({
          config,
          db: null,
          dbError: 'connect ECONNREFUSED 127.0.0.1:5432',
          clock,
          diskUsage: plenty,
        })
      ).comprobaciones,
    );
    expect(none.base_de_datos).toMatchObject({
      estado: 'fallo',
      detalle: expect.stringMatching(/ECONNREFUSED/),
    });

    const d1 = byId((await runDiagnosis({ config, db: ctx.db, clock, diskUsage: plenty })).comprobaciones);
    expect(d1.base_de_datos!.estado).toBe('ok');
    expect(d1.respaldo).toMatchObject({ estado: 'fallo', detalle: expect.stringMatching(/ningún respaldo/) });
    await recordManualBackup(ctx.db, {
      status: 'failed',
      error: 'ENOSPC: no space left on device',
      startedAt: clock.now(),
      finishedAt: clock.now(),
    });
    const d2 = byId((await runDiagnosis({ config, db: ctx.db, clock, diskUsage: plenty })).comprobaciones);
    expect(d2.respaldo).toMatchObject({ estado: 'fallo', detalle: expect.stringMatching(/falló: ENOSPC/) });
  }, 120_000);

  it('GET /api/diagnostico answers the same checks (admin only)', async () => {
    const { app } = await buildTestApp(ctx.db);
    try {
      expect((await app.inject({ url: '/api/diagnostico' })).statusCode).toBe(401);
      const r = await app.inject({ url: '/api/diagnostico', headers: auth });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.comprobaciones.map((c: CheckResult) => c.id)).toEqual([
        'base_de_datos',
        'telegram_token',
        'telegram_webhook',
        'whatsapp',
        'correo',
        'sms',
        'reloj',
        'disco',
        'respaldo',
        'ventana_envio',
      ]);
    } finally {
      await app.close();
    }
  });
});

describe('teltec diagnostico (CLI)', () => {
  it('prints ✔/✖/— lines with what to do, and exits 1 on any ✖', async () => {
    const standin = await startStandin();
    const { mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/teltec-diag-');
    try {
      const r = await cli(
        { DATA_DIR: dir, TELEGRAM_BOT_TOKEN: '123456:WRONG-token-for-tests', TELEGRAM_API_ROOT: standin.url },
        ['diagnostico'],
      );
      expect(r.code).toBe(1);
      expect(r.lines.find((l) => l.startsWith('✖ Telegram (token)'))).toMatch(/401/);
      expect(r.lines).toContain('— WhatsApp: No configurado (canal aún no disponible en esta versión).');
      expect(r.lines.some((l) => l.startsWith('    → '))).toBe(true);
      expect(r.lines.at(-1)).toMatch(/comprobación\(es\) con problemas/);
    } finally {
      await standin.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
