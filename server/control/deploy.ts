import { randomUUID } from 'node:crypto';
import { slugHome } from '../../builder/index.js';
import type { Deps } from './deps.js';
import { failureMessage, openRelease, runRelease } from './releases.js';
import { openOutput, pruneOutputs } from '../outputs/store.js';
import type { AppRow } from '../store/apps.js';
import { finishBuild, insertBuild, listBuilds, type ReleaseRow } from '../store/releases.js';
import type { ConfigVars } from './config-vars.js';
import { currentConfig } from './queries.js';
import { getFormation } from '../store/formation.js';
import { isNoSpace, spaceProblem, storageError } from '../disk/space.js';

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
  // Refused before anything is written: a build that fills the disk fails half-way, slowly.
  const full = spaceProblem(paths.root, deps.config.disk.minFreeBytes, 'this push was not applied');
  if (full) throw full;
  const buildId = randomUUID();
  insertBuild(db, { id: buildId, app_id: app.id, commit_sha: commit, created_at: new Date().toISOString() });
  deps.logs.append(app.name, 'paas[api]', `Build started by ${params.createdBy}: ${commit.slice(0, 7)}`);
  const output = openOutput(paths, 'build', app.name, buildId);
  // A build tool that hit a full disk says so in its output; the BuildError only says it failed.
  let sawNoSpace = false;
  const log = (line: string) => {
    if (!sawNoSpace && isNoSpace({ message: line })) sawNoSpace = true;
    output.write(line);
    params.log(line);
  };
  // Told once: what happened to the app since its owner last looked (a release put back).
  for (const notice of deps.notices.take(app.name)) log(` !     ${notice}`);
  try {
    const release = await buildAndRelease({ ...params, log, buildId }, deps);
    log(`-----> Released v${release.version}`);
    log(`       ${servedAt(app, deps)}`);
    const notice = deps.runner.trialNotice(app.name);
    if (notice) log(`       ${notice}`);
    return release;
  } catch (cause) {
    const err = sawNoSpace || isNoSpace(cause) ? storageError(paths.root, 'this push was not applied, and the release before it still runs') : cause;
    // As the push's output ends (git/pre-receive.ts), so the kept output ends the way the push did.
    output.write('');
    for (const line of `Push rejected: ${failureMessage(err)}`.split('\n')) output.write(` !     ${line}`);
    throw err;
  } finally {
    await output.close();
    await pruneOutputs(paths, 'build', app.name, listBuilds(db, app.id, deps.config.disk.keepReleases).map((b) => b.id)).catch((err: Error) =>
      console.error(`paas: could not remove old build outputs of ${app.name}: ${err.message}`),
    );
  }
}

/** A push to build and release, with the id of its build row. */
type BuildParams = { app: AppRow; commit: string; source: NodeJS.ReadableStream; log: (line: string) => void; createdBy: string; signal?: AbortSignal; buildId: string };

async function buildAndRelease(
  params: BuildParams,
  deps: Deps,
): Promise<ReleaseRow> {
  const { app } = params;
  // The pusher hanging up and the server shutting down both stop the build where it is.
  const signal = params.signal ? AbortSignal.any([params.signal, deps.lifecycle.signal]) : deps.lifecycle.signal;
  // The config the release will get; the app's lock keeps it from changing while the build runs.
  const appConfig = currentConfig(app, deps);
  // The new web dyno's sandbox starts while the slug builds, where the runtime can: the rollout
  // goes on from it. Over, whatever happened, it goes unless the rollout took it.
  const prestarted = deps.runner.prestartWeb({ app: app.name, appId: app.id, env: appConfig, user: deps.builder.dynoUser(app) });
  try {
    return await buildThenRelease(params, appConfig, signal, deps);
  } finally {
    await prestarted();
  }
}

async function buildThenRelease(
  params: BuildParams,
  appConfig: ConfigVars,
  signal: AbortSignal,
  deps: Deps,
): Promise<ReleaseRow> {
  const { app, commit, log, buildId } = params;
  const { db, paths } = deps;
  let slug;
  let buildpack: string | undefined;
  try {
    slug = await deps.builder.build({ app, buildId, commit, source: params.source, config: appConfig, log, signal, onDetected: (name) => (buildpack = name) });
  } catch (err) {
    finishBuild(db, buildId, { status: 'failed', buildpack, now: new Date().toISOString() });
    deps.logs.append(app.name, 'paas[api]', 'Build failed');
    throw err;
  }
  finishBuild(db, buildId, { status: 'succeeded', buildpack: slug.buildpack, processTypes: slug.processTypes, slugDir: slugHome(paths.slugs, buildId), now: new Date().toISOString() });
  deps.logs.append(app.name, 'paas[api]', 'Build succeeded');
  const release = openRelease(
    { app, buildId, config: appConfig, description: `Deploy ${commit.slice(0, 7)}`, createdBy: params.createdBy },
    deps,
  );
  // runRelease adds shutdown's signal itself, as for every release.
  return runRelease(app, release, log, deps, params.signal);
}

/** The push's last word: where the app answers, or, with no web dyno to run, that nothing does and why. */
function servedAt(app: AppRow, deps: Deps): string {
  const url = deps.webUrl(app.name);
  const web = getFormation(deps.db, app.id).web;
  if (web === undefined) return `Deployed to paas, with no web process: nothing answers at ${url}`;
  if (web === 0) return `Deployed to paas, with web scaled to 0: nothing answers at ${url} until \`paas ps:scale web=1\``;
  return `${url} deployed to paas`;
}
