import { applyChange, type ConfigChange, describeChange } from './config-vars.js';
import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, NotFoundError } from '../../lib/errors.js';
import { failureMessage, isUserFailure, openRelease, runRelease } from './releases.js';
import { findApp } from '../store/apps.js';
import { findBuild, findRelease, previousSucceeded, type ReleaseRow } from '../store/releases.js';
import type { AppRow } from '../store/apps.js';
import { currentConfig, currentRelease, refuseOwnedVars } from './queries.js';
import { asStorageError, RELEASE_MIN_FREE, spaceProblem } from '../disk/space.js';

/**
 * Queues behind the app's lock, then opens a release with `prepare` and takes it live in the
 * background, recording its output for `output_stream_url`. Resolves with the pending release as
 * soon as it exists; the lock is held until the release is live or failed.
 */
async function releaseInBackground(
  appName: string,
  prepare: (app: AppRow) => Parameters<typeof openRelease>[0],
  deps: Deps,
): Promise<ReleaseRow> {
  const unlock = await deps.locks.acquire(appName, 'a new release (config change, rollback or add-on)');
  let release: ReleaseRow;
  let app: AppRow | undefined;
  try {
    // Read the app again under the lock: the release before ours may have changed it.
    app = findApp(deps.db, appName);
    if (!app) throw new NotFoundError(`Couldn't find that app: ${JSON.stringify(appName)}. Run \`paas apps\` to list your apps.`);
    // Refused before anything is written: a release that could not keep its output or start its
    // dynos would fail half-way, and `paas releases` would list it.
    const full = spaceProblem(deps.paths.root, Math.min(RELEASE_MIN_FREE, deps.config.disk.minFreeBytes), 'nothing was changed and no release was made');
    if (full) throw full;
    release = openRelease(prepare(app), deps);
  } catch (err) {
    unlock();
    // The store's own write failing (SQLITE_FULL) rolled its transaction back: nothing changed.
    throw asStorageError(err, deps.paths.root, 'nothing was changed and no release was made');
  }
  const log = deps.outputs.open(release.id);
  runRelease(app, release, log, deps)
    .catch((err: Error) => {
      if (!isUserFailure(err)) console.error(`release v${release.version} of ${appName} failed:`, err);
      // Only the first line is marked: it is the reason the CLI repeats; the rest (a dyno's last
      // output) is indented under it.
      const [first, ...rest] = failureMessage(err).split('\n');
      log(` !     ${first}`);
      for (const line of rest) log(`       ${line}`);
    })
    .finally(() => {
      deps.outputs.close(release.id);
      unlock();
    });
  return release;
}

/** One new release with the current build and the changed config (config:set / config:unset). */
export function changeConfig(params: { app: string; change: ConfigChange; actor: string }, deps: Deps): Promise<ReleaseRow> {
  return releaseInBackground(
    params.app,
    (app) => {
      refuseOwnedVars(app, params.change, deps);
      return {
        app,
        buildId: currentRelease(app, deps)?.build_id ?? null,
        config: applyChange(currentConfig(app, deps), params.change),
        description: describeChange(params.change),
        createdBy: params.actor,
      };
    },
    deps,
  );
}

/**
 * One new release with the current build and the app's own config after `change` attached or
 * detached an add-on under the app's lock: the dynos restart with the add-on vars of now.
 */
export function attachmentRelease(params: { app: string; description: string; actor: string; change: (app: AppRow) => void }, deps: Deps): Promise<ReleaseRow> {
  return releaseInBackground(
    params.app,
    (app) => {
      params.change(app);
      return { app, buildId: currentRelease(app, deps)?.build_id ?? null, config: currentConfig(app, deps), description: params.description, createdBy: params.actor };
    },
    deps,
  );
}

/**
 * A new release with vN's build and vN's config, reusing its slug (no rebuild). Without a target,
 * goes back to the newest succeeded release before the current one.
 */
export function rollback(params: { app: string; target?: number; actor: string }, deps: Deps): Promise<ReleaseRow> {
  return releaseInBackground(
    params.app,
    (app) => {
      const current = currentRelease(app, deps);
      if (!current) throw new ConflictError('no_release', `${app.name} has no releases yet, so there is nothing to roll back to.`);
      let target: ReleaseRow | undefined;
      if (params.target === undefined) {
        target = previousSucceeded(deps.db, app.id, current.version);
        if (!target) throw new ConflictError('no_previous_release', `${app.name} has no succeeded release before v${current.version} to roll back to.`);
      } else {
        target = findRelease(deps.db, app.id, params.target);
        if (!target) throw new NotFoundError(`${app.name} has no release v${params.target}. Run \`paas releases\` to see its releases.`);
        if (target.status !== 'succeeded') {
          throw new InvalidParamsError(`v${target.version} ${target.status === 'failed' ? 'failed' : 'never went live'}, so it cannot be rolled back to. Pick a succeeded release from \`paas releases\`.`);
        }
        if (!target.build_id) {
          throw new InvalidParamsError(`v${target.version} was made before the first push and has no code to roll back to. Pick a release with a commit from \`paas releases\`.`);
        }
      }
      // Its slug went to `paas gc`: a release with nothing to run must not go live.
      if (target.build_id && !findBuild(deps.db, target.build_id)?.slug_dir) {
        throw new InvalidParamsError(`v${target.version}'s slug was removed by \`paas gc\`, which keeps the newest ${deps.config.disk.keepReleases} releases of each app (PAAS_KEEP_RELEASES). Pick a newer release from \`paas releases\`, or push its commit again.`);
      }
      return { app, buildId: target.build_id, config: JSON.parse(target.config), description: `Rollback to v${target.version}`, createdBy: params.actor };
    },
    deps,
  );
}
