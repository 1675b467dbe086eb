// A build step is over when its process exits (builder/exec.ts superviseStep): a process it left in
// the background holding its output open (a watcher, a server a build script started) is stopped,
// rather than the push waiting on it until the step's 15-minute limit. Real processes; no sandbox.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { superviseStep } from '../builder/exec.js';
import { liveProcesses } from './helpers/procs.js';

describe('a build step', () => {
  it('ends when its process exits, and a background process still holding its output is killed and said', { timeout: 30_000 }, async () => {
    // The background sleep holds stdout open for 5 minutes: without the rule the step would wait for it.
    const child = spawn('/bin/sh', ['-c', 'sleep 300 & echo $! > /dev/stderr; echo built'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const kill = () => void process.kill(-child.pid!, 'SIGKILL');
    await superviseStep(child, ['npm', 'run', 'build'], { log: (l) => lines.push(l.trim()), failure: 'The build script failed', kill });
    const sleeper = Number(lines.find((l) => /^\d+$/.test(l)));
    expect(lines).toContain('built');
    expect(lines).toContain('(`npm run build` exited; its output was still open 2 s later, so what it left running was stopped)');
    await expect.poll(() => liveProcesses().some((p) => p.pid === sleeper), { timeout: 5000 }).toBe(false);
  });
});
