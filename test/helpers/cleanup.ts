// One way to clean up: a helper that makes something a test must not leave behind (a temp dir, a
// server, a child process) hands its cleanup to onCleanup() the moment it makes it, never at the
// end of a test body that an assertion may not reach. Under vitest, test/setup.ts runs the cleanup
// when the test ends (pass, fail or time out), or, for what a beforeAll made, when the file ends.
// Outside vitest (the benchmarks import these helpers) cleanups run when the process exits, as far
// as they get synchronously.
import fs from 'node:fs';

export type Cleanup = () => unknown;

let schedule: (cleanup: Cleanup) => void = atExit;

/** Runs `cleanup` when the current test (or, outside a test, the current file or process) ends. */
export function onCleanup(cleanup: Cleanup): void {
  schedule(cleanup);
}

/** For test/setup.ts: decides when cleanups run. */
export function setCleanupScheduler(scheduler: (cleanup: Cleanup) => void): void {
  schedule = scheduler;
}

const pending: Cleanup[] = [];
function atExit(cleanup: Cleanup): void {
  if (pending.length === 0) {
    process.once('exit', () => {
      for (const fn of pending.splice(0).reverse()) {
        try {
          Promise.resolve(fn()).catch(() => undefined);
        } catch {
          // best effort: the process is going anyway
        }
      }
    });
  }
  pending.push(cleanup);
}

/**
 * Removes `dir` and everything in it. A tree the suite made read-only somewhere (npm and pip caches
 * can be) is made writable first, so the removal does not stop at the first such directory.
 */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    makeWritable(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

function makeWritable(dir: string): void {
  let entries: fs.Dirent[];
  try {
    fs.chmodSync(dir, 0o700);
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) makeWritable(`${dir}/${e.name}`);
}
