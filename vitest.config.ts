import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault-injection suite owns (and breaks) its own services: `npm run test:chaos`.
    exclude: [...configDefaults.exclude, 'test/chaos/**'],
    // One Temporal dev server and one database for the whole run (see test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    // Workers bundle workflows and poll a real server: give them room, and keep the two cores for them.
    // Pipelines run real trainers on a 2-core machine shared by parallel suites: give them room.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
