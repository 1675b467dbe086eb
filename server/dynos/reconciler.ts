import type { RunningDyno } from '../runtime/types.js';
import { waitUntilUp } from '../runtime/wait-port.js';
import type { StaleDyno } from '../store/dynos.js';
import { getFormation } from '../store/formation.js';
import { OutputTail } from './boot-report.js';
import { lineSink, publish, record, stopMany, stopOne, track } from './dyno.js';
import { runOnce, startOneOff, stopOneOff } from './one-offs.js';
import { cancelPrestarted, prestartWeb, type PrestartTarget } from './prestart.js';
import { watch } from './revive.js';
import { replace, rollout, scaleType } from './rollout.js';
import { acceptTrial, type RevertHandler, trialNotice } from './trial.js';
import { type AppState, type Ctx, type Dyno, formationTypes, type OneOffRun, type ReconcilerDeps, type ReleaseToRun } from './types.js';

export type { OneOffRun, ReconcilerDeps, ReleaseToRun } from './types.js';
export type { PrestartTarget } from './prestart.js';

/**
 * Owns the gap between what should run (the current release × the formation in the store) and what
 * runs. Every change comes through here and runs in order per app: rollouts, scaling, restarts and
 * crash restarts. Web dynos are routed only once healthy, and old ones stop only after the new ones
 * have stayed up through the settle window (or the app changed again).
 */
export class Reconciler {
  private readonly ctx: Ctx;

  constructor(deps: ReconcilerDeps) {
    const apps = new Map<string, AppState>();
    const state = (app: string): AppState => {
      let s = apps.get(app);
      if (!s) apps.set(app, (s = { dynos: [], queue: Promise.resolve() }));
      return s;
    };
    this.ctx = {
      deps,
      apps,
      started: new Set(),
      stops: new Set(),
      unsettled: new Set(),
      oneOffs: new Map(),
      warm: new Map(),
      closed: false,
      state,
      serial: (app, fn) => {
        const s = state(app);
        // A later change to the app keeps the release on trial: the user has moved on from it.
        const next = () => {
          acceptTrial(this.ctx, s);
          return fn();
        };
        const run = s.queue.then(next, next);
        s.queue = run.catch(() => undefined);
        return run;
      },
    };
  }

  /**
   * Rolls the app onto `release`: new web dynos start beside the old ones and must all become
   * healthy, then the routes switch in one step and it returns (throwing if a boot failed or `signal`
   * aborted first, the old dynos untouched). With `settle` the old web dynos then keep running out
   * of the routes for the settle window: if a new one dies they take the traffic back and `onRevert`
   * hears why (trial.ts). Other types are replaced after the switch.
   */
  deploy(release: ReleaseToRun, log: (line: string) => void, signal?: AbortSignal, opts: { settle?: boolean; onRevert?: RevertHandler } = {}): Promise<void> {
    return this.ctx.serial(release.app, () => rollout(this.ctx, release, log, signal, opts.settle ?? true, opts.onRevert));
  }

  /**
   * Starts the sandbox of the app's next web.1 while its slug builds, where the runtime can; the
   * next deploy of the app starts from it. Returns what the caller runs once that deploy is over,
   * whatever happened: it removes the dyno unless the rollout took it.
   */
  prestartWeb(target: PrestartTarget): () => Promise<void> {
    return prestartWeb(this.ctx, target);
  }

  /** Brings the number of dynos of each type to the formation in the store. Throws if a web dyno fails to boot. */
  scale(app: string, log: (line: string) => void = () => undefined): Promise<void> {
    return this.ctx.serial(app, async () => {
      const s = this.ctx.state(app);
      if (!s.release) return;
      const formation = getFormation(this.ctx.deps.db, s.release.appId);
      for (const type of formationTypes(s.release)) await scaleType(this.ctx, s, s.release, type, formation[type] ?? 0, log);
    });
  }

  /**
   * Restarts the dynos matching `which` (a type, a dyno name, or all when undefined): web dynos one
   * at a time, each replacement healthy and routed before its predecessor drains. False when none match.
   */
  restart(app: string, which?: string): Promise<boolean> {
    return this.ctx.serial(app, async () => {
      const s = this.ctx.state(app);
      const targets = s.dynos.filter((d) => !d.retired && (which === undefined || d.type === which || d.name === which));
      for (const old of targets) await replace(this.ctx, s, old, 'rolling');
      return targets.length > 0;
    });
  }

  /** Stops one dyno; as the formation still wants it, a fresh one takes its place (as on Heroku). */
  stopDyno(app: string, name: string): Promise<boolean> {
    return this.ctx.serial(app, async () => {
      const s = this.ctx.state(app);
      const old = s.dynos.find((d) => !d.retired && d.name === name);
      if (old) await replace(this.ctx, s, old, 'stop-first');
      return old !== undefined;
    });
  }

  /**
   * Takes back the dynos of `release` a previous server left running (persistent runtimes), as they
   * are: same containers, routed again once they listen. The formation's other slots then start. With
   * none to adopt, the release is brought up as after any restart.
   */
  adopt(release: ReleaseToRun, rows: StaleDyno[], log: (line: string) => void, signal?: AbortSignal): Promise<void> {
    return this.ctx.serial(release.app, async () => {
      const s = this.ctx.state(release.app);
      s.release = release;
      const formation = getFormation(this.ctx.deps.db, release.appId);
      const left = new Set(rows);
      try {
        for (const row of rows) {
          const type = row.process_type;
          const name = `${type}.${row.number}`;
          if (!release.slug.processTypes[type] || row.number > (formation[type] ?? 0) || s.dynos.some((d) => d.name === name)) continue;
          const tail = new OutputTail();
          const running = await this.ctx.deps.runtime.adopt?.({ app: release.app, name, handle: row.handle }, lineSink(this.ctx, release, name, (line) => tail.push(line)));
          if (!running) continue;
          left.delete(row);
          const listening = type !== 'web' || (await waitUntilUp(running, 2000)).ok;
          if (!listening) {
            await this.ctx.deps.runtime.stop(running, this.ctx.deps.stopGraceMs);
            continue;
          }
          record(this.ctx, release, running, type, row.number, 'up', row.restarts);
          track(this.ctx, running);
          const dyno: Dyno = { type, index: row.number, name, release, running, state: 'up', routed: type === 'web', retired: false, restarts: row.restarts, streak: 0, startedAt: Date.now(), tail };
          s.dynos.push(dyno);
          watch(this.ctx, dyno);
          this.ctx.deps.logs.append(release.app, `paas[${name}]`, 'Adopted the running process after a paas server restart');
        }
      } finally {
        // What it did not take (gone, no longer in the formation, or the adoption failed) goes.
        await this.forget([...left]);
      }
      publish(this.ctx, release.app);
      if (s.dynos.length === 0) return rollout(this.ctx, release, log, signal, false);
      for (const type of formationTypes(release)) await scaleType(this.ctx, s, release, type, formation[type] ?? 0, log);
    });
  }

  /** Stops and removes leftover dynos of a previous server that will not be adopted. */
  async forget(rows: StaleDyno[]): Promise<void> {
    if (rows.length) await this.ctx.deps.runtime.reap(rows, this.ctx.deps.stopGraceMs);
  }

  /**
   * Runs a process type once to completion in a one-off dyno (the release phase). Its output goes to
   * `log` and the app's logs; a non-zero exit or the time limit throws a DeployError.
   */
  runOnce(release: ReleaseToRun, type: string, opts: { timeoutMs: number; log: (line: string) => void; signal?: AbortSignal }): Promise<void> {
    return runOnce(this.ctx, release, type, opts);
  }


  /**
   * Starts the one-off dyno run.N of the release (`paas run`), recorded like any dyno so ps shows it
   * and a restarted server stops it. It is no part of the formation: never routed nor restarted.
   */
  startOneOff(release: ReleaseToRun, run: OneOffRun): Promise<RunningDyno> {
    return startOneOff(this.ctx, release, run);
  }


  /** Stops a one-off dyno (with the grace period, if it still runs, and whatever it left running) and forgets it. */
  stopOneOff(dyno: RunningDyno): Promise<void> {
    return stopOneOff(this.ctx, dyno);
  }


  /** The command of a one-off dyno that runs now, by its id. */
  oneOffCommand(id: string): string | undefined {
    return this.ctx.oneOffs.get(id);
  }

  /** Stops every dyno of the app and forgets it. */
  stopApp(app: string): Promise<void> {
    return this.ctx.serial(app, async () => {
      const s = this.ctx.state(app);
      this.ctx.apps.delete(app);
      this.ctx.deps.routes.setTargets(app, []);
      await Promise.all([stopMany(this.ctx, s.dynos), s.draining]);
    });
  }

  /** The ids of the app's old web dynos that stand by, out of the routes, while its release is on trial. */
  standingBy(app: string): ReadonlySet<string> {
    return new Set(this.ctx.apps.get(app)?.trial?.old.map((d) => d.running.id) ?? []);
  }

  /** What a change that just went live says of its settle window; undefined when none started (trial.ts). */
  trialNotice(app: string): string | undefined {
    return trialNotice(this.ctx, app);
  }

  /** The runtime dynos run on (process or docker), as `paas status` names it. */
  get runtimeName(): string {
    return this.ctx.deps.runtime.name;
  }

  /** The scratch layers the runtime's running dynos use now, which `paas gc` spares. */
  scratchInUse(): ReadonlySet<string> {
    return this.ctx.deps.runtime.scratchInUse?.() ?? new Set();
  }

  /** Once the app's dynos and containers are gone (apps:destroy): what the runtime kept for it. */
  async removeApp(app: string): Promise<void> {
    await this.ctx.deps.runtime.removeApp?.(app);
  }

  /**
   * Stops every dyno this reconciler started: the formations, and dynos still booting or running a
   * release phase (their deploys then fail). Used on shutdown.
   */
  async stopAll(): Promise<void> {
    // Releases on trial are kept: their old web dynos drain (tracked in ctx.stops).
    for (const s of this.ctx.apps.values()) acceptTrial(this.ctx, s);
    await cancelPrestarted(this.ctx);
    if (this.ctx.deps.runtime.persistent) return this.stopUnsettled();
    for (const s of this.ctx.apps.values()) for (const d of s.dynos) d.retired = true;
    // No drain: they are all still routed, and the router is closing.
    await Promise.all([...this.ctx.apps.values()].flatMap((s) => s.dynos.map((d) => stopOne(this.ctx, d, false))));
    await Promise.all([...this.ctx.started].map((dyno) => this.ctx.deps.runtime.stop(dyno, this.ctx.deps.stopGraceMs)));
    // Stops under way (old dynos draining after a rollout) finish their bookkeeping before the store closes.
    await Promise.allSettled([...this.ctx.stops]);
  }

  /**
   * The last stop of a shutdown: no dyno starts after it. The process runtime's dynos stop with the
   * server; a persistent runtime's formations keep running for the next server to adopt, and only
   * what was still booting or running once is stopped.
   */
  async close(): Promise<void> {
    this.ctx.closed = true;
    await this.stopAll();
    this.ctx.deps.runtime.detach?.();
  }

  /** Stops what is not part of a live formation (booting dynos, release phases) and waits for stops under way. */
  private async stopUnsettled(): Promise<void> {
    // The rest keeps running, routed or draining, for the next server; nothing restarts it meanwhile.
    for (const s of this.ctx.apps.values()) for (const d of s.dynos) d.retired = true;
    await Promise.all([...this.ctx.unsettled].map((dyno) => this.ctx.deps.runtime.stop(dyno, this.ctx.deps.stopGraceMs)));
    await Promise.allSettled([...this.ctx.stops]);
  }
}
