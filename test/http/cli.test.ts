import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliMain, runCli } from '../../src/cli.js';
import { createManualClock } from '../../src/clock.js';
import { acquireDataDirLock, openDatabase } from '../../src/db/index.js';
import { startStandin } from '../../src/telegram/standin/index.js';
import { cedulaFor } from '../support/fixtures.js';

describe('CLI', () => {
  it('migrates, imports a CSV reporting bad lines, and prints statistics', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-cli-'));
    process.env.DATA_DIR = dir;
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    expect(await runCli(['migrate'], out)).toBe(0);
    expect(lines.at(-1)).toMatch(/^Migraciones aplicadas: 1(, \d+)*$/);
    expect(await runCli(['migrate'], out)).toBe(0);
    expect(lines.at(-1)).toBe('La base de datos ya está al día.');
    const csv = path.join(dir, 'c.csv');
    writeFileSync(csv, `cedula,nombre\n${cedulaFor(1)},Ana Uno\n123,Malo\n${cedulaFor(2)},Beto Dos\n`);
    expect(await runCli(['importar', csv], out)).toBe(1);
    expect(lines).toContain('Creados: 2. Actualizados: 0. Con errores: 1.');
    expect(lines.at(-1)).toMatch(/línea 3: cedula/);
    expect(await runCli(['estadisticas'], out)).toBe(0);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ total_clientes: 2, con_telegram: 0 });
    expect(await runCli(['volar'], out)).toBe(2);
    // PGlite on disk, several opens: slow on a busy shared machine.
  }, 180_000);
});

describe('CLI entry', () => {
  it('a database in use by the running service is one clear line and exit 1, not a stack trace', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-cli-'));
    const saved = process.env.DATA_DIR;
    process.env.DATA_DIR = dir;
    const lock = await acquireDataDirLock(dir);
    const errors: string[] = [];
    try {
      expect(await cliMain(['migrate'], (l) => errors.push(l))).toBe(1);
    } finally {
      await lock.release();
      if (saved === undefined) delete process.env.DATA_DIR;
      else process.env.DATA_DIR = saved;
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^La base de datos embebida en .* ya está en uso por otro proceso de TelTec/);
    expect(errors[0]).not.toMatch(/\n\s+at /);
  });
});

describe('CLI: the engine by hand', () => {
  it('generar creates the day’s notices once; procesar sends them through Telegram once', async () => {
    const standin = await startStandin();
    const dir = mkdtempSync(path.join(tmpdir(), 'teltec-cli-'));
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATA_DIR: dir,
      TELEGRAM_BOT_TOKEN: standin.token,
      TELEGRAM_API_ROOT: standin.url,
      SEND_WINDOW: '08:00-20:00',
      LOG_LEVEL: 'warn',
    });
    // 10:00 in Guayaquil on 2026-03-10: inside the send window.
    const clock = createManualClock('2026-03-10T15:00:00Z');
    const lines: string[] = [];
    const out = (l: string) => lines.push(l);
    try {
      expect(await runCli(['migrate'], out, clock)).toBe(0);
      // A plan: a payment notice names the plan and its amount (notices without one are held).
      const setup = await openDatabase({ dataDir: dir });
      await setup.query(`INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar 50', 50, 25)`);
      await setup.close();
      const csv = path.join(dir, 'c.csv');
      // Paid 27 days ago (reminder window), 35 days ago (overdue), 3 days ago (nothing due).
      writeFileSync(
        csv,
        'cedula,nombre,fecha_ultimo_pago,plan\n' +
          `${cedulaFor(11)},Ana Recordatorio,2026-02-11,Hogar 50\n` +
          `${cedulaFor(12)},Beto Vencido,2026-02-03,Hogar 50\n` +
          `${cedulaFor(13)},Carla Al Día,2026-03-07,Hogar 50\n`,
      );
      expect(await runCli(['importar', csv], out, clock)).toBe(0);
      // Linked to Telegram (as the bot would do), chat = 5100 + n.
      const db = await openDatabase({ dataDir: dir });
      // With a plan: a payment notice without one has no amount and is not sent (compose).
      const plan = await db.query<{ id: number }>(
        `INSERT INTO plans (nombre, velocidad_mbps, precio) VALUES ('Hogar', 50, 25) RETURNING id`,
      );
      await db.query('UPDATE clients SET plan_id = $1', [plan.rows[0]!.id]);
      for (const n of [11, 12, 13]) {
        await db.query('UPDATE clients SET chat_id = $1 WHERE cedula = $2', [5100 + n, cedulaFor(n)]);
      }
      await db.close();

      expect(await runCli(['generar'], out, clock)).toBe(0);
      const first = JSON.parse(lines.at(-1)!);
      expect(first.por_tipo.recordatorio_pago.creadas).toBe(1);
      expect(first.por_tipo.pago_vencido.creadas).toBe(1);
      expect(await runCli(['generar'], out, clock)).toBe(0);
      expect(JSON.parse(lines.at(-1)!).total_creadas).toBe(0);

      expect(await runCli(['procesar'], out, clock)).toBe(0);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ enviadas: 2, fallidas: 0 });
      expect(standin.sent.map((m) => m.chat_id).sort()).toEqual([5111, 5112]);
      expect(await runCli(['procesar'], out, clock)).toBe(0);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ enviadas: 0 });
      expect(standin.sent).toHaveLength(2);

      delete process.env.TELEGRAM_BOT_TOKEN;
      expect(await runCli(['procesar'], out, clock)).toBe(2);
      expect(lines.at(-1)).toContain('TELEGRAM_BOT_TOKEN');
    } finally {
      process.env = saved;
      await standin.close();
    }
  }, 180_000);
});
