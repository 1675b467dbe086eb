import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start the real server, run real builds (npm, python venv) and real git pushes.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The files mostly wait (on builds, pushes, containers), so two run at once even on two cores:
    // Vitest's default there is one, which took CI's suite from under 5 minutes to over 9.
    maxWorkers: Math.max(2, os.availableParallelism() - 1),
    // A temp dir per run, checked at its end for anything the tests left behind (dirs, processes);
    // and in each file, cleanup of what the helpers made when the test (or file) that made it ends.
    globalSetup: ['test/docker-global-setup.ts', 'test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
  },
});
