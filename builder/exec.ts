import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import { BuildError } from './errors.js';

const STEP_TIMEOUT_MS = 15 * 60_000;

/** How a build step is run; the server gives one that runs it in the app's sandbox, under its uid. */
export type StepRunner = (argv: string[], opts: { log: (line: string) => void; failure: string }) => Promise<void>;

/**
 * Follows a started build step: streams its output, indented, to `log`, and fails the build with
 * `failure` on a non-zero exit, a signal or the time limit (then `kill` stops it).
 */
export function superviseStep(
  child: ChildProcess,
  argv: string[],
  opts: { log: (line: string) => void; failure: string; kill: () => void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        if (line.trim()) opts.log(`       ${line}`);
      });
    }
    const timer = setTimeout(opts.kill, STEP_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new BuildError(`${opts.failure}: could not run ${argv[0]} (${err.message}). Is it installed on the paas host?`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new BuildError(`${opts.failure}: \`${argv.join(' ')}\` ${how}. See the output above.`));
    });
  });
}

/** Runs one build step on the host (argv, never a shell string): the runner for builds outside paas's server. */
export function runStep(argv: string[], opts: { cwd: string; env: Record<string, string>; log: (line: string) => void; failure: string }): Promise<void> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return superviseStep(child, argv, { ...opts, kill: () => child.kill('SIGKILL') });
}
