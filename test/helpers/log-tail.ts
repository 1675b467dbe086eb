// `paas logs --tail` in the background for the tests: the real CLI, its output collected.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect } from 'vitest';
import { BIN, type Paas, spawnChild } from './paas.js';

export interface Tail {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
}

/** Starts `paas logs --tail -a app …` against `paas` (with `env` as the CLI's whole env), collecting what it prints. */
export function tail(paas: Paas, app: string, args: string[], env: Record<string, string> = paas.env): Tail {
  const child = spawnChild(process.execPath, [BIN, 'logs', '--tail', '-a', app, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/** Ctrl-C: the tail ends with 0. */
export async function interrupt(t: Tail): Promise<void> {
  const exited = once(t.child, 'exit');
  t.child.kill('SIGINT');
  expect((await exited)[0]).toBe(0);
}
