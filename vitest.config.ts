import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files share their worker's module cache: importing the app (Fastify, grammY, PGlite, zod
    // schemas…) once per worker instead of once per file took the suite from ~14 to ~9 minutes.
    // Every file makes its own databases, servers and clocks, so nothing else is shared.
    isolate: false,
    // 2-core machines: PGlite is CPU-heavy, more workers only thrash.
    maxWorkers: 2,
  },
});
