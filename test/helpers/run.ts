// Drives `paas run` as a user would: the real CLI with input on its stdin, or under a terminal.
import type { ChildProcess } from 'node:child_process';
import { BIN, type Paas, type Result, spawnChild } from './paas.js';

/** What a child printed so far. */
export function collect(child: ChildProcess): () => { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return () => ({ stdout, stderr });
}

/** Starts `paas run -a APP args…` in the background, its stdin a pipe left open. */
export function startRun(paas: Paas, app: string, args: string[]): ChildProcess {
  return spawnChild(process.execPath, [BIN, 'run', '-a', app, ...args], { cwd: paas.home, env: paas.env, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs `paas run -a APP args…` with `input` on its stdin (then end-of-file). */
export function paasRun(paas: Paas, app: string, args: string[], input = ''): Promise<Result> {
  return new Promise((resolve) => {
    const child = startRun(paas, app, args);
    const got = collect(child);
    child.stdin!.end(input);
    child.on('close', (code) => resolve({ code: code ?? 1, ...got() }));
  });
}

/**
 * Starts `paas run -a APP command` under a pseudo-terminal (script(1)), as from a user's shell; what
 * is written to its stdin is typed at that terminal. The command is a test's own fixed text,
 * quoted for script's shell by the caller.
 */
export function startRunInTerminal(paas: Paas, app: string, command: string): { child: ChildProcess; result: Promise<Result>; output: () => string } {
  const child = spawnChild('script', ['-qfec', `${process.execPath} ${BIN} run -a ${app} ${command}`, '/dev/null'], {
    cwd: paas.home,
    env: paas.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const got = collect(child);
  const result = new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, ...got() })));
  return { child, result, output: () => got().stdout };
}

/** Runs `paas run -a APP command` under a pseudo-terminal to its end. */
export function paasRunInTerminal(paas: Paas, app: string, command: string): Promise<Result> {
  return startRunInTerminal(paas, app, command).result;
}
