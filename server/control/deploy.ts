import { randomUUID } from 'node:crypto';
import { slugHome } from '../../builder/index.js';
import type { Deps } from './deps.js';
import { failureMessage, openRelease, runRelease } from './releases.js';
import { KEPT_RELEASES, openOutput, pruneOutputs } from '../outputs/store.js';
import type { AppRow } from '../store/apps.js';
import { finishBuild, insertBuild, listBuilds, type ReleaseRow } from '../store/releases.js';
import { currentConfig } from './queries.js';

export { isUserFailure } from './releases.js';

/**
 * Builds a pushed commit, records the build, and releases it with the current config. Throws
 * (BuildError or DeployError) when the build, the release phase or the boot fails; the live
 * release is then untouched. Everything it logs, and the failure as the pusher sees it, is kept
 * as the build's output (`<data>/builds`). The caller holds the app's lock.
 */
export async function deployCommit(
  params: { app: AppRow; commit: string; source: NodeJS.ReadableStream; log: (line: string) => void; createdBy: string; signal?: AbortSignal },
  deps: Deps,
): Promise<ReleaseRow> {
  const { app, commit } = params;
  const { db, paths } = deps;
  const buildId = randomUUID();
  insertBuild(db, { id: buildId, app_id: app.id, commit_sha: commit, created_at: new Date().toISOString() });
  const output = openOutput(paths, 'build', app.name, buildId);
  const log = (line: string) => {
    output.write(line);
    params.log(line);
  };
  try {
    const release = await buildAndRelease({ ...params, log, buildId }, deps);
    log(`-----> Released v${release.version}`);
    log(`       ${deps.webUrl(app.name)} deployed to paas`);
    const notice = deps.runner.trialNotice(app.name);
    if (notice) log(`       ${notice}`);
    return release;
  } catch (err) {
    // As the push's output ends (git/pre-receive.ts), so the kept output ends the way the push did.
    output.write('');
    for (const line of `Push rejected: ${failureMessage(err)}`.split('\n')) output.write(` !     ${line}`);
    throw err;
  } finally {
    await output.close();
    await pruneOutputs(paths, 'build', app.name, listBuilds(db, app.id, KEPT_RELEASES).map((b) => b.id)).catch((err: Error) =>
      console.error(`paas: could not remove old build outputs of ${app.name}: ${err.message}`),
    );
  }
}

async function buildAndRelease(
  params: { app: AppRow; commit: string; source: NodeJS.ReadableStream; log: (line: string) => void; createdBy: string; signal?: AbortSignal; buildId: string },
  deps: Deps,
): Promise<ReleaseRow> {
  const { app, commit, log, buildId } = params;
  const { db, paths } = deps;
  // The pusher hanging up and the server shutting down both stop the build where it is.
  const signal = params.signal ? AbortSignal.any([params.signal, deps.lifecycle.signal]) : deps.lifecycle.signal;
  // The config the release will get; the app's lock keeps it from changing while the build runs.
  const appConfig = currentConfig(app, deps);
  let slug;
  try {
    slug = await deps.builder.build({ app, buildId, commit, source: params.source, config: appConfig, log, signal });
  } catch (err) {
    finishBuild(db, buildId, { status: 'failed', now: new Date().toISOString() });
    throw err;
  }
  finishBuild(db, buildId, { status: 'succeeded', buildpack: slug.buildpack, processTypes: slug.processTypes, slugDir: slugHome(paths.slugs, buildId), now: new Date().toISOString() });
  const release = openRelease(
    { app, buildId, config: appConfig, description: `Deploy ${commit.slice(0, 7)}`, createdBy: params.createdBy },
    deps,
  );
  // runRelease adds shutdown's signal itself, as for every release.
  return runRelease(app, release, log, deps, params.signal);
}
