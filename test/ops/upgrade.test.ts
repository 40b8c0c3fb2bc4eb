import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/index.js';
import { migrationsDir } from '../../src/paths.js';
import { createTestDb } from '../support/db.js';
import { fingerprint, seedBusinessData } from './support.js';

/**
 * Upgrades: a database made by the previous release (its migrations, copied from git at 87f6e6a
 * into fixtures/, so a shallow CI clone has them too) and holding data, migrated to this one.
 */
const previous = readMigrations(path.join(import.meta.dirname, 'fixtures', 'release-87f6e6a'));

describe('migrations are forward-only', () => {
  it('the previous release’s migrations are unchanged here (only new files are added)', () => {
    const current = readMigrations(migrationsDir);
    for (const old of previous) {
      expect(current.find((m) => m.version === old.version)?.sql, `migración ${old.version}`).toBe(old.sql);
    }
    const versions = current.map((m) => m.version);
    expect(new Set(versions).size).toBe(versions.length);
    expect(Math.min(...versions.filter((v) => !previous.some((p) => p.version === v)))).toBeGreaterThan(
      Math.max(...previous.map((p) => p.version)),
    );
  });
});

for (const kind of ['pglite', 'postgres'] as const) {
  const d = kind === 'postgres' && !inject('postgresUrl') ? describe.skip : describe;
  d(`upgrade from the previous release [${kind}]`, () => {
    it('keeps every client, payment, notice, link, template and invitation', async () => {
      const db = await createTestDb(kind, { migrate: false });
      try {
        expect(await migrate(db, previous)).toEqual([1, 2, 3, 4]);
        await seedBusinessData(db, 15);
        // What the previous release also kept: templates, bot state, invitations, the audit log.
        await db.query(
          `INSERT INTO templates (tipo, texto, updated_by) VALUES ('recordatorio_pago', 'Hola {nombre}', 'admin')`,
        );
        await db.query(
          `INSERT INTO bot_chats (chat_id, user_id, estado, client_id, first_seen_at, updated_at)
           VALUES (880001, 880001, 'inicio', 1, now(), now())`,
        );
        await db.query(
          `INSERT INTO bot_invitations (client_id, token, created_at, expires_at)
           VALUES (3, 'tokenDeInvitacion0123456789', now(), now() + interval '30 days')`,
        );
        await db.query(
          `INSERT INTO audit_log (actor, accion, detalles) VALUES ('admin', 'clientes.crear', '{"id": 1}')`,
        );
        await db.query(
          `INSERT INTO job_runs (job, slot, instance, started_at, finished_at, resultado)
           VALUES ('generacion_diaria', '2026-03-10T13:00:00Z', 'old', now(), now(), '{}')`,
        );
        const before = await fingerprint(db);
        const extras = async () => ({
          templates: (await db.query('SELECT tipo, texto FROM templates ORDER BY id')).rows,
          chats: (await db.query('SELECT chat_id, client_id FROM bot_chats ORDER BY chat_id')).rows,
          invitations: (await db.query('SELECT client_id, token FROM bot_invitations ORDER BY id')).rows,
          audit: (await db.query('SELECT actor, accion, detalles FROM audit_log ORDER BY id')).rows,
          jobs: (await db.query('SELECT job, slot FROM job_runs')).rows,
        });
        const extraBefore = await extras();

        const applied = await migrate(db);
        const newer = readMigrations(migrationsDir)
          .map((m) => m.version)
          .filter((v) => v > 4);
        expect(applied).toEqual(newer);
        expect(await fingerprint(db)).toEqual(before);
        expect(await extras()).toEqual(extraBefore);
        expect(await migrate(db)).toEqual([]);
        // The upgraded database works: a new client takes the next id, the backups table exists.
        const r = await db.query<{ id: number }>(
          `INSERT INTO clients (cedula, nombre) VALUES ('0102030405', 'Después') RETURNING id`,
        );
        expect(r.rows[0]!.id).toBe(16);
        expect((await db.query('SELECT count(*)::int AS n FROM backups')).rows[0]).toEqual({ n: 0 });
      } finally {
        await db.close();
      }
    }, 120_000);

    it('a failing migration changes nothing (all pending ones run in one transaction)', async () => {
      const db = await createTestDb(kind, { migrate: false });
      try {
        await migrate(db, previous);
        const broken = [
          ...readMigrations(migrationsDir),
          { version: 999, name: 'broken', sql: 'CREATE TABLE half_done (id int); SELECT 1/0;' },
        ];
        await expect(migrate(db, broken)).rejects.toThrow(/division by zero/);
        const { rows } = await db.query<{ v: number }>(
          'SELECT max(version)::int AS v FROM schema_migrations',
        );
        expect(rows[0]!.v).toBe(4);
        const t = await db.query<{ t: string | null }>(`SELECT to_regclass('half_done')::text AS t`);
        expect(t.rows[0]!.t).toBeNull();
        const b = await db.query<{ t: string | null }>(`SELECT to_regclass('backups')::text AS t`);
        expect(b.rows[0]!.t).toBeNull();
      } finally {
        await db.close();
      }
    }, 120_000);
  });
}
