import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null;
  }
}

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Finds the PostgreSQL server for the PostgreSQL half of the suite: TEST_DATABASE_URL, or the
 * local default. In CI it MUST be there (the run fails); on a laptop without it those tests skip.
 */
export default async function setup(project: TestProject) {
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
}
