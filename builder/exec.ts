import type { ChildProcess } from 'node:child_process';
import { BuildError } from './errors.js';
import { eachLine } from '../lib/lines.js';
import type { StepHint } from './types.js';

const STEP_TIMEOUT_MS = 15 * 60_000;
/**
 * A step is over when its process exits. Output still open after this long is a background process
 * it left (a watcher, a server started by a build script): the step is killed rather than the push
 * left waiting on it until the time limit.
 */
const OUTPUT_GRACE_MS = 2000;
/** How many of a step's last lines are searched for a hint. */
const HINT_LINES = 400;

/** The message of the first hint whose text appears in `output`. */
export function matchHint(hints: StepHint[] | undefined, output: string[]): string | undefined {
  return hints?.find((h) => output.some((line) => line.includes(h.match)))?.message;
}

/**
 * Follows a started build step: streams its output, indented, to `log`, and fails the build with
 * `failure` on a non-zero exit, a signal or the time limit (then `kill` stops it).
 */
export function superviseStep(
  child: ChildProcess,
  argv: string[],
  opts: { log: (line: string) => void; failure: string; hints?: StepHint[]; kill: () => void },
): Promise<void> {
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout!, child.stderr!]) {
      eachLine(stream, (line) => {
        if (!line.trim()) return;
        opts.log(`       ${line}`);
        if (opts.hints) {
          output.push(line);
          if (output.length > HINT_LINES) output.shift();
        }
      });
    }
    const timer = setTimeout(opts.kill, STEP_TIMEOUT_MS);
    let closed = false;
    child.once('exit', () => {
      setTimeout(() => {
        if (closed) return;
        opts.log(`       (\`${argv.join(' ')}\` exited; its output was still open ${OUTPUT_GRACE_MS / 1000} s later, so what it left running was stopped)`);
        opts.kill();
      }, OUTPUT_GRACE_MS).unref();
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new BuildError(`${opts.failure}: could not run ${argv[0]} (${err.message}). Is it installed on the paas host?`));
    });
    child.on('close', (code, signal) => {
      closed = true;
      clearTimeout(timer);
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new BuildError(matchHint(opts.hints, output) ?? `${opts.failure}: \`${argv.join(' ')}\` ${how}. See the output above.`));
    });
  });
}
