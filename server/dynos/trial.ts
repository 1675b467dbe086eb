// The settle window, kept without making anyone wait for it: a rollout returns as soon as the new
// web dynos are healthy and routed, and the release goes on trial. The old web dynos stay running,
// out of the routes, for `settleMs`. If a new one dies meanwhile, the old ones get the traffic back
// at once (no request is lost: they never stopped) and the control plane is told (`onRevert`), so
// the previous release is current again and `paas releases` and `paas logs` say why. The window's
// end, or any later change to the app (a push, a scale, a restart: Ctx.serial), accepts the release:
// its new dynos are watched like any (a crash then restarts them) and the old ones drain.
import type { ExitStatus } from '../runtime/types.js';
import { howItEnded } from './boot-report.js';
import { publish, stopMany } from './dyno.js';
import { watch } from './revive.js';
import type { AppState, Ctx, Dyno, Trial } from './types.js';

export type { RevertHandler, Trial } from './types.js';

/** Puts `trial` on the app for the settle window; every fresh dyno's exit before its end reverts it. */
export function startTrial(ctx: Ctx, s: AppState, trial: Trial): void {
  s.trial = trial;
  trial.timer = setTimeout(() => acceptTrial(ctx, s), ctx.deps.settleMs);
  trial.timer.unref();
  for (const d of trial.fresh) {
    // Out of the routes the moment its process is gone (`ended`: another program may bind its port
    // at once); what it died of is told once its last output is in (`exited`).
    const fall = () => {
      if (s.trial === trial) switchBack(ctx, s, trial, d);
    };
    void d.running.ended?.then(fall);
    void d.running.exited.then((status) => {
      fall();
      if (trial.fallen === d) report(ctx, trial, d, status);
    });
  }
}

/** Ends the app's trial, if any, in the release's favour: its dynos are watched, the old ones drain. */
export function acceptTrial(ctx: Ctx, s: AppState): void {
  const trial = s.trial;
  if (!trial) return;
  s.trial = undefined;
  clearTimeout(trial.timer);
  // A fresh dyno that exited just now is seen by watch as a crash, and restarted.
  for (const d of trial.fresh) watch(ctx, d);
  s.draining = stopMany(ctx, trial.old).catch((err: unknown) => console.error(`paas: draining the old web dynos of ${trial.release.app} failed:`, err));
}

/** The old web dynos take the traffic back, in one route update and before anything awaits. */
function switchBack(ctx: Ctx, s: AppState, trial: Trial, died: Dyno): void {
  s.trial = undefined;
  trial.fallen = died;
  clearTimeout(trial.timer);
  for (const d of trial.fresh) d.routed = false;
  for (const d of trial.old) d.routed = true;
  s.dynos = [...s.dynos.filter((d) => d.type !== 'web'), ...trial.old];
  s.release = trial.previous;
  publish(ctx, trial.release.app);
}

/** Says why the release was put back, tells the control plane, and clears the new dynos away. */
function report(ctx: Ctx, trial: Trial, died: Dyno, status: ExitStatus): void {
  const app = trial.release.app;
  const how = howItEnded(status);
  const secs = seconds(ctx.deps.settleMs);
  const back = `v${trial.previous.version}`;
  ctx.deps.logs.append(app, `paas[${died.name}]`, `Process ${how} within ${secs} s of going live; ${back} takes the traffic back`);
  trial.onRevert?.(`${died.name} ${how} within ${secs} s of going live, so ${back} serves again. ${died.tail.quote()}`, trial.previous);
  // The rest in order with the app's other changes: the new dynos go, other types follow back.
  void ctx
    .serial(app, async () => {
      await stopMany(ctx, trial.fresh);
      await trial.restoreOthers();
    })
    .catch((err: unknown) => console.error(`paas: putting ${app} back on ${back} failed:`, err));
}

/**
 * What a change that went live says of its trial, if one started: how long the release before it
 * stands by, and where a revert shows.
 */
export function trialNotice(ctx: Ctx, app: string): string | undefined {
  const trial = ctx.apps.get(app)?.trial;
  if (!trial) return undefined;
  return `v${trial.previous.version} stands by for ${seconds(ctx.deps.settleMs)} s: should a new dyno die by then, it serves again (shown by \`paas releases\` and \`paas logs\`)`;
}

/** Milliseconds as seconds with at most two decimals (1.5, not 2). */
function seconds(ms: number): number {
  return Math.round(ms / 10) / 100;
}
