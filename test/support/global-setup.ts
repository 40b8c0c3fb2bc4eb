import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createPgliteDb, migrate } from '../../src/db/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
    /** A migrated PGlite cluster (dumpDataDir, gzip) that each test file's database starts from. */
    pgliteTemplate: string | null;
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Finds the PostgreSQL server for the PostgreSQL half of the suite: TEST_DATABASE_URL, or the
 * local default. In CI it MUST be there (the run fails); on a laptop without it those tests skip.
 */
export default async function setup(project: TestProject) {
  const cleanupTemplate = await providePgliteTemplate(project);
  const url = process.env.TEST_DATABASE_URL || DEFAULT_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    project.provide('postgresUrl', url);
  } catch (err) {
    if (process.env.CI) {
      throw new Error(`CI: PostgreSQL no está accesible en ${url}: ${(err as Error).message}`);
    }
    console.warn(`\n⚠ PostgreSQL no está accesible en ${url}: las pruebas de PostgreSQL se omiten (skip).\n`);
    project.provide('postgresUrl', null);
  } finally {
    await client.end().catch(() => {});
  }
  return cleanupTemplate;
}

/**
 * initdb inside PGlite costs ~2 s of CPU per database; the suite opens over a hundred. One migrated
 * cluster is made here, by the same migrations, and every test database starts from a copy of it.
 */
async function providePgliteTemplate(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'teltec-pglite-template-'));
  const file = path.join(dir, 'migrated.tar.gz');
  const db = await createPgliteDb();
  try {
    await migrate(db);
    const blob = await db.dumpDataDir!();
    writeFileSync(file, Buffer.from(await blob.arrayBuffer()));
  } finally {
    await db.close();
  }
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
