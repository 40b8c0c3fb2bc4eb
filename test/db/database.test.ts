import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { acquireDataDirLock, DataDirLockedError, migrate, readMigrations } from '../../src/db/index.js';
import { createTestDb, describeEachDb, openSchema } from '../support/db.js';
import { spawnService } from '../support/process.js';

describeEachDb('database interface', (ctx) => {
  it('returns the same JS types on both databases', async () => {
    const { rows } = await ctx.db.query<Record<string, unknown>>(
      `SELECT 5::int8 AS big, 12.50::numeric(10,2) AS money, DATE '2026-03-01' AS day,
              TIMESTAMPTZ '2026-03-01 10:00:00+00' AS at, '{"a":1}'::jsonb AS doc`,
    );
    expect(rows[0]).toEqual({
      big: 5,
      money: 12.5,
      day: '2026-03-01',
      at: new Date('2026-03-01T10:00:00Z'),
      doc: { a: 1 },
    });
  });

  it('rolls a transaction back when it throws', async () => {
    await expect(
      ctx.db.transaction(async (tx) => {
        await tx.query(`INSERT INTO settings (key, value) VALUES ('rollback-probe', '1')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await ctx.db.query(`SELECT 1 FROM settings WHERE key = 'rollback-probe'`);
    expect(rows).toHaveLength(0);
  });

  it('re-running migrations applies nothing', async () => {
    expect(await migrate(ctx.db)).toEqual([]);
    const { rows } = await ctx.db.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY 1',
    );
    expect(rows.map((r) => r.version)).toEqual(readMigrations().map((m) => m.version));
  });

  it('computes due dates by the billing rules', async () => {
    const due = async (last: string, day: number | null) =>
      (await ctx.db.query<{ d: string }>('SELECT teltec_due_date($1::date, $2::int, 30) AS d', [last, day]))
        .rows[0]!.d;
    expect(await due('2026-11-03', null)).toBe('2026-12-03');
    expect(await due('2026-11-03', 5)).toBe('2026-12-05'); // paid the Nov 5 bill early
    expect(await due('2026-11-10', 5)).toBe('2026-12-05'); // paid the Nov 5 bill late
    expect(await due('2026-11-28', 5)).toBe('2027-01-05'); // paid the Dec 5 bill early
    expect(await due('2026-01-31', 28)).toBe('2026-02-28');
  });
});

describe.skipIf(!inject('postgresUrl'))('migrations on one PostgreSQL from two processes at once', () => {
  it('both start; every migration is applied exactly once', async () => {
    const base = await createTestDb('postgres', { migrate: false });
    try {
      const a = await openSchema(base.schema!);
      const b = await openSchema(base.schema!);
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const all = readMigrations().map((m) => m.version);
      expect([...ra, ...rb].sort((x, y) => x - y)).toEqual(all);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await base.close();
    }
  });
});

describe('PGlite data folder is one process’s', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'teltec-lock-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {});

  it('a second lock in the same folder is refused; released, it can be taken again', async () => {
    const dir = tmp();
    const first = await acquireDataDirLock(dir);
    await expect(acquireDataDirLock(dir)).rejects.toBeInstanceOf(DataDirLockedError);
    await first.release();
    const again = await acquireDataDirLock(dir);
    await again.release();
  });

  it('a second service on the same DATA_DIR exits at once with a Spanish message; the first keeps working; after kill -9 it starts again', async () => {
    const dataDir = tmp();
    const env = { DATA_DIR: dataDir, ADMIN_TOKEN: 'x'.repeat(20) };
    const first = spawnService(env);
    try {
      const address = await first.ready;
      const t0 = performance.now();
      const second = spawnService(env);
      const { code } = await second.exit;
      const took = performance.now() - t0;
      expect(code).toBe(3);
      expect(second.output()).toContain('ya está en uso por otro proceso');
      // Generous bound here (tsx compiles on start); the refusal itself happens before PGlite opens.
      expect(took).toBeLessThan(10_000);
      const health = await fetch(`${address}/health`);
      expect(health.status).toBe(200);
      first.child.kill('SIGKILL');
      await first.exit;
      const third = spawnService(env);
      try {
        const addr3 = await third.ready;
        expect((await fetch(`${addr3}/ready`)).status).toBe(200);
      } finally {
        third.child.kill('SIGTERM');
        expect((await third.exit).code).toBe(0);
      }
    } finally {
      first.child.kill('SIGKILL');
    }
  }, 180_000); // real processes: a cold PGlite start on a loaded machine takes tens of seconds

  it('without ADMIN_TOKEN, the first start creates a private token file and says where, once', async () => {
    const dataDir = tmp();
    const svc = spawnService({ DATA_DIR: dataDir });
    try {
      const address = await svc.ready;
      const file = path.join(dataDir, 'admin-token');
      expect(svc.output()).toContain(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const token = readFileSync(file, 'utf8').trim();
      expect(svc.output()).not.toContain(token);
      const res = await fetch(`${address}/api/clientes`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect((await fetch(`${address}/api/clientes`)).status).toBe(401);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
  }, 180_000); // real processes: a cold PGlite start on a loaded machine takes tens of seconds

  it('the first start migrates in the child that creates the folder: this process applies none, so it settles where a normal start does', async () => {
    const dataDir = tmp();
    const svc = spawnService({ DATA_DIR: dataDir, ADMIN_TOKEN: 'first-start-token-0123456789' });
    try {
      await svc.ready;
      const line = await svc.waitFor(/base de datos embebida/);
      expect(JSON.parse(line).migrationsApplied).toEqual([]);
      // …and every migration is in the folder it opened (/ready answers 503 while any is missing).
      expect((await fetch(`${svc.address}/ready`)).status).toBe(200);
    } finally {
      svc.child.kill('SIGTERM');
      await svc.exit;
    }
  }, 180_000); // real processes: a cold PGlite start on a loaded machine takes tens of seconds
});
