import { readSlug } from '../../builder/index.js';
import { BuildError, DeployError, InsufficientStorageError } from '../../lib/errors.js';
import { asStorageError } from '../disk/space.js';
import { openOutput, pruneOutputs } from '../outputs/store.js';
import type { ConfigVars } from './config-vars.js';
import type { Deps } from './deps.js';
import type { ReleaseToRun } from '../dynos/reconciler.js';
import { type AppRow, revertCurrentRelease, setCurrentRelease } from '../store/apps.js';
import type { StaleDyno } from '../store/dynos.js';
import { type Formation, followProcessTypes, getFormation, setFormation } from '../store/formation.js';
import { findBuild, insertRelease, listReleases, type ReleaseRow, setReleaseStatus, succeededBuilds } from '../store/releases.js';
import { addonVars, currentRelease } from './queries.js';

/** A failure the pusher caused or can fix (a full data dir too); shown as the push's error, never as a stack trace. */
export function isUserFailure(err: unknown): err is BuildError | DeployError | InsufficientStorageError {
  return err instanceof BuildError || err instanceof DeployError || err instanceof InsufficientStorageError;
}

/** What a deploy's or release's failure tells the user: its own message, or where the details are. */
export function failureMessage(err: unknown): string {
  return isUserFailure(err) ? err.message : 'Internal error; the paas server log has the details.';
}

/** Records release vN as pending. The version is allocated in the insert's own transaction. */
export function openRelease(
  params: { app: AppRow; buildId: string | null; config: ConfigVars; description: string; createdBy: string },
  deps: Pick<Deps, 'db'>,
): ReleaseRow {
  return insertRelease(deps.db, {
    app_id: params.app.id,
    build_id: params.buildId,
    status: 'pending',
    description: params.description,
    created_at: new Date().toISOString(),
    config: JSON.stringify(params.config),
    created_by: params.createdBy,
  });
}

/**
 * What the runner needs to run a release: its slug, and its config plus the vars of the add-ons
 * attached now (a rollback keeps them) plus the dyno metadata.
 */
export async function toRun(app: AppRow, release: ReleaseRow, deps: Pick<Deps, 'db' | 'builder' | 'addons'>): Promise<ReleaseToRun | undefined> {
  const build = release.build_id ? findBuild(deps.db, release.build_id) : undefined;
  if (!build?.slug_dir) return undefined;
  const config = JSON.parse(release.config) as ConfigVars;
  const slug = await readSlug(build.slug_dir);
  return {
    app: app.name,
    appId: app.id,
    releaseId: release.id,
    version: release.version,
    slug,
    user: deps.builder.dynoUser(app),
    env: {
      // The buildpack's defaults (NODE_ENV=production) give way to the app's own config.
      ...slug.env,
      ...config,
      ...addonVars(app, deps),
      PAAS_APP_NAME: app.name,
      PAAS_RELEASE_VERSION: `v${release.version}`,
      PAAS_SLUG_COMMIT: build.commit_sha,
    },
  };
}

/**
 * Takes a pending release live: runs the Procfile `release` command (if any) in a one-off dyno,
 * rolls the web dynos onto the release, then marks it succeeded and current. On any failure the
 * release is marked failed, the error is rethrown, and the current release keeps serving. So it is
 * when `signal` is aborted before the switch. What it logs, and its failure, is kept as the
 * release's output (`<data>/releases`). The caller holds the app's lock.
 */
export async function runRelease(app: AppRow, release: ReleaseRow, log: (line: string) => void, deps: Deps, cancel?: AbortSignal): Promise<ReleaseRow> {
  const output = openOutput(deps.paths, 'release', app.name, release.version);
  try {
    return await takeLive(app, release, (line) => {
      output.write(line);
      log(line);
    }, deps, cancel);
  } catch (err) {
    // Only into the kept output: the caller tells its own audience in its own words.
    for (const line of failureMessage(err).split('\n')) output.write(` !     ${line}`);
    throw err;
  } finally {
    await output.close();
    await pruneOutputs(deps.paths, 'release', app.name, listReleases(deps.db, app.id, deps.config.disk.keepReleases).map((r) => r.version)).catch((err: Error) =>
      console.error(`paas: could not remove old release outputs of ${app.name}: ${err.message}`),
    );
  }
}

async function takeLive(app: AppRow, release: ReleaseRow, log: (line: string) => void, deps: Deps, cancel?: AbortSignal): Promise<ReleaseRow> {
  // Shutdown stops every release in flight, whoever started it; `cancel` is the pusher's own.
  const signal = cancel ? AbortSignal.any([cancel, deps.lifecycle.signal]) : deps.lifecycle.signal;
  let run: ReleaseToRun | undefined;
  // A new dyno may die in the settle window after this returns (the release is then put back), or
  // just before: then the release fails here.
  let live = false;
  let reverted: string | undefined;
  // The formation before this release changed it: a release put back gets its process types back.
  let formationBefore: Formation = {};
  const onRevert = (why: string, back: ReleaseToRun) => {
    reverted = why;
    if (live) putBack(app, release, { back, formation: formationBefore }, why, deps);
  };
  try {
    if (signal.aborted) throw new DeployError(String(signal.reason));
    run = await toRun(app, release, deps);
    if (run?.slug.processTypes.release) {
      log(`-----> Running release command: ${run.slug.processTypes.release}`);
      await deps.runner.runOnce(run, 'release', { timeoutMs: deps.config.releaseTimeoutMs, log, signal });
    }
    if (run) await deps.runner.deploy(run, log, signal, { onRevert });
    if (reverted) throw new DeployError(reverted);
  } catch (cause) {
    // When shutdown stopped the release, its dynos died of it: say so rather than how they died.
    // A full disk (a dyno's scratch, the store) is said as such: the operator frees space, not the app.
    const err = signal.aborted ? new DeployError(String(signal.reason)) : asStorageError(cause, deps.paths.root, `release v${release.version} did not go live`);
    setReleaseStatus(deps.db, release.id, 'failed');
    deps.logs.append(app.name, 'paas[api]', `Release v${release.version} failed: ${(err as Error).message.split('\n')[0]}`);
    throw err;
  }
  deps.db.transaction(() => {
    formationBefore = getFormation(deps.db, app.id);
    setReleaseStatus(deps.db, release.id, 'succeeded');
    setCurrentRelease(deps.db, app.id, release.id);
    if (run) followProcessTypes(deps.db, app.id, run.slug.processTypes);
  })();
  live = true;
  deps.logs.append(app.name, 'paas[api]', `Release v${release.version} created: ${release.description}`);
  await pruneSlugs(app, deps);
  return { ...release, status: 'succeeded' };
}

/**
 * A release whose new dyno died in its settle window: failed, and the one before current again with
 * the formation it had (its process types, which the failed one may have dropped or added).
 */
function putBack(app: AppRow, release: ReleaseRow, before: { back: ReleaseToRun; formation: Formation }, why: string, deps: Pick<Deps, 'db' | 'logs' | 'notices'>): void {
  deps.db.transaction(() => {
    setReleaseStatus(deps.db, release.id, 'failed');
    if (revertCurrentRelease(deps.db, app.id, release.id, before.back.releaseId)) setFormation(deps.db, app.id, before.formation);
  })();
  const lines = why.split('\n');
  deps.logs.append(app.name, 'paas[api]', `Release v${release.version} put back: ${lines[0]} Fix what made it exit (its output follows), then push again.`);
  const at = new Date().toISOString().slice(11, 19);
  const what = lines[0].replace(/\s*Its last lines? of output.*$/, '');
  deps.notices.add(app.name, `Release v${release.version} was put back at ${at} UTC: ${what} Its last output is in \`paas logs -a ${app.name}\`.`);
  for (const line of lines.slice(1)) deps.logs.append(app.name, 'paas[api]', line);
}

/**
 * Keeps the slug images of the app's last PAAS_KEEP_RELEASES succeeded releases and removes older ones
 * (the builder's prune: slug directories have none to remove). It runs under the app's lock, so no
 * build of the app is under way whose image it could take.
 */
async function pruneSlugs(app: AppRow, deps: Pick<Deps, 'db' | 'logs' | 'builder' | 'config'>): Promise<void> {
  // What a rollback may pick, the release just made current first; failed releases do not count.
  const keep = new Set(succeededBuilds(deps.db, app.id, deps.config.disk.keepReleases));
  try {
    await deps.builder.prune(app, keep);
  } catch (err) {
    // The release is live either way; the next one tries again.
    deps.logs.append(app.name, 'paas[api]', `Could not remove old slug images: ${(err as Error).message}`);
  }
}

/**
 * Brings an app's current release back up after the server restarted, adopting the dynos in
 * `running` that a persistent runtime kept. It holds the app's lock, so
 * a push or config change that arrives meanwhile cannot be overtaken by the older release.
 */
export async function restoreCurrentRelease(app: AppRow, deps: Deps, running: StaleDyno[] = []): Promise<void> {
  const unlock = await deps.locks.acquire(app.name, 'a restart');
  try {
    const release = currentRelease(app, deps);
    const run = release ? await toRun(app, release, deps) : undefined;
    const log = (line: string) => deps.logs.append(app.name, 'paas[restore]', line.trim());
    // Dynos that outlived the previous server (Docker) are taken back as they are; the rest go.
    if (running.length && !run) await deps.runner.forget(running);
    if (run && running.length) await deps.runner.adopt(run, running, log, deps.lifecycle.signal);
    // No settle window: there is no older release to hand the traffic back to, nor anyone to tell.
    else if (run) await deps.runner.deploy(run, log, deps.lifecycle.signal, { settle: false });
  } finally {
    unlock();
  }
}
