import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { createPgliteDb, createPostgresDb, type Db, migrate, type Queryable } from '../../src/db/index.js';

export type DbKind = 'pglite' | 'postgres';

/** A fresh, migrated database: PGlite in memory, or a new schema on the PostgreSQL server. */
export async function createTestDb(
  kind: DbKind,
  opts: { migrate?: boolean } = {},
): Promise<Db & { schema?: string }> {
  const migrated = opts.migrate ?? true;
  if (kind === 'pglite') {
    const template = migrated ? pgliteTemplate() : undefined;
    const db = await createPgliteDb(undefined, template ? { loadDataDir: template } : {});
    // Still runs: a no-op on the template, and the real thing if the template is missing.
    if (migrated) await migrate(db);
    return db;
  }
  const url = inject('postgresUrl');
  if (!url) throw new Error('PostgreSQL not available');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await createPostgresDb(url, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const db = await createPostgresDb(url, { schema, max: 8 });
  if (migrated) await migrate(db);
  return {
    ...db,
    schema,
    async close() {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await db.close();
    },
  };
}

let templateBlob: Blob | undefined;
function pgliteTemplate(): Blob | undefined {
  const file = inject('pgliteTemplate');
  if (!file) return undefined;
  templateBlob ??= new Blob([readFileSync(file)], { type: 'application/x-gzip' });
  return templateBlob;
}

/** Opens the same PostgreSQL schema again (a second "process" in tests). */
export async function openSchema(schema: string, max = 4): Promise<Db> {
  const url = inject('postgresUrl');
  if (!url) throw new Error('PostgreSQL not available');
  return createPostgresDb(url, { schema, max });
}

/**
 * Runs the same suite on PGlite and on PostgreSQL. `ctx.db` is a fresh database for the file.
 * Without a PostgreSQL server (laptop), the PostgreSQL half is skipped with a visible reason.
 */
export function describeEachDb(name: string, fn: (ctx: { readonly db: Db; kind: DbKind }) => void): void {
  for (const kind of ['pglite', 'postgres'] as const) {
    const skip = kind === 'postgres' && !inject('postgresUrl');
    const d = skip ? describe.skip : describe;
    d(`${name} [${kind}]${skip ? ' (sin PostgreSQL: omitido)' : ''}`, () => {
      let db: Db | undefined;
      const ctx = {
        kind,
        get db(): Db {
          if (!db) throw new Error('database not ready');
          return db;
        },
      };
      beforeAll(async () => {
        db = await createTestDb(kind);
      });
      afterAll(async () => {
        await db?.close();
      });
      fn(ctx);
    });
  }
}

/** A Queryable over `db` that remembers the statements it was given (to read their plans). */
export function recordingQueryable(db: Queryable): {
  q: Queryable;
  seen: { text: string; params: readonly unknown[] }[];
} {
  const seen: { text: string; params: readonly unknown[] }[] = [];
  const q: Queryable = {
    query: (text, params = []) => {
      seen.push({ text, params });
      return db.query(text, params);
    },
    exec: (sql) => db.exec(sql),
  };
  return { q, seen };
}
