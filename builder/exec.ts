import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { BuildError } from './errors.js';

const STEP_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs one build step (argv, never a shell string) and streams its output, indented, to `log`.
 * A non-zero exit, a signal or the time limit fails the build with `failure` as the message.
 */
export function runStep(
  argv: string[],
  opts: { cwd: string; env: Record<string, string>; log: (line: string) => void; failure: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        if (line.trim()) opts.log(`       ${line}`);
      });
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
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
