import { setTimeout as sleep } from 'node:timers/promises';
import type { Slug } from '../../builder/index.js';
import { bootFailure, noWebNotice, OutputTail, reportBootProgress } from './boot-report.js';
import type { AppLogs } from '../logs/pipeline.js';
import type { Routes } from './routes.js';
import type { DynoSpec, RunningDyno, Runtime, TtySize } from '../runtime/types.js';
import { waitUntilUp } from '../runtime/wait-port.js';
import type { AppUser } from '../sandbox/spawn.js';
import type { Db } from '../store/db.js';
import { deleteDyno, type DynoState, insertDyno, setDynoRestarts, setDynoState, type StaleDyno } from '../store/dynos.js';
import { formationFor, getFormation } from '../store/formation.js';
import { restartDelay, STABLE_AFTER_MS } from '../../lib/backoff.js';
import { runChecks, startupChecks } from './health.js';

/** A release the reconciler can bring up: the slug plus the environment its dynos get. */
export interface ReleaseToRun {
  app: string;
  appId: number;
  releaseId: number;
  /** The release's version (7 for v7). */
  version: number;
  slug: Slug;
  /** App config and dyno metadata; PORT and DYNO are added per dyno. */
  env: Record<string, string>;
  /** The app's own uid and gid, when paas runs as root. */
  user?: AppUser;
}

/** A one-off run (`paas run`): its command, the env it adds, and how it is attached. */
export interface OneOffRun {
  /** N of run.N. */
  index: number;
  command: string;
  env: Record<string, string>;
  stdin?: boolean;
  tty?: TtySize;
  /** Attached: the output goes here, raw, and not to the logs. Detached (undefined): lines go to the logs. */
  onOutput?: DynoSpec['onOutput'];
}

export class DeployError extends Error {
  readonly id = 'deploy_failed';
}

export interface ReconcilerDeps {
  runtime: Runtime;
  db: Db;
  routes: Routes;
  logs: AppLogs;
  bootTimeoutMs: number;
  stopGraceMs: number;
  /** How long new web dynos must stay up after the route switch before the old ones are stopped. */
  settleMs: number;
  /** Host variables every dyno gets (LANG, TZ): never a paas setting or secret. */
  baseEnv: Record<string, string>;
  /**
   * The router's drain (router/router.ts): for a web dyno out of the routes, waits for the requests
   * sent to it to finish (at most `timeoutMs`) and closes the router's connections to it. Resolves
   * with the number still in flight when the time ran out.
   */
  drain?: (target: { host: string; port: number }, timeoutMs: number) => Promise<number>;
}

/** One dyno the reconciler runs: a slot of the formation (`web.2`) on a release. */
interface Dyno {
  type: string;
  index: number;
  name: string;
  release: ReleaseToRun;
  running: RunningDyno;
  state: DynoState;
  /** Web dynos only: whether the router sends it traffic. */
  routed: boolean;
  /** Set once nothing may restart it: replaced, scaled away, or being stopped on purpose. */
  retired: boolean;
  restarts: number;
  /** Crashes in a row of this slot, for the restart backoff. */
  streak: number;
  startedAt: number;
  /** Its last lines of output, quoted when it fails. */
  tail: OutputTail;
  /** Set by the first stop; later ones wait on it. */
  stopped?: Promise<void>;
  /** The pending restart of a crashed dyno. */
  reviveTimer?: ReturnType<typeof setTimeout>;
}

interface AppState {
  /** The release the app's dynos should run: the last one rolled out. */
  release?: ReleaseToRun;
  dynos: Dyno[];
  /** Every change to one app runs after the one before it (serial); apps run in parallel. */
  queue: Promise<unknown>;
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * Owns the gap between what should run (the current release × the formation in the store) and what
 * runs. Every change comes through here and runs in order per app: rollouts, scaling, restarts and
 * crash restarts. Web dynos are routed only once healthy, and old ones stop only after the new ones
 * have stayed up through the settle window.
 */
export class Reconciler {
  private readonly apps = new Map<string, AppState>();
  /** Every dyno started and not yet exited, whatever it is for, so shutdown leaves none behind. */
  private readonly started = new Set<RunningDyno>();
  /** Stops under way, so shutdown waits for them. */
  private readonly stops = new Set<Promise<void>>();
  /** Dynos booting or running once (a release phase): on a persistent runtime, what shutdown stops. */
  private readonly unsettled = new Set<RunningDyno>();
  /** One-off dynos (`paas run`) by id, with their commands, for ps. */
  private readonly oneOffs = new Map<string, string>();
  private closed = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Rolls the app onto `release`: new web dynos start beside the old ones and must all become
   * healthy, then the routes switch in one step; if a new one dies within the settle window the old
   * ones get the traffic back and this throws. Other types are replaced after. When `signal` aborts
   * before the release is settled (the pusher hung up, shutdown), the new dynos are stopped instead.
   */
  deploy(release: ReleaseToRun, log: (line: string) => void, signal?: AbortSignal, opts: { settle?: boolean } = {}): Promise<void> {
    return this.serial(release.app, () => this.rollout(release, log, signal, opts.settle ?? true));
  }

  /** Brings the number of dynos of each type to the formation in the store. Throws if a web dyno fails to boot. */
  scale(app: string, log: (line: string) => void = () => undefined): Promise<void> {
    return this.serial(app, async () => {
      const s = this.state(app);
      if (!s.release) return;
      const formation = getFormation(this.deps.db, s.release.appId);
      for (const type of this.types(s.release)) await this.scaleType(s, s.release, type, formation[type] ?? 0, log);
    });
  }

  /**
   * Restarts the dynos matching `which` (a type, a dyno name, or all when undefined): web dynos one
   * at a time, each replacement healthy and routed before its predecessor drains. False when none match.
   */
  restart(app: string, which?: string): Promise<boolean> {
    return this.serial(app, async () => {
      const s = this.state(app);
      const targets = s.dynos.filter((d) => !d.retired && (which === undefined || d.type === which || d.name === which));
      for (const old of targets) await this.replace(s, old, 'rolling');
      return targets.length > 0;
    });
  }

  /** Stops one dyno; as the formation still wants it, a fresh one takes its place (as on Heroku). */
  stopDyno(app: string, name: string): Promise<boolean> {
    return this.serial(app, async () => {
      const s = this.state(app);
      const old = s.dynos.find((d) => !d.retired && d.name === name);
      if (old) await this.replace(s, old, 'stop-first');
      return old !== undefined;
    });
  }

  /**
   * Takes back the dynos of `release` a previous server left running (persistent runtimes), as they
   * are: same containers, routed again once they listen. The formation's other slots then start. With
   * none to adopt, the release is brought up as after any restart.
   */
  adopt(release: ReleaseToRun, rows: StaleDyno[], log: (line: string) => void, signal?: AbortSignal): Promise<void> {
    return this.serial(release.app, async () => {
      const s = this.state(release.app);
      s.release = release;
      const formation = getFormation(this.deps.db, release.appId);
      const left = new Set(rows);
      try {
        for (const row of rows) {
          const type = row.process_type;
          const name = `${type}.${row.number}`;
          if (!release.slug.processTypes[type] || row.number > (formation[type] ?? 0) || s.dynos.some((d) => d.name === name)) continue;
          const tail = new OutputTail();
          const running = await this.deps.runtime.adopt?.({ app: release.app, name, handle: row.handle }, this.lineSink(release, name, (line) => tail.push(line)));
          if (!running) continue;
          left.delete(row);
          const listening = type !== 'web' || (await waitUntilUp(running, 2000)).ok;
          if (!listening) {
            await this.deps.runtime.stop(running, this.deps.stopGraceMs);
            continue;
          }
          this.record(release, running, type, row.number, 'up', row.restarts);
          this.track(running);
          const dyno: Dyno = { type, index: row.number, name, release, running, state: 'up', routed: type === 'web', retired: false, restarts: row.restarts, streak: 0, startedAt: Date.now(), tail };
          s.dynos.push(dyno);
          this.watch(dyno);
          this.deps.logs.append(release.app, `paas[${name}]`, 'Adopted the running process after a paas server restart');
        }
      } finally {
        // What it did not take (gone, no longer in the formation, or the adoption failed) goes.
        await this.forget([...left]);
      }
      this.publish(release.app);
      if (s.dynos.length === 0) return this.rollout(release, log, signal, false);
      for (const type of this.types(release)) await this.scaleType(s, release, type, formation[type] ?? 0, log);
    });
  }

  /** Stops and removes leftover dynos of a previous server that will not be adopted. */
  async forget(rows: StaleDyno[]): Promise<void> {
    if (rows.length) await this.deps.runtime.reap(rows, this.deps.stopGraceMs);
  }

  /**
   * Runs a process type once to completion in a one-off dyno (the release phase). Its output goes to
   * `log` and the app's logs; a non-zero exit or the time limit throws a DeployError.
   */
  async runOnce(release: ReleaseToRun, type: string, opts: { timeoutMs: number; log: (line: string) => void; signal?: AbortSignal }): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    const dyno = await this.startDyno(release, type, `${type}.1`, (line) => opts.log(`       ${line}`));
    // Recorded like any dyno, so a server killed meanwhile finds and stops it at its next start.
    this.record(release, dyno, type, 1, 'up', 0);
    let timedOut = false;
    const halt = () => void this.deps.runtime.stop(dyno, this.deps.stopGraceMs);
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
    await this.deps.runtime.stop(dyno, 0);
    deleteDyno(this.deps.db, dyno.id);
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    if (timedOut) throw new DeployError(`The release command ran longer than ${Math.round(opts.timeoutMs / 1000)} s and was stopped; the release failed.`);
    if (status.code !== 0) {
      throw new DeployError(`The release command failed (${status.signal ?? `exit code ${status.code}`}); the release failed and the current release keeps running.`);
    }
  }

  /**
   * Starts the one-off dyno run.N of the release (`paas run`), recorded like any dyno so ps shows it
   * and a restarted server stops it. It is no part of the formation: never routed nor restarted.
   */
  async startOneOff(release: ReleaseToRun, run: OneOffRun): Promise<RunningDyno> {
    const dyno = await this.startDyno(release, 'run', `run.${run.index}`, () => undefined, run);
    this.record(release, dyno, 'run', run.index, 'up', 0);
    this.oneOffs.set(dyno.id, run.command);
    return dyno;
  }

  /** Stops a one-off dyno (with the grace period, if it still runs, and whatever it left running) and forgets it. */
  async stopOneOff(dyno: RunningDyno): Promise<void> {
    await this.deps.runtime.stop(dyno, this.deps.stopGraceMs);
    deleteDyno(this.deps.db, dyno.id);
    this.oneOffs.delete(dyno.id);
  }

  /** The command of a one-off dyno that runs now, by its id. */
  oneOffCommand(id: string): string | undefined {
    return this.oneOffs.get(id);
  }

  /** Stops every dyno of the app and forgets it. */
  stopApp(app: string): Promise<void> {
    return this.serial(app, async () => {
      const s = this.state(app);
      this.apps.delete(app);
      this.deps.routes.setTargets(app, []);
      await this.stopMany(s.dynos);
    });
  }

  /**
   * Stops every dyno this reconciler started: the formations, and dynos still booting or running a
   * release phase (their deploys then fail). Used on shutdown.
   */
  async stopAll(): Promise<void> {
    if (this.deps.runtime.persistent) return this.stopUnsettled();
    for (const s of this.apps.values()) for (const d of s.dynos) d.retired = true;
    // No drain: they are all still routed, and the router is closing.
    await Promise.all([...this.apps.values()].flatMap((s) => s.dynos.map((d) => this.stopOne(d, false))));
    await Promise.all([...this.started].map((dyno) => this.deps.runtime.stop(dyno, this.deps.stopGraceMs)));
    // Stops under way (old dynos draining after a rollout) finish their bookkeeping before the store closes.
    await Promise.allSettled([...this.stops]);
  }

  /**
   * The last stop of a shutdown: no dyno starts after it. The process runtime's dynos stop with the
   * server; a persistent runtime's formations keep running for the next server to adopt, and only
   * what was still booting or running once is stopped.
   */
  async close(): Promise<void> {
    this.closed = true;
    await this.stopAll();
    this.deps.runtime.detach?.();
  }

  /** Stops what is not part of a live formation (booting dynos, release phases) and waits for stops under way. */
  private async stopUnsettled(): Promise<void> {
    // The rest keeps running, routed or draining, for the next server; nothing restarts it meanwhile.
    for (const s of this.apps.values()) for (const d of s.dynos) d.retired = true;
    await Promise.all([...this.unsettled].map((dyno) => this.deps.runtime.stop(dyno, this.deps.stopGraceMs)));
    await Promise.allSettled([...this.stops]);
  }

  private state(app: string): AppState {
    let s = this.apps.get(app);
    if (!s) this.apps.set(app, (s = { dynos: [], queue: Promise.resolve() }));
    return s;
  }

  private serial<T>(app: string, fn: () => Promise<T>): Promise<T> {
    const s = this.state(app);
    const run = s.queue.then(fn, fn);
    s.queue = run.catch(() => undefined);
    return run;
  }

  /** The formation types of a release: its process types but the release phase. */
  private types(release: ReleaseToRun): string[] {
    return Object.keys(release.slug.processTypes).filter((t) => t !== 'release');
  }

  private async rollout(release: ReleaseToRun, log: (line: string) => void, signal: AbortSignal | undefined, settle: boolean): Promise<void> {
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    const s = this.state(release.app);
    // A restore (no settle) brings back the release that is current whatever happens: should its boot
    // fail, scale and restart still know what to run.
    if (!settle) s.release = release;
    // The formation this release will have: it is stored only once the release succeeds.
    const formation = formationFor(this.deps.db, release.appId, release.slug.processTypes);
    const webWanted = release.slug.processTypes.web ? (formation.web ?? 0) : 0;
    if (!release.slug.processTypes.web) for (const line of noWebNotice(release.slug.processTypes)) log(line);
    if (webWanted > 0) log(`-----> Launching ${range(1, webWanted).map((i) => `web.${i}`).join(', ')}`);
    const fresh = await this.bootMany(release, 'web', range(1, webWanted), log);
    const old = s.dynos.filter((d) => d.type === 'web');
    const revert = async (why: string): Promise<never> => {
      s.dynos = [...s.dynos.filter((d) => !fresh.includes(d) && !old.includes(d)), ...old];
      for (const d of old) d.routed = true;
      this.publish(release.app);
      await this.stopMany(fresh);
      throw new DeployError(why);
    };
    if (signal?.aborted) await revert(String(signal.reason));
    // The switch: one route table update, from all old web dynos to all new ones.
    for (const d of old) d.routed = false;
    for (const d of fresh) d.routed = true;
    s.dynos = [...s.dynos.filter((d) => d.type !== 'web'), ...fresh];
    this.publish(release.app);
    const died = settle ? await this.settle(fresh) : undefined;
    if (died) await revert(died);
    if (signal?.aborted) await revert(String(signal.reason));
    s.release = release;
    for (const d of fresh) this.watch(d);
    // The release is live: the old web dynos drain in the background (tracked for shutdown), so the
    // next push need not wait for their grace periods. Nothing below may fail the release.
    this.stopMany(old).catch((err: unknown) => console.error(`paas: draining the old web dynos of ${release.app} failed:`, err));
    // Other types: the old release's dynos go, the formation's quantity of the new one starts.
    for (const type of new Set([...s.dynos.map((d) => d.type), ...this.types(release)])) {
      if (type === 'web') continue;
      await this.stopMany(s.dynos.filter((d) => d.type === type));
      s.dynos = s.dynos.filter((d) => d.type !== type);
      if (!release.slug.processTypes[type]) continue;
      await this.scaleType(s, release, type, formation[type] ?? 0, log).catch((err: unknown) => {
        log(`-----> ${type} dynos did not start: ${(err as Error).message.split('\n')[0]}`);
      });
    }
  }

  /**
   * Waits the settle window for a newly routed dyno to die. Returns why the release must fail, with
   * the dyno's last output, or undefined when all stayed up.
   */
  private async settle(fresh: Dyno[]): Promise<string | undefined> {
    if (fresh.length === 0 || this.deps.settleMs <= 0) return undefined;
    const windowEnd = new AbortController();
    const window = sleep(this.deps.settleMs, undefined, { signal: windowEnd.signal }).catch(() => undefined);
    const exits = fresh.map((d) => d.running.exited.then((status) => ({ d, status })));
    const first = await Promise.race([window, ...exits]);
    windowEnd.abort();
    if (!first) return undefined;
    const how = first.status.code !== null ? `exited with code ${first.status.code}` : `was killed by ${first.status.signal}`;
    const secs = Math.round(this.deps.settleMs / 1000);
    this.deps.logs.append(first.d.release.app, `paas[${first.d.name}]`, `Process ${how} within ${secs} s of going live; the previous release keeps the traffic`);
    return `${first.d.name} ${how} within ${secs} s of going live, so the previous release keeps serving. ${first.d.tail.quote()}`;
  }

  /** Starts or stops dynos of one type until `want` of the release run; web dynos boot before they are routed. */
  private async scaleType(s: AppState, release: ReleaseToRun, type: string, want: number, log: (line: string) => void): Promise<void> {
    const have = s.dynos.filter((d) => d.type === type && !d.retired).sort((a, b) => a.index - b.index);
    // A scale starts every crash streak over: a crashed dyno waiting out its backoff is tried now.
    for (const d of have) {
      d.streak = 0;
      if (d.state === 'crashed' && d.reviveTimer) {
        clearTimeout(d.reviveTimer);
        this.scheduleRevive(d, 1);
      }
    }
    if (have.length > want) {
      const surplus = have.slice(want);
      for (const d of surplus) d.routed = false;
      s.dynos = s.dynos.filter((d) => !surplus.includes(d));
      this.publish(release.app);
      await this.stopMany(surplus);
      return;
    }
    const used = new Set(have.map((d) => d.index));
    const missing = range(1, want).filter((i) => !used.has(i));
    if (missing.length === 0) return;
    log(`-----> Starting ${missing.map((i) => `${type}.${i}`).join(', ')}`);
    const fresh = await this.bootMany(release, type, missing, log);
    for (const d of fresh) d.routed = type === 'web';
    s.dynos.push(...fresh);
    this.publish(release.app);
    for (const d of fresh) this.watch(d);
  }

  /**
   * Replaces one dyno. `rolling` (web) boots the successor first, routes it, then drains the old one,
   * so the app keeps its capacity; if the successor fails, the old one stays. `stop-first` (other
   * types, ps:stop) stops the old one, then starts its successor.
   */
  private async replace(s: AppState, old: Dyno, how: 'rolling' | 'stop-first'): Promise<void> {
    const app = old.release.app;
    const release = s.release ?? old.release;
    if (how === 'stop-first' || old.type !== 'web') {
      s.dynos = s.dynos.filter((d) => d !== old);
      this.publish(app);
      await this.stopOne(old);
      let fresh: Dyno;
      try {
        [fresh] = await this.bootMany(release, old.type, [old.index], () => undefined);
      } catch (err) {
        // The formation still wants this slot: it comes back like a crashed dyno, with backoff.
        this.placeholder(s, old, release);
        throw err;
      }
      fresh.routed = fresh.type === 'web';
      s.dynos.push(fresh);
      this.publish(app);
      return this.watch(fresh);
    }
    const [fresh] = await this.bootMany(release, old.type, [old.index], () => undefined);
    fresh.routed = true;
    old.routed = false;
    s.dynos = [...s.dynos.filter((d) => d !== old), fresh];
    this.publish(app);
    this.watch(fresh);
    await this.stopOne(old);
  }

  /** Keeps an empty slot of the formation as a crashed dyno, so the crash restarts bring it back. */
  private placeholder(s: AppState, gone: Dyno, release: ReleaseToRun): void {
    const slot: Dyno = { ...gone, release, state: 'crashed', routed: false, retired: false, stopped: undefined, reviveTimer: undefined, restarts: gone.restarts + 1 };
    s.dynos.push(slot);
    this.scheduleRevive(slot, 2);
  }

  /** Boots dynos in parallel; if any fails, the others are stopped and its reason is thrown. */
  private async bootMany(release: ReleaseToRun, type: string, indices: number[], log: (line: string) => void): Promise<Dyno[]> {
    const results = await Promise.allSettled(indices.map((i) => this.boot(release, type, i, log)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed) {
      await this.stopMany(ok);
      throw failed.reason;
    }
    return ok;
  }

  /** Starts a dyno; a web dyno must listen on its port before this resolves. */
  private async boot(release: ReleaseToRun, type: string, index: number, log: (line: string) => void, restarts = 0): Promise<Dyno> {
    const name = `${type}.${index}`;
    const { runtime, db, logs } = this.deps;
    const tail = new OutputTail();
    const bootStarted = Date.now();
    const running = await this.startDyno(release, type, name, (line) => tail.push(line));
    logs.append(release.app, `paas[${name}]`, `Starting process with command \`${release.slug.processTypes[type]}\``);
    this.record(release, running, type, index, 'starting', restarts);
    const dyno: Dyno = { type, index, name, release, running, state: 'starting', routed: false, retired: false, restarts, streak: 0, startedAt: Date.now(), tail };
    // Stopped before the report: a dyno that timed out may still print, and `exited` waits for its last lines.
    const fail = async (summary: string, message: string): Promise<never> => {
      await runtime.stop(running, this.deps.stopGraceMs);
      deleteDyno(db, running.id);
      logs.append(release.app, `paas[${name}]`, `Boot failed: ${summary}`);
      throw new DeployError(message);
    };
    if (type === 'web') {
      const stopProgress = reportBootProgress(name, this.deps.bootTimeoutMs, log);
      const result = await waitUntilUp(running, this.deps.bootTimeoutMs).finally(stopProgress);
      if (!result.ok) {
        const failure = bootFailure({ app: release.app, name, port: running.port, result, timeoutMs: this.deps.bootTimeoutMs, tail });
        await fail(failure.summary, failure.message);
      }
      const checks = startupChecks(release.slug.healthchecks?.web, release.env.PAAS_HEALTHCHECK_PATH);
      const deadline = bootStarted + this.deps.bootTimeoutMs;
      const unhealthy = checks.length ? await runChecks(running.host, running.port, checks, { gone: running.exited, deadline, log }) : undefined;
      if (unhealthy) await fail(unhealthy, `${name} ${unhealthy}; the previous release keeps serving.\n${tail.quote()}`);
    }
    dyno.state = 'up';
    this.unsettled.delete(running);
    setDynoState(db, running.id, 'up');
    logs.append(release.app, `paas[${name}]`, 'State changed from starting to up');
    return dyno;
  }

  private record(release: ReleaseToRun, running: RunningDyno, type: string, index: number, state: DynoState, restarts: number): void {
    insertDyno(this.deps.db, {
      id: running.id,
      app_id: release.appId,
      release_id: release.releaseId,
      process_type: type,
      number: index,
      host: running.host,
      port: running.port,
      state,
      started_at: new Date().toISOString(),
      handle: running.handle,
      restarts,
    });
  }

  /** Restarts a dyno that exits on its own, after its backoff, unless it was replaced meanwhile. */
  private watch(d: Dyno): void {
    void d.running.exited.then((status) => {
      if (d.retired) return;
      const app = d.release.app;
      d.state = 'crashed';
      d.routed = false;
      this.publish(app);
      setDynoState(this.deps.db, d.running.id, 'crashed');
      // Reap whatever the dyno's shell left behind, so nothing keeps holding its port.
      void this.deps.runtime.stop(d.running, 0);
      this.deps.logs.append(app, `paas[${d.name}]`, `Process exited (${status.signal ?? `code ${status.code}`}); state changed from up to crashed`);
      const streak = Date.now() - d.startedAt > STABLE_AFTER_MS ? 1 : d.streak + 1;
      this.scheduleRevive(d, streak);
    });
  }

  private scheduleRevive(d: Dyno, streak: number): void {
    d.streak = streak;
    const revive = () =>
      this.serial(d.release.app, async () => {
        d.reviveTimer = undefined;
        const s = this.state(d.release.app);
        // Replaced, scaled away or on an older release by now: not ours to bring back.
        if (d.retired || !s.dynos.includes(d) || s.release !== d.release) return;
        try {
          const fresh = await this.boot(d.release, d.type, d.index, () => undefined, d.restarts + 1);
          fresh.streak = d.streak;
          fresh.routed = fresh.type === 'web';
          d.retired = true;
          deleteDyno(this.deps.db, d.running.id);
          s.dynos = s.dynos.map((x) => (x === d ? fresh : x));
          this.publish(d.release.app);
          this.watch(fresh);
        } catch {
          d.restarts += 1;
          setDynoRestarts(this.deps.db, d.running.id, d.restarts);
          this.scheduleRevive(d, d.streak + 1);
        }
      });
    // A timer callback's rejection would be unhandled and end the server: catch it here, with context.
    d.reviveTimer = setTimeout(() => {
      revive().catch((err: unknown) => console.error(`paas: restarting ${d.name} of ${d.release.app} failed:`, err));
    }, restartDelay(streak));
    d.reviveTimer.unref();
  }

  private publish(app: string): void {
    const s = this.apps.get(app);
    const up = (s?.dynos ?? []).filter((d) => d.type === 'web' && d.routed && d.state === 'up');
    // With none up, routers answer H10 (crashed or starting) if the formation wants web dynos, else H14.
    const wantsWeb = s?.release !== undefined && (getFormation(this.deps.db, s.release.appId).web ?? 0) > 0;
    this.deps.routes.setTargets(app, up.map((d) => ({ host: d.running.host, port: d.running.port, dyno: d.name })), wantsWeb ? 'H10' : 'H14');
  }

  /** Starts one dyno of the release; each output line goes to the app's logs and to `onLine`. */
  private async startDyno(release: ReleaseToRun, type: string, name: string, onLine: (line: string) => void, oneOff?: OneOffRun): Promise<RunningDyno> {
    if (this.closed) throw new DeployError('The paas server is shutting down: no new dyno starts.');
    const dyno = await this.deps.runtime
      .start({
      app: release.app,
      name,
      release: release.version,
      slugDir: release.slug.dir,
      image: release.slug.image,
      // An app built from its own Dockerfile runs its image's ENTRYPOINT and CMD as its web process.
      command: oneOff ? oneOff.command : release.slug.imageCommand?.includes(type) ? undefined : release.slug.processTypes[type],
      // Heroku's runtime contract (.profile.d) holds for buildpack apps; a Dockerfile's image is run as built.
      profile: release.slug.buildpack !== 'Dockerfile',
      node: release.slug.node,
      tools: release.slug.tools,
      pathPrepend: release.slug.pathPrepend,
      user: release.user,
      env: { ...this.deps.baseEnv, ...release.env, ...oneOff?.env, DYNO: name },
      onLine: this.lineSink(release, name, onLine),
      stdin: oneOff?.stdin,
      tty: oneOff?.tty,
      onOutput: oneOff?.onOutput,
    })
      .catch((err: unknown) => {
        // The runtime could not start it at all (an image gone, the engine refusing): the release fails with why.
        throw err instanceof DeployError ? err : new DeployError(`${name} could not start: ${(err as Error).message.split('\n')[0]}`);
      });
    if (this.closed) {
      // Shutdown began while the runtime started it: it must not outlive the server.
      await this.deps.runtime.stop(dyno, 0);
      throw new DeployError('The paas server is shutting down: no new dyno starts.');
    }
    this.track(dyno);
    // Until its boot (or its one run) is over, shutdown stops it even where dynos outlive the server.
    this.unsettled.add(dyno);
    return dyno;
  }

  /** Keeps a dyno in `started` until it exits, so shutdown finds every one. */
  private track(dyno: RunningDyno): void {
    this.started.add(dyno);
    void dyno.exited.then(() => {
      this.started.delete(dyno);
      this.unsettled.delete(dyno);
    });
  }

  /** Where a dyno's output goes: the app's logs, and `onLine` (its boot tail, a release phase's output). */
  private lineSink(release: ReleaseToRun, name: string, onLine: (line: string) => void): (stream: 'stdout' | 'stderr', line: string) => void {
    return (_stream, line) => {
      onLine(line);
      this.deps.logs.append(release.app, `app[${name}]`, line);
    };
  }

  private stopMany(dynos: Dyno[]): Promise<void> {
    return Promise.all(dynos.map((d) => this.stopOne(d))).then(() => undefined);
  }

  /**
   * Drains one dyno: out of the routes (the caller has published that), then, for a web dyno, the
   * requests the router had sent it finish and the router closes its connections to it (`drain`),
   * then SIGTERM, the grace period, SIGKILL (logged). Nothing new reaches the dyno once it has the
   * SIGTERM, so an app that stops with `server.close()` exits as soon as it is idle. Every caller
   * waits for the same stop, so none goes on (to close the store, say) while it is under way.
   */
  private stopOne(d: Dyno, drain = true): Promise<void> {
    d.retired = true;
    d.stopped ??= (async () => {
      const wasRunning = d.state !== 'crashed';
      const { logs, db } = this.deps;
      const source = `paas[${d.name}]`;
      d.state = 'stopping';
      setDynoState(db, d.running.id, 'stopping');
      if (wasRunning && drain && d.type === 'web' && this.deps.drain) {
        const left = await this.deps.drain({ host: d.running.host, port: d.running.port }, this.deps.stopGraceMs);
        if (left) logs.append(d.release.app, source, `${left} request(s) still in flight after ${Math.round(this.deps.stopGraceMs / 1000)} s out of the routes`);
      }
      if (wasRunning) logs.append(d.release.app, source, 'Stopping process with SIGTERM');
      await this.deps.runtime.stop(d.running, this.deps.stopGraceMs);
      const status = await d.running.exited;
      if (wasRunning && status.signal === 'SIGKILL') {
        logs.append(d.release.app, source, `Process did not exit within ${Math.round(this.deps.stopGraceMs / 1000)} s of SIGTERM; stopped with SIGKILL`);
      }
      deleteDyno(db, d.running.id);
    })();
    const stop = d.stopped;
    this.stops.add(stop);
    void stop.finally(() => this.stops.delete(stop)).catch(() => undefined);
    return stop;
  }
}
