// An app's builds and releases as the API reads them: the store's rows, looked up and checked here
// so the HTTP layer never reads the store itself.
import { InvalidParamsError, NotFoundError } from '../../lib/errors.js';
import { BUILD_ID } from '../outputs/store.js';
import type { AppRow } from '../store/apps.js';
import { type BuildRow, findBuild, findRelease, listBuilds, listReleases, type ReleaseRow } from '../store/releases.js';
import type { Deps } from './deps.js';

export type { AppRow } from '../store/apps.js';
export type { BuildRow, ReleaseRow } from '../store/releases.js';

export function requireBuild(deps: Pick<Deps, 'db'>, app: AppRow, id: string): BuildRow {
  if (!BUILD_ID.test(id)) throw new InvalidParamsError(`${JSON.stringify(id)} is not a build id. Run \`paas builds\` to see ${app.name}'s builds.`);
  const build = findBuild(deps.db, id);
  if (!build || build.app_id !== app.id) throw new NotFoundError(`${app.name} has no build ${id}. Run \`paas builds\` to see its builds.`);
  return build;
}

export function requireRelease(deps: Pick<Deps, 'db'>, app: AppRow, version: number): ReleaseRow {
  const r = findRelease(deps.db, app.id, version);
  if (!r) throw new NotFoundError(`${app.name} has no release v${version}. Run \`paas releases\` to see its releases.`);
  return r;
}

/** The app's latest builds, newest first. */
export function appBuilds(deps: Pick<Deps, 'db'>, app: AppRow, limit: number): BuildRow[] {
  return listBuilds(deps.db, app.id, limit);
}

/** The app's latest releases, newest first. */
export function appReleases(deps: Pick<Deps, 'db'>, app: AppRow, limit: number): ReleaseRow[] {
  return listReleases(deps.db, app.id, limit);
}

/** The build a release runs; undefined for one made before the first push. */
export function buildOf(deps: Pick<Deps, 'db'>, release: ReleaseRow): BuildRow | undefined {
  return release.build_id ? findBuild(deps.db, release.build_id) : undefined;
}
