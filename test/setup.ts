// Runs in each test file's worker before the file (vitest setupFiles). It runs what helpers
// register with onCleanup() when the test that made it ends, or the file for what a beforeAll made.
import { afterAll, onTestFinished } from 'vitest';
import { type Cleanup, setCleanupScheduler } from './helpers/cleanup.js';

const atFileEnd: Cleanup[] = [];
setCleanupScheduler((cleanup) => {
  try {
    onTestFinished(async () => void (await cleanup()));
  } catch {
    // Not inside a test (a beforeAll, or the file's top level): the file's end it is.
    atFileEnd.push(cleanup);
  }
});

// Registered before the file's own hooks, so it runs after them (hooks run as a stack).
afterAll(async () => {
  const errors: unknown[] = [];
  for (const cleanup of atFileEnd.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, 'cleanup failed');
});
