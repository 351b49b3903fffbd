import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the fault-injection suite. It starts and breaks its own Temporal dev server,
// PostgreSQL, moto and workers, so it has no global setup and is not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    setupFiles: ['test/setup-file.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['default'],
  },
});
