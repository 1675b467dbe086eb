import { randomUUID } from 'node:crypto';
import { build, BuildError, readSlug } from '../builder/index.js';
import type { Deps } from './deps.js';
import { DeployError, type ReleaseToRun } from './runner.js';
import { type AppRow, setCurrentRelease } from './store/apps.js';
import { findBuild, findReleaseById, finishBuild, insertBuild, insertRelease, type ReleaseRow, setReleaseStatus } from './store/releases.js';

/** A failure the pusher caused and can fix; shown as the push's error, never as a stack trace. */
export function isUserFailure(err: unknown): err is BuildError | DeployError {
  return err instanceof BuildError || err instanceof DeployError;
}

/**
 * Builds a pushed commit, records the build and a release, and rolls the web dynos onto it. Throws
 * (BuildError or DeployError) when the build or the boot fails; the live release is then untouched.
 * The caller holds the app's deploy lock.
 */
export async function deployCommit(
  params: { app: AppRow; commit: string; source: NodeJS.ReadableStream; log: (line: string) => void },
  deps: Deps,
): Promise<ReleaseRow> {
  const { app, commit, log } = params;
  const { db, paths, config } = deps;
  const buildId = randomUUID();
  insertBuild(db, { id: buildId, app_id: app.id, commit_sha: commit, created_at: new Date().toISOString() });
  let slug;
  try {
    slug = await build({
      appName: app.name,
      buildId,
      source: params.source,
      slugsDir: paths.slugs,
      cacheDir: paths.cache,
      env: config.baseEnv,
      log,
    });
  } catch (err) {
    finishBuild(db, buildId, { status: 'failed', now: new Date().toISOString() });
    throw err;
  }
  finishBuild(db, buildId, {
    status: 'succeeded',
    buildpack: slug.buildpack,
    processTypes: slug.processTypes,
    slugDir: slug.dir,
    now: new Date().toISOString(),
  });
  const release = insertRelease(db, {
    app_id: app.id,
    build_id: buildId,
    status: 'pending',
    description: `Deploy ${commit.slice(0, 7)}`,
    created_at: new Date().toISOString(),
  });
  try {
    await deps.runner.deploy(toRun(app, release, slug), log);
  } catch (err) {
    setReleaseStatus(db, release.id, 'failed');
    throw err;
  }
  db.transaction(() => {
    setReleaseStatus(db, release.id, 'succeeded');
    setCurrentRelease(db, app.id, release.id);
  })();
  deps.logs.append(app.name, 'paas[api]', `Deploy ${commit.slice(0, 7)}: release v${release.version} is live`);
  return { ...release, status: 'succeeded' };
}

function toRun(app: AppRow, release: ReleaseRow, slug: ReleaseToRun['slug']): ReleaseToRun {
  return { app: app.name, appId: app.id, releaseId: release.id, slug, env: {} };
}

/** Brings an app's current release back up, e.g. after the server restarted. */
export async function restoreCurrentRelease(app: AppRow, deps: Deps): Promise<void> {
  if (!app.current_release_id) return;
  const release = findReleaseById(deps.db, app.current_release_id);
  const buildRow = release?.build_id ? findBuild(deps.db, release.build_id) : undefined;
  if (!release || !buildRow?.slug_dir) return;
  const slug = await readSlug(buildRow.slug_dir);
  await deps.runner.deploy(toRun(app, release, slug), (line) => deps.logs.append(app.name, 'paas[restore]', line.trim()));
}
