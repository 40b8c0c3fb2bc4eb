import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { backupStatus, createBackupScheduler, detectBackupFormat } from '../../src/backup/index.js';
import { createManualClock } from '../../src/clock.js';
import { createPostgresDb, type Db, migrate, openDatabase } from '../../src/db/index.js';
import type { ServiceProcess } from '../support/process.js';
import {
  cli,
  createFreshPgDatabase,
  fingerprint,
  freePort,
  seedBusinessData,
  startServiceProcess,
} from './support.js';

const silent = pino({ level: 'silent' });
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), `teltec-${p}-`));

/** One database of each kind, as the CLI sees it (settings) and as the test opens it. */
interface Target {
  env: Record<string, string>;
  open(): Promise<Db>;
  drop(): Promise<void>;
}

async function target(kind: 'pglite' | 'postgres'): Promise<Target> {
  if (kind === 'pglite') {
    const dir = tmp('datos');
    return {
      env: { DATA_DIR: dir },
      open: () => openDatabase({ dataDir: dir }),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const fresh = await createFreshPgDatabase();
  return {
    env: { DATA_DIR: tmp('datos-pg'), DATABASE_URL: fresh.url },
    open: () => createPostgresDb(fresh.url, { max: 2 }),
    drop: fresh.drop,
  };
}

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && !inject('postgresUrl') ? describe.skip : describe;
  d(`respaldo → restaurar [${kind}]`, () => {
    const made: Target[] = [];
    afterAll(async () => {
      for (const t of made) await t.drop();
    });

    it('restores the same clients, payments, notices and links into a fresh database; refuses a non-empty one', async () => {
      const source = await target(kind);
      const fresh = await target(kind);
      made.push(source, fresh);
      const db = await source.open();
      await migrate(db);
      await seedBusinessData(db);
      const before = await fingerprint(db);
      await db.close();
      expect(before.clients.filter((c) => c.chat_id !== null)).toHaveLength(8);

      const file = path.join(tmp('archivo'), 'copia');
      const backup = await cli(source.env, ['respaldo', file]);
      expect(backup.lines.join('\n')).toMatch(/^Respaldo guardado en .*copia \(\d/);
      expect(backup.code).toBe(0);
      expect(await detectBackupFormat(file)).toBe(kind);

      const restored = await cli(fresh.env, ['restaurar', file]);
      expect(restored.lines.join('\n')).toContain('12 clientes, 12 pagos, 12 notificaciones');
      expect(restored.code).toBe(0);
      const copy = await fresh.open();
      expect(await fingerprint(copy)).toEqual(before);
      // The manual backup is on record in the source, and the restored copy keeps working (sequences).
      const next = await copy.query<{ id: number }>(
        `INSERT INTO clients (cedula, nombre) VALUES ('0102030405', 'Nuevo') RETURNING id`,
      );
      expect(next.rows[0]!.id).toBe(13);
      await copy.close();

      // A database with data is never overwritten.
      const again = await cli(fresh.env, ['restaurar', file]);
      expect(again.code).toBe(1);
      expect(again.lines.join('\n')).toMatch(/no está vacía: tiene datos en clients/);
      const still = await fresh.open();
      expect((await fingerprint(still)).clients).toHaveLength(13);
      await still.close();

      const src = await source.open();
      const status = await backupStatus(src, new Date('2026-03-10T16:00:00Z'));
      expect(status).toMatchObject({ alerta: null, ultimo: { estado: 'correcto', origen: 'manual' } });
      await src.close();
    }, 120_000);

    it('refuses a file that is not a backup, or one of the other database kind, changing nothing', async () => {
      const t = await target(kind);
      made.push(t);
      const junk = path.join(tmp('junk'), 'x.txt');
      writeFileSync(junk, 'hola');
      const r1 = await cli(t.env, ['restaurar', junk]);
      expect(r1).toMatchObject({ code: 1, lines: [expect.stringMatching(/no es un respaldo de TelTec/)] });
      const other = path.join(tmp('other'), 'f');
      writeFileSync(other, kind === 'pglite' ? 'PGDMP\x01\x0e' : Buffer.from([0x1f, 0x8b, 8, 0]));
      const r2 = await cli(t.env, ['restaurar', other]);
      expect(r2.code).toBe(1);
      expect(r2.lines[0]).toMatch(kind === 'pglite' ? /defina DATABASE_URL/ : /quite DATABASE_URL/);
      expect(await cli(t.env, ['restaurar'])).toMatchObject({ code: 2 });
    });
  });
}

describe('respaldo with the service running on the embedded database', () => {
  let svc: ServiceProcess | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    if (svc && svc.child.exitCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the CLI asks the service (same PORT/DATA_DIR, token file) and the copy restores elsewhere', async () => {
    const dataDir = tmp('servicio');
    const restoreDir = tmp('restaurado');
    dirs.push(dataDir, restoreDir);
    const db = await openDatabase({ dataDir });
    await migrate(db);
    await seedBusinessData(db, 5);
    const before = await fingerprint(db);
    await db.close();

    const port = String(await freePort());
    const started = await startServiceProcess({ DATA_DIR: dataDir, PORT: port, BACKUP_TIME: 'no' });
    svc = started.svc;
    const address = started.address;
    // Without the token: 401, no backup.
    expect((await fetch(`${address}/api/respaldo`)).status).toBe(401);

    const file = path.join(restoreDir, '..', `${path.basename(restoreDir)}.pglite.tar.gz`);
    dirs.push(file);
    const r = await cli({ DATA_DIR: dataDir, PORT: port }, ['respaldo', file]);
    expect(r.lines[0]).toMatch(/pedido al servicio en marcha/);
    expect(r.code).toBe(0);
    // While the service runs, restoring into its folder is refused with what to do.
    const busy = await cli({ DATA_DIR: dataDir, PORT: port }, ['restaurar', file]);
    expect(busy).toMatchObject({ code: 1, lines: [expect.stringMatching(/deténgalo antes de restaurar/)] });

    expect((await cli({ DATA_DIR: restoreDir }, ['restaurar', file])).code).toBe(0);
    // The running service works meanwhile (sandbox sends, daily generation): the seeded data is all there.
    const copy = await openDatabase({ dataDir: restoreDir });
    const after = await fingerprint(copy);
    await copy.close();
    expect({ ...after, notifications: undefined }).toEqual({ ...before, notifications: undefined });
    const seeded = (rows: typeof before.notifications) =>
      rows
        .filter((n) => String(n.dedupe_key).startsWith('ops-test-'))
        .map((n) => ({ id: n.id, mensaje: n.mensaje, client_id: n.client_id }));
    expect(seeded(after.notifications)).toEqual(seeded(before.notifications));
    expect(seeded(after.notifications)).toHaveLength(5);

    // The service knows about the download (Resumen reads this).
    const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const estado = await fetch(`${address}/api/respaldo/estado`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((x) => x.json());
    expect(estado).toMatchObject({
      alerta: null,
      ultimo: { estado: 'correcto', origen: 'manual' },
      programado: null,
    });

    // diagnostico, like respaldo, asks the running service.
    const diag = await cli({ DATA_DIR: dataDir, PORT: port }, ['diagnostico']);
    expect(diag.lines[0]).toMatch(/diagnóstico hecho por el servicio en marcha/);
    // In sandbox mode the service's Telegram is its built-in stand-in: the token it holds works.
    expect(diag.lines.find((l) => l.includes('Telegram (token)'))).toMatch(
      /^✔ Telegram \(token\): Token válido/,
    );
    expect(diag.lines.find((l) => l.includes('Base de datos'))).toMatch(/^✔ Base de datos: base embebida/);
    expect(diag.lines.find((l) => l.includes('Respaldos:'))).toMatch(
      /^✔ Respaldos: Último respaldo correcto hace 0 horas/,
    );
    expect(diag.code).toBe(diag.lines.some((l) => l.startsWith('✖')) ? 1 : 0);

    // A wrong PORT: a clear message, not a stack trace.
    const lost = await cli({ DATA_DIR: dataDir, PORT: String(await freePort()) }, ['respaldo', file + '2']);
    expect(lost.code).toBe(1);
    expect(lost.lines[0]).toMatch(/no responde en http:\/\/127\.0\.0\.1:\d+/);
  }, 120_000);
});

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && !inject('postgresUrl') ? describe.skip : describe;
  d(`daily backup [${kind}]`, () => {
    it('runs once per slot across instances, keeps the newest N, and reports failure and age', async () => {
      const t = await target(kind);
      const db = await t.open();
      // PGlite is one process's database: the "second instance" is the same one.
      const db2 = kind === 'postgres' ? await t.open() : db;
      const dir = tmp('respaldos');
      try {
        await migrate(db);
        await seedBusinessData(db, 2);
        // 03:00 in Guayaquil: today's 02:30 slot is due.
        const clock = createManualClock('2026-03-10T08:00:00Z');
        const opts = { clock, logger: silent, timeZone: 'America/Guayaquil', dailyAt: '02:30', dir, keep: 3 };
        const a = createBackupScheduler({ ...opts, db, databaseUrl: t.env.DATABASE_URL });
        const b = createBackupScheduler({ ...opts, db: db2, databaseUrl: t.env.DATABASE_URL });
        const first = await Promise.all([a.runOnce(), b.runOnce()]);
        expect(first.map((r) => r?.resultado).sort()).toEqual(['respaldado', 'ya_ejecutado']);
        expect((await a.runOnce())?.resultado).toBe('ya_ejecutado');
        for (let day = 11; day <= 14; day++) {
          clock.set(`2026-03-${day}T08:00:00Z`);
          expect((await a.runOnce())?.resultado).toBe('respaldado');
        }
        const files = readdirSync(dir).sort();
        expect(files).toHaveLength(3);
        expect(files[0]).toMatch(/^teltec-respaldo-20260312-080000\./);
        expect(await backupStatus(db, clock.now())).toMatchObject({ alerta: null });

        // Two days later, nothing new: the last good one is old.
        clock.set('2026-03-16T07:00:00Z');
        expect(await backupStatus(db, clock.now())).toMatchObject({ alerta: 'antiguo' });
        // BACKUP_DIR unusable (a file in the way): a failed run, on record, retried later.
        const blocked = path.join(dir, 'no-es-carpeta');
        writeFileSync(blocked, '');
        const broken = createBackupScheduler({
          ...opts,
          db,
          dir: path.join(blocked, 'x'),
          databaseUrl: t.env.DATABASE_URL,
        });
        clock.set('2026-03-16T08:00:00Z');
        const failed = await broken.runOnce();
        expect(failed).toMatchObject({ resultado: 'fallido' });
        const st = await backupStatus(db, clock.now());
        expect(st).toMatchObject({ alerta: 'fallido', ultimo: { estado: 'fallido' } });
        expect(st.mensaje).toMatch(/El último respaldo falló/);
        // Staff alerts (issue 15 §5): one open incident, closed by the next good backup.
        const openAlerts = () =>
          db.query<{ clave: string }>(`SELECT clave FROM staff_alerts WHERE estado = 'activa'`);
        expect((await openAlerts()).rows).toEqual([{ clave: 'respaldo_fallido' }]);
        expect((await broken.runOnce())?.resultado).toBe('ya_ejecutado');
        clock.set('2026-03-16T09:30:00Z');
        expect((await a.runOnce())?.resultado).toBe('respaldado');
        expect(await backupStatus(db, clock.now())).toMatchObject({ alerta: null });
        expect((await openAlerts()).rows).toEqual([]);
        expect(existsSync(path.join(dir, 'no-es-carpeta'))).toBe(true);
      } finally {
        if (db2 !== db) await db2.close();
        await db.close();
        await t.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
