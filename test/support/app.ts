import { pino } from 'pino';
import { createManualClock } from '../../src/clock.js';
import { type Config, parseConfig } from '../../src/config.js';
import type { Db } from '../../src/db/index.js';
import { buildApi } from '../../src/http/app.js';
import type { ApiDeps, App } from '../../src/http/types.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret';

export function testConfig(env: Record<string, string> = {}): Config {
  return parseConfig({
    DATA_DIR: '/tmp/teltec-test-unused',
    TELEGRAM_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    ...env,
  });
}

/** The real app, in-process, over a test database and a manual clock. */
export async function buildTestApp(
  db: Db,
  opts: { now?: string; env?: Record<string, string>; bodyLimit?: number; deps?: Partial<ApiDeps> } = {},
) {
  const clock = createManualClock(opts.now ?? '2026-03-10T15:00:00Z');
  const config = testConfig(opts.env);
  const app: App = await buildApi(
    {
      db,
      config,
      logger: pino({ level: 'silent' }),
      clock,
      adminTokens: [{ name: 'admin', token: TEST_ADMIN_TOKEN }],
      ...opts.deps,
    },
    { bodyLimit: opts.bodyLimit },
  );
  await app.ready();
  return { app, clock, config };
}

export const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
