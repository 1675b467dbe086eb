// One dyno's life in the reconciler: start, boot (listen, health checks), record, publish, stop.
import { dynoLimitsFor } from '../../lib/dyno-limits.js';
import { DeployError } from '../../lib/errors.js';
import { shownCommand } from '../../lib/shown-command.js';
import type { PrestartedDyno, RunningDyno } from '../runtime/types.js';
import { waitUntilUp } from '../runtime/wait-port.js';
import { deleteDyno, type DynoState, insertDyno, setDynoState } from '../store/dynos.js';
import { getFormation } from '../store/formation.js';
import { bootFailure, OutputTail, reportBootProgress } from './boot-report.js';
import { runChecks, startupChecks } from './health.js';
import type { Ctx, Dyno, OneOffRun, ReleaseToRun } from './types.js';

/** Boots dynos in parallel; if any fails, the others are stopped and its reason is thrown. */
export async function bootMany(ctx: Ctx, release: ReleaseToRun, type: string, indices: number[], log: (line: string) => void, prestarted?: PrestartedDyno): Promise<Dyno[]> {
  // A prestarted dyno is the first one's (Runtime.start cancels it should it not fit).
  const results = await Promise.allSettled(indices.map((i, n) => boot(ctx, release, type, i, log, 0, n === 0 ? prestarted : undefined)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  if (failed) {
    await stopMany(ctx, ok);
    throw failed.reason;
  }
  return ok;
}

/** Starts a dyno; a web dyno must listen on its port before this resolves. */
export async function boot(ctx: Ctx, release: ReleaseToRun, type: string, index: number, log: (line: string) => void, restarts = 0, prestarted?: PrestartedDyno): Promise<Dyno> {
  const name = `${type}.${index}`;
  const { runtime, db, logs } = ctx.deps;
  const tail = new OutputTail();
  const bootStarted = Date.now();
  const running = await startDyno(ctx, release, type, name, (line) => tail.push(line), undefined, prestarted);
  // A rolling restart or a deploy boots the new web.1 beside the old: the log tells the two apart.
  const beside = sameName(ctx, release.app, name);
  const starting = beside ? `Starting a new process beside the running one (v${beside.release.version}), with command` : 'Starting process with command';
  logs.append(release.app, `paas[${name}]`, `${starting} \`${shownCommand(release.slug.processTypes[type])}\``);
  record(ctx, release, running, type, index, 'starting', restarts);
  const dyno: Dyno = { type, index, name, release, running, state: 'starting', routed: false, retired: false, restarts, streak: 0, startedAt: Date.now(), tail };
  // Stopped before the report: a dyno that timed out may still print, and `exited` waits for its last lines.
  const fail = async (summary: string, message: string): Promise<never> => {
    await runtime.stop(running, ctx.deps.stopGraceMs);
    deleteDyno(db, running.id);
    logs.append(release.app, `paas[${name}]`, `Boot failed: ${summary}`);
    throw new DeployError(message);
  };
  if (type === 'web') {
    const stopProgress = reportBootProgress(name, ctx.deps.bootTimeoutMs, log);
    const result = await waitUntilUp(running, ctx.deps.bootTimeoutMs).finally(stopProgress);
    if (!result.ok) {
      const failure = bootFailure({ app: release.app, name, port: running.port, result, timeoutMs: ctx.deps.bootTimeoutMs, tail });
      await fail(failure.summary, failure.message);
    }
    const checks = startupChecks(release.slug.healthchecks?.web, release.env.PAAS_HEALTHCHECK_PATH);
    const deadline = bootStarted + ctx.deps.bootTimeoutMs;
    const unhealthy = checks.length ? await runChecks(running.host, running.port, checks, { gone: running.exited, deadline, log }) : undefined;
    if (unhealthy) await fail(unhealthy, `${name} ${unhealthy}; the previous release keeps serving.\n${tail.quote()}`);
  }
  dyno.state = 'up';
  ctx.unsettled.delete(running);
  setDynoState(db, running.id, 'up');
  logs.append(release.app, `paas[${name}]`, 'State changed from starting to up');
  return dyno;
}

/** Records the dyno's row in the store: what `paas ps` shows and what a restarted server finds. */
export function record(ctx: Ctx, release: ReleaseToRun, running: RunningDyno, type: string, index: number, state: DynoState, restarts: number): void {
  insertDyno(ctx.deps.db, {
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

/** Starts one dyno of the release; each output line goes to the app's logs and to `onLine`. */
export async function startDyno(ctx: Ctx, release: ReleaseToRun, type: string, name: string, onLine: (line: string) => void, oneOff?: OneOffRun, prestarted?: PrestartedDyno): Promise<RunningDyno> {
  if (ctx.closed) {
    await prestarted?.cancel();
    throw new DeployError('The paas server is shutting down: no new dyno starts.');
  }
  const limits = ctx.deps.dynoLimits && dynoLimitsFor(ctx.deps.dynoLimits, release.env);
  // As Heroku tells buildpacks (its Node buildpack sizes WEB_CONCURRENCY by it): the dyno's memory, in MB.
  const memory: Record<string, string> = limits ? { MEMORY_AVAILABLE: String(Math.floor(limits.memoryBytes / 1024 ** 2)) } : {};
  const dyno = await ctx.deps.runtime
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
    env: { ...ctx.deps.baseEnv, ...memory, ...release.env, ...oneOff?.env, DYNO: name },
    limits,
    onLine: lineSink(ctx, release, name, onLine),
    stdin: oneOff?.stdin,
    tty: oneOff?.tty,
    onOutput: oneOff?.onOutput,
  }, prestarted)
    .catch((err: unknown) => {
      // The runtime could not start it at all (an image gone, the engine refusing): the release fails with why.
      throw err instanceof DeployError ? err : new DeployError(`${name} could not start: ${(err as Error).message.split('\n')[0]}`);
    });
  if (ctx.closed) {
    // Shutdown began while the runtime started it: it must not outlive the server.
    await ctx.deps.runtime.stop(dyno, 0);
    throw new DeployError('The paas server is shutting down: no new dyno starts.');
  }
  track(ctx, dyno);
  // Until its boot (or its one run) is over, shutdown stops it even where dynos outlive the server.
  ctx.unsettled.add(dyno);
  return dyno;
}

/** Keeps a dyno in `started` until it exits, so shutdown finds every one. */
export function track(ctx: Ctx, dyno: RunningDyno): void {
  ctx.started.add(dyno);
  void dyno.exited.then(() => {
    ctx.started.delete(dyno);
    ctx.unsettled.delete(dyno);
  });
}

/** Where a dyno's output goes: the app's logs, and `onLine` (its boot tail, a release phase's output). */
export function lineSink(ctx: Ctx, release: ReleaseToRun, name: string, onLine: (line: string) => void): (stream: 'stdout' | 'stderr', line: string) => void {
  return (_stream, line) => {
    onLine(line);
    ctx.deps.logs.append(release.app, `app[${name}]`, line);
  };
}

/** Drains and stops the dynos together (stopOne each). */
export function stopMany(ctx: Ctx, dynos: Dyno[]): Promise<void> {
  return Promise.all(dynos.map((d) => stopOne(ctx, d))).then(() => undefined);
}

/**
 * Drains one dyno: out of the routes (the caller has published that), then, for a web dyno, the
 * requests the router had sent it finish and the router closes its connections to it (`drain`),
 * then SIGTERM, the grace period, SIGKILL (logged). Nothing new reaches the dyno once it has the
 * SIGTERM, so an app that stops with `server.close()` exits as soon as it is idle. Every caller
 * waits for the same stop, so none goes on (to close the store, say) while it is under way.
 */
export function stopOne(ctx: Ctx, d: Dyno, drain = true): Promise<void> {
  d.retired = true;
  d.stopped ??= (async () => {
    const wasRunning = d.state !== 'crashed';
    const { logs, db } = ctx.deps;
    const source = `paas[${d.name}]`;
    d.state = 'stopping';
    // The stop must not hang on the store: a write that fails (SQLITE_FULL on a full disk) would
    // leave the process running, out of the routes, for the server's lifetime.
    recordOrSay(() => setDynoState(db, d.running.id, 'stopping'), `${d.release.app} ${d.name} as stopping`);
    if (wasRunning && drain && d.type === 'web' && ctx.deps.drain) {
      const left = await ctx.deps.drain({ host: d.running.host, port: d.running.port }, ctx.deps.stopGraceMs);
      if (left) logs.append(d.release.app, source, `${left} request(s) still in flight after ${Math.round(ctx.deps.stopGraceMs / 1000)} s out of the routes`);
    }
    const successor = sameName(ctx, d.release.app, d.name, d);
    if (wasRunning) logs.append(d.release.app, source, successor ? `Stopping the previous process (v${d.release.version}) with SIGTERM: the new ${d.name} (v${successor.release.version}) serves in its place` : 'Stopping process with SIGTERM');
    await ctx.deps.runtime.stop(d.running, ctx.deps.stopGraceMs);
    const status = await d.running.exited;
    if (wasRunning && status.signal === 'SIGKILL') {
      logs.append(d.release.app, source, `Process did not exit within ${Math.round(ctx.deps.stopGraceMs / 1000)} s of SIGTERM; stopped with SIGKILL`);
    }
    recordOrSay(() => deleteDyno(db, d.running.id), `that ${d.release.app} ${d.name} stopped`);
  })();
  const stop = d.stopped;
  ctx.stops.add(stop);
  void stop.finally(() => ctx.stops.delete(stop)).catch(() => undefined);
  return stop;
}

/** Runs a store write of a dyno's bookkeeping; one that fails is said, and what depends on it goes on. */
function recordOrSay(write: () => void, what: string): void {
  try {
    write();
  } catch (err) {
    console.error(`paas: could not record ${what}: ${(err as Error).message}`);
  }
}

/** Sets the app's route targets to its routed, up web dynos (H10 or H14 with none). */
export function publish(ctx: Ctx, app: string): void {
  const s = ctx.apps.get(app);
  const up = (s?.dynos ?? []).filter((d) => d.type === 'web' && d.routed && d.state === 'up');
  // With none up, routers answer H10 (crashed or starting) if the formation wants web dynos, else H14.
  const wantsWeb = s?.release !== undefined && (getFormation(ctx.deps.db, s.release.appId).web ?? 0) > 0;
  ctx.deps.routes.setTargets(app, up.map((d) => ({ host: d.running.host, port: d.running.port, dyno: d.name, release: d.release.version })), wantsWeb ? 'H10' : 'H14');
}

/** The app's other live dyno named `name` (not `except`): the one a same-named new dyno boots beside. */
function sameName(ctx: Ctx, app: string, name: string, except?: Dyno): Dyno | undefined {
  return ctx.apps.get(app)?.dynos.find((d) => d !== except && d.name === name && (d.state === 'up' || d.state === 'starting'));
}
