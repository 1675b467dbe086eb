// Runs in each test file's worker before the file (vitest setupFiles). It puts the file's temp dirs
// under the run's own temp dir (test/global-setup.ts), runs what helpers register with onCleanup()
// when the test that made it ends, or the file for what a beforeAll made, and fails the file if
// anything it started is still running at its end.
import os from 'node:os';
import { afterAll, inject, onTestFinished, vi } from 'vitest';
import { type Cleanup, setCleanupScheduler } from './helpers/cleanup.js';
import { describeProcesses, descendants, killAll } from './helpers/procs.js';

process.env.TMPDIR = inject('paasTestRunDir');
if (os.tmpdir() !== inject('paasTestRunDir')) throw new Error(`TMPDIR did not take: ${os.tmpdir()}`);

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
  // Every server and child a test started was stopped above or when its test ended; whatever of
  // theirs is still here (a dyno that outlived its server) leaked. Give exits in flight a moment.
  try {
    await vi.waitFor(
      () => {
        if (descendants().length > 0) throw new Error('processes left');
      },
      { timeout: 5000, interval: 100 },
    );
  } catch {
    const left = descendants();
    killAll(left);
    if (left.length) errors.push(new Error(`processes this file started were still running at its end (now killed):\n${describeProcesses(left)}`));
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length) throw new AggregateError(errors, 'cleanup failed');
});
