import { pino } from 'pino';
import { createManualClock } from '../../../src/clock.js';
import type { Db } from '../../../src/db/index.js';
import { buildApi } from '../../../src/http/app.js';
import type { App } from '../../../src/http/types.js';
import { seedDemoData } from '../../../src/sandbox/index.js';
import { localDate } from '../../../src/time.js';
import { TEST_ADMIN_TOKEN, testConfig } from '../../support/app.js';
import { createTestDb } from '../../support/db.js';

export interface RunningApp {
  app: App;
  db: Db;
  /** http://127.0.0.1:<port> */
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * The real app, in-process, listening on 127.0.0.1 (random port) over a fresh PGlite database,
 * optionally with the 80 demo clients. The clock is fixed, so payment states never depend on today.
 */
export async function startApp(opts: { demo?: boolean; now?: string } = {}): Promise<RunningApp> {
  const db = await createTestDb('pglite');
  const clock = createManualClock(opts.now ?? '2026-03-10T15:00:00Z');
  const config = testConfig();
  if (opts.demo) {
    await seedDemoData(db, { today: localDate(clock.now(), config.timeZone), link: false });
  }
  const app = await buildApi({
    db,
    config,
    logger: pino({ level: 'silent' }),
    clock,
    adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app,
    db,
    url,
    token: TEST_ADMIN_TOKEN,
    async close() {
      await app.close();
      await db.close();
    },
  };
}
