import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start the real server, run real builds (npm, python venv) and real git pushes.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In each file: cleanup of what the helpers made when the test (or file) that made it ends.
    setupFiles: ['test/setup.ts'],
  },
});
