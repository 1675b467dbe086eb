import type { Slug } from '../builder/index.js';
import type { AppUser } from './sandbox/spawn.js';
import type { AppLogs } from './logs.js';
import type { Routes } from './routes.js';
import type { Db } from './store/db.js';
import { deleteDyno, insertDyno, setDynoState } from './store/dynos.js';
import type { Runtime, RunningDyno } from './runtime/types.js';
import { waitForPort } from './runtime/wait-port.js';
import { bootFailure, noWebNotice, OutputTail, reportBootProgress } from './boot-report.js';

/** A release the runner can bring up: the slug plus the environment its dynos get. */
export interface ReleaseToRun {
  app: string;
  appId: number;
  releaseId: number;
  slug: Slug;
  /** App config and dyno metadata; PORT and DYNO are added per dyno. */
  env: Record<string, string>;
  /** The app's own uid and gid, when paas runs as root. */
  user?: AppUser;
}

export class DeployError extends Error {
  readonly id = 'deploy_failed';
}

interface Active {
  dyno: RunningDyno;
  release: ReleaseToRun;
  stopping: boolean;
}

export interface RunnerDeps {
  runtime: Runtime;
  db: Db;
  routes: Routes;
  logs: AppLogs;
  bootTimeoutMs: number;
  stopGraceMs: number;
  /** Host variables every dyno gets (LANG, TZ): never a paas setting or secret. */
  baseEnv: Record<string, string>;
}

const MAX_RESTART_DELAY_MS = 5 * 60_000;

/**
 * Brings each app's web formation to a release: new dynos start and must bind their port before the
 * router sends them traffic, and only then do the old ones get SIGTERM. Crashed dynos restart with backoff.
 */
export class Runner {
  private readonly web = new Map<string, Active[]>();
  /** Bumped on every deploy and stop, so a pending crash restart of an older formation is dropped. */
  private readonly generation = new Map<string, number>();
  /** Every dyno started and not yet exited, whatever it is for, so shutdown leaves none behind. */
  private readonly started = new Set<RunningDyno>();
  /** Set by close(): no dyno starts after the last stop of a shutting-down server. */
  private closed = false;

  constructor(private readonly deps: RunnerDeps) {}

  /**
   * Starts the release's web dyno, routes to it once it is up, then stops the previous ones. When
   * `signal` is aborted before the switch (the pusher hung up), the new dyno is stopped instead.
   */
  async deploy(release: ReleaseToRun, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    const gen = this.bump(release.app);
    const fresh: Active[] = [];
    if (release.slug.processTypes.web) {
      log('-----> Launching web.1');
      fresh.push(await this.boot(release, 'web', 1, log));
    } else {
      for (const line of noWebNotice(release.slug.processTypes)) log(line);
    }
    if (signal?.aborted) {
      await Promise.all(fresh.map((a) => this.stop(a)));
      throw new DeployError(String(signal.reason));
    }
    const old = this.web.get(release.app) ?? [];
    this.web.set(release.app, fresh);
    this.publish(release.app);
    for (const a of fresh) this.watch(a, gen, 1);
    await Promise.all(old.map((a) => this.stop(a)));
  }

  /**
   * Runs a process type once to completion in a one-off dyno (the release phase). Its output goes to
   * `log` and the app's logs; a non-zero exit or the time limit throws a DeployError.
   */
  async runOnce(release: ReleaseToRun, type: string, opts: { timeoutMs: number; log: (line: string) => void; signal?: AbortSignal }): Promise<void> {
    const { signal } = opts;
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    const dyno = await this.startDyno(release, type, `${type}.1`, (line) => opts.log(`       ${line}`));
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
    if (signal?.aborted) throw new DeployError(String(signal.reason));
    if (timedOut) throw new DeployError(`The release command ran longer than ${Math.round(opts.timeoutMs / 1000)} s and was stopped; the release failed.`);
    if (status.code !== 0) {
      throw new DeployError(`The release command failed (${status.signal ?? `exit code ${status.code}`}); the release failed and the current release keeps running.`);
    }
  }

  /** Stops every dyno of the app and forgets it. */
  async stopApp(app: string): Promise<void> {
    this.bump(app);
    const old = this.web.get(app) ?? [];
    this.web.delete(app);
    this.publish(app);
    await Promise.all(old.map((a) => this.stop(a)));
  }

  /**
   * Stops every dyno this runner started: the formations, and dynos still booting or running a
   * release phase (their deploys then fail). Used on shutdown.
   */
  async stopAll(): Promise<void> {
    await Promise.all([...this.web.keys()].map((app) => this.stopApp(app)));
    await Promise.all([...this.started].map((dyno) => this.deps.runtime.stop(dyno, this.deps.stopGraceMs)));
  }

  /** The last stop of a shutdown: stops every dyno, and no dyno starts after it. */
  close(): Promise<void> {
    this.closed = true;
    return this.stopAll();
  }

  private bump(app: string): number {
    const gen = (this.generation.get(app) ?? 0) + 1;
    this.generation.set(app, gen);
    return gen;
  }

  private publish(app: string): void {
    const up = (this.web.get(app) ?? []).filter((a) => !a.stopping).map((a) => ({ host: a.dyno.host, port: a.dyno.port }));
    this.deps.routes.setTargets(app, up);
  }

  /** Starts one dyno of the release; each output line goes to the app's logs and to `onLine`. */
  private async startDyno(release: ReleaseToRun, type: string, name: string, onLine: (line: string) => void): Promise<RunningDyno> {
    if (this.closed) throw new DeployError('The paas server is shutting down: no new dyno starts.');
    const dyno = await this.deps.runtime.start({
      app: release.app,
      name,
      slugDir: release.slug.dir,
      command: release.slug.processTypes[type],
      pathPrepend: release.slug.pathPrepend,
      user: release.user,
      env: { ...this.deps.baseEnv, ...release.env, DYNO: name },
      onLine: (_stream, line) => {
        onLine(line);
        this.deps.logs.append(release.app, `app[${name}]`, line);
      },
    });
    this.started.add(dyno);
    void dyno.exited.then(() => this.started.delete(dyno));
    return dyno;
  }

  /** Starts a dyno and waits until it listens; `log`, when given, hears progress while it waits. */
  private async boot(release: ReleaseToRun, type: string, n: number, log?: (line: string) => void): Promise<Active> {
    const name = `${type}.${n}`;
    const { runtime, db, logs } = this.deps;
    const tail = new OutputTail();
    const dyno = await this.startDyno(release, type, name, (line) => tail.push(line));
    logs.append(release.app, `paas[${name}]`, `Starting process with command \`${release.slug.processTypes[type]}\``);
    insertDyno(db, {
      id: dyno.id,
      app_id: release.appId,
      release_id: release.releaseId,
      process_type: type,
      number: n,
      host: dyno.host,
      port: dyno.port,
      state: 'starting',
      started_at: new Date().toISOString(),
      handle: dyno.handle,
    });
    const stopProgress = log ? reportBootProgress(name, this.deps.bootTimeoutMs, log) : () => undefined;
    const result = await waitForPort(dyno.host, dyno.port, { timeoutMs: this.deps.bootTimeoutMs, exited: dyno.exited, owns: dyno.ownsPort }).finally(stopProgress);
    if (!result.ok) {
      // Stopped first: a dyno that timed out may still print, and `exited` waits for its last lines.
      await runtime.stop(dyno, this.deps.stopGraceMs);
      deleteDyno(db, dyno.id);
      const failure = bootFailure({ app: release.app, name, port: dyno.port, result, timeoutMs: this.deps.bootTimeoutMs, tail });
      logs.append(release.app, `paas[${name}]`, `Boot failed: ${failure.summary}`);
      throw new DeployError(failure.message);
    }
    setDynoState(db, dyno.id, 'up');
    logs.append(release.app, `paas[${name}]`, 'State changed from starting to up');
    return { dyno, release, stopping: false };
  }

  /**
   * Restarts a dyno that exits on its own, unless a newer deploy replaced it. Backoff doubles with
   * each crash in a row and resets once a dyno has stayed up for a minute.
   */
  private watch(active: Active, gen: number, crashes: number): void {
    const { app } = active.release;
    const bootedAt = Date.now();
    void active.dyno.exited.then((status) => {
      if (active.stopping) return;
      // Reap whatever the dyno's shell left behind, so nothing keeps holding its port.
      void this.deps.runtime.stop(active.dyno, 0);
      this.deps.logs.append(app, `paas[${active.dyno.name}]`, `Process exited (${status.signal ?? `code ${status.code}`}); state changed from up to crashed`);
      deleteDyno(this.deps.db, active.dyno.id);
      this.web.set(app, (this.web.get(app) ?? []).filter((a) => a !== active));
      this.publish(app);
      this.scheduleRestart(active, gen, Date.now() - bootedAt > 60_000 ? 1 : crashes + 1);
    });
  }

  private scheduleRestart(crashed: Active, gen: number, crashes: number): void {
    const { app } = crashed.release;
    const [type, n] = crashed.dyno.name.split('.');
    const delay = Math.min(1000 * 2 ** (crashes - 1), MAX_RESTART_DELAY_MS);
    const restart = async (): Promise<void> => {
      if (this.generation.get(app) !== gen) return;
      try {
        const fresh = await this.boot(crashed.release, type, Number(n));
        if (this.generation.get(app) !== gen) return void (await this.stop(fresh));
        this.web.set(app, [...(this.web.get(app) ?? []), fresh]);
        this.publish(app);
        this.watch(fresh, gen, crashes);
      } catch {
        this.scheduleRestart(crashed, gen, crashes + 1);
      }
    };
    // A timer callback's rejection would be unhandled and end the server: catch it here, with context.
    const timer = setTimeout(() => {
      restart().catch((err: unknown) => console.error(`paas: restarting ${crashed.dyno.name} of ${app} failed:`, err));
    }, delay);
    timer.unref();
  }

  private async stop(active: Active): Promise<void> {
    active.stopping = true;
    setDynoState(this.deps.db, active.dyno.id, 'stopping');
    this.deps.logs.append(active.release.app, `paas[${active.dyno.name}]`, 'Stopping process with SIGTERM');
    await this.deps.runtime.stop(active.dyno, this.deps.stopGraceMs);
    deleteDyno(this.deps.db, active.dyno.id);
  }
}
