import type { ChildProcess } from 'node:child_process';
import { BuildError } from './errors.js';
import { eachLine } from './lines.js';

const STEP_TIMEOUT_MS = 15 * 60_000;

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
      eachLine(stream, (line) => {
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
