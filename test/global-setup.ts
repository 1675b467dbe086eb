// Once per run (vitest globalSetup): gives the run a temp dir of its own, which test/setup.ts makes
// every worker's TMPDIR and startPaas passes on to the server. At the end of the run that dir must
// be empty and no process may name it: each temp dir is removed, each process stopped, by the
// test that made it. What is left is reported as a failure, then removed or killed all the same.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { removeTree } from './helpers/cleanup.js';
import { describeProcesses, killAll, processesUsing } from './helpers/procs.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** This run's temp dir: TMPDIR in every test worker. */
    paasTestRunDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  // Unique per run, so runs side by side (other checkouts on this machine) never see each other's.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'paas-test-run-'));
  // Dynos run under their own uids; without bubblewrap they reach their slugs by path, through here.
  fs.chmodSync(runDir, 0o711);
  project.provide('paasTestRunDir', runDir);

  return () => {
    const leftDirs = fs.readdirSync(runDir);
    const leftProcs = processesUsing(runDir);
    killAll(leftProcs);
    removeTree(runDir);
    const problems = [
      ...(leftDirs.length ? [`left in the run's temp dir ${runDir} (now removed):\n${leftDirs.map((n) => `  ${n}`).join('\n')}`] : []),
      ...(leftProcs.length ? [`still running, using ${runDir} (now killed):\n${describeProcesses(leftProcs)}`] : []),
    ];
    if (problems.length) throw new Error(`The tests did not clean up after themselves.\n${problems.join('\n')}`);
  };
}
