// Dynos outside the formation: the release phase (run to completion) and `paas run`'s one-offs.
import { DeployError } from '../../lib/errors.js';
import type { RunningDyno } from '../runtime/types.js';
import { deleteDyno } from '../store/dynos.js';
import { record, startDyno } from './dyno.js';
import type { Ctx, OneOffRun, ReleaseToRun } from './types.js';

/**
 * Runs a process type once to completion in a one-off dyno (the release phase). Its output goes to
 * `log` and the app's logs; a non-zero exit or the time limit throws a DeployError.
 */
export async function runOnce(ctx: Ctx, release: ReleaseToRun, type: string, opts: { timeoutMs: number; log: (line: string) => void; signal?: AbortSignal }): Promise<void> {
  const { signal } = opts;
  if (signal?.aborted) throw new DeployError(String(signal.reason));
  const dyno = await startDyno(ctx, release, type, `${type}.1`, (line) => opts.log(`       ${line}`));
  // Recorded like any dyno, so a server killed meanwhile finds and stops it at its next start.
  record(ctx, release, dyno, type, 1, 'up', 0);
  let timedOut = false;
  const halt = () => void ctx.deps.runtime.stop(dyno, ctx.deps.stopGraceMs);
  const timer = setTimeout(() => {
    timedOut = true;
    halt();
  }, opts.timeoutMs);
  signal?.addEventListener('abort', halt);
  if (signal?.aborted) halt(); // aborted while the dyno was starting
  const status = await dyno.exited;
  clearTimeout(timer);
  signal?.removeEventListener('abort', halt);
  // Reap anything the command left running in the background.
  await ctx.deps.runtime.stop(dyno, 0);
  deleteDyno(ctx.deps.db, dyno.id);
  if (signal?.aborted) throw new DeployError(String(signal.reason));
  if (timedOut) throw new DeployError(`The release command ran longer than ${Math.round(opts.timeoutMs / 1000)} s and was stopped; the release failed.`);
  if (status.outOfMemory) {
    throw new DeployError('The release command went over its memory limit and was killed (Error R15, Memory quota vastly exceeded); the release failed. Raise PAAS_DYNO_MEMORY for this app with `paas config:set`.');
  }
  if (status.code !== 0) {
    throw new DeployError(`The release command failed (${status.signal ?? `exit code ${status.code}`}); the release failed and the current release keeps running.`);
  }
}

/**
 * Starts the one-off dyno run.N of the release (`paas run`), recorded like any dyno so ps shows it
 * and a restarted server stops it. It is no part of the formation: never routed nor restarted.
 */
export async function startOneOff(ctx: Ctx, release: ReleaseToRun, run: OneOffRun): Promise<RunningDyno> {
  const dyno = await startDyno(ctx, release, 'run', `run.${run.index}`, () => undefined, run);
  record(ctx, release, dyno, 'run', run.index, 'up', 0);
  ctx.oneOffs.set(dyno.id, run.command);
  return dyno;
}

/** Stops a one-off dyno (with the grace period, if it still runs, and whatever it left running) and forgets it. */
export async function stopOneOff(ctx: Ctx, dyno: RunningDyno): Promise<void> {
  await ctx.deps.runtime.stop(dyno, ctx.deps.stopGraceMs);
  deleteDyno(ctx.deps.db, dyno.id);
  ctx.oneOffs.delete(dyno.id);
}
