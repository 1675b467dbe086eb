// A bounded wait for one step of a test, so a step that hangs fails the test by name instead of
// the whole test timing out with nothing said about where it stopped.
import fs from 'node:fs';
import { descendants } from './procs.js';
import type { Paas } from './paas.js';

/** How much of the server's output a failure shows: its last lines are what it did last. */
const OUTPUT_TAIL = 6000;

/** A process's state and where in the kernel it sleeps (`S pipe_write`, `D …`, `R`): what it waits on. */
function waitingOn(pid: number): string {
  const read = (file: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const state = read('stat').split(') ')[1]?.split(' ')[0] ?? '?';
  const wchan = read('wchan').trim();
  return wchan && wchan !== '0' ? `${state} ${wchan}` : state;
}

/**
 * `promise`'s outcome, or an error saying that `what` did not finish in `ms`, with the end of the
 * server's output (given `paas`) and the processes still running under this test (a build step,
 * a git, a cli call): what it waits on. The step itself is not stopped; the test's cleanup ends it.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>, paas?: Paas): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const procs = descendants().map((p) => `  ${p.pid} (parent ${p.ppid}, ${waitingOn(p.pid)}) ${p.cmdline.replace(/\s+/g, ' ').slice(0, 300)}`);
      const output = paas ? `\nThe server's last output:\n${paas.output().slice(-OUTPUT_TAIL)}` : '';
      reject(new Error(`${what} did not finish in ${ms / 1000} s.\nStill running under this test:\n${procs.join('\n') || '  (nothing)'}${output}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
