import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { releaseAppAddons } from './attachments.js';
import type { Deps } from './deps.js';
import type { App } from '../../lib/api-types.js';
import { ConflictError, InvalidParamsError } from '../../lib/errors.js';
import { removeAppOutputs } from '../outputs/store.js';
import { repoDir } from '../store/paths.js';
import { type AppRow, deleteApp, findApp, insertApp, listApps as listAppRows, setMaintenance } from '../store/apps.js';
import { listDynos } from '../store/dynos.js';
import { hasPending, listSlugDirs } from '../store/releases.js';
import { APP_NAME_RULE, currentRelease, requireApp } from './queries.js';
import { forgetAppCerts, tlsRoute } from './certs.js';

/** The app as the API shows it: the shape its clients read (lib/api-types.ts). */
export type AppView = App;

/** Throws a 422 that states the naming rule when `name` breaks it. */
export function validateAppName(name: unknown): string {
  if (typeof name !== 'string' || !APP_NAME_RULE.test(name)) {
    throw new InvalidParamsError(
      `Invalid app name ${JSON.stringify(name)}: use 2 to 30 characters, lowercase letters, digits and dashes, starting with a letter (${APP_NAME_RULE.source}).`,
    );
  }
  return name;
}

const ADJECTIVES = ['quiet', 'brave', 'shiny', 'gentle', 'rapid', 'calm', 'bold', 'sunny', 'misty', 'lively', 'frozen', 'golden'];
const NOUNS = ['river', 'forest', 'meadow', 'harbor', 'canyon', 'summit', 'island', 'garden', 'falcon', 'comet', 'prairie', 'glacier'];

const pick = (list: string[]) => list[randomInt(list.length)];

/** A Heroku-style name such as `quiet-river-4821`. */
export function generateAppName(): string {
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}`;
}

/** An add-on's name, as Heroku's: `postgresql-shiny-12345`. */
export function generateAddonName(service: string): string {
  return `${service}-${pick(ADJECTIVES)}-${randomInt(10000, 100000)}`;
}

export function viewApp(app: AppRow, deps: Deps, gitBase: string): AppView {
  const release = currentRelease(app, deps);
  const standby = deps.runner.standingBy(app.name);
  return {
    name: app.name,
    created_at: app.created_at,
    git_url: `${gitBase}/${app.name}.git`,
    web_url: deps.webUrl(app.name),
    maintenance: app.maintenance === 1,
    release: release ? { version: release.version, description: release.description, created_at: release.created_at } : null,
    // As `GET /dynos` shows them: the previous release's web dynos standing by while a new one is on trial.
    dynos: listDynos(deps.db, app.id).map((d) => ({ name: `${d.process_type}.${d.number}`, state: standby.has(d.id) ? 'standby' : d.state, port: d.port })),
    deploying: hasPending(deps.db, app.id),
  };
}

function nameTaken(name: string): ConflictError {
  return new ConflictError('name_taken', `The name ${name} is already taken. Pick another name.`);
}

/**
 * Puts the new repository `staged` at `dir`. A directory already there belongs to no app (the caller
 * holds the name's row): a crash left it between deleting an app's row and its repository, or
 * between this rename and the row's commit. It is moved to `repos/.orphans/`, never deleted.
 */
function publishRepo(staged: string, dir: string): void {
  try {
    fs.renameSync(staged, dir);
    return;
  } catch (err) {
    // rename(2) replaces an empty directory; one with content, or a file, is in the way.
    if (!['ENOTEMPTY', 'EEXIST', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  const orphans = path.join(path.dirname(dir), '.orphans');
  fs.mkdirSync(orphans, { recursive: true });
  const aside = path.join(orphans, `${path.basename(dir, '.git')}-${Date.now()}.git`);
  fs.renameSync(dir, aside);
  console.log(`Moved ${dir}, which belonged to no app, to ${aside}; delete it when you no longer need it.`);
  fs.renameSync(staged, dir);
}

/**
 * Creates the app row and its bare git repository; neither exists if either step fails. The row's
 * UNIQUE name is the claim: of concurrent creates of one name exactly one wins, and no create ever
 * deletes a repository it did not make.
 */
export async function createApp(params: { name?: unknown }, deps: Deps): Promise<AppRow> {
  let name: string;
  if (params.name === undefined || params.name === null || params.name === '') {
    do name = generateAppName();
    while (findApp(deps.db, name));
  } else {
    name = validateAppName(params.name);
  }
  if (findApp(deps.db, name)) throw nameTaken(name);
  // Built where no other request looks, then moved into place under the row's claim.
  const staged = await fs.promises.mkdtemp(path.join(deps.paths.repos, `.new-${name}-`));
  try {
    // Loaded on first use: simple-git is not needed to start the server.
    const { simpleGit } = await import('simple-git');
    await simpleGit(staged).init(true);
    // Synchronous, so no other create runs in between; a failed rename rolls the row back.
    const app = deps.db.transaction(() => {
      const row = insertApp(deps.db, name, new Date().toISOString(), deps.config.appUids);
      publishRepo(staged, repoDir(deps.paths, name));
      return row;
    })();
    deps.routes.addApp(name);
    deps.routes.setTls(name, tlsRoute(deps.db, app));
    deps.events.created(name);
    return app;
  } catch (err) {
    await fs.promises.rm(staged, { recursive: true, force: true });
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw nameTaken(name);
    throw err;
  }
}

/**
 * Changes what `PATCH /v1/apps/:name` may change: only `maintenance` (true or false). It takes effect
 * on the routers at once, with no release, and leaves the dynos running, as on Heroku.
 */
export function updateApp(params: { name: string; changes: unknown }, deps: Deps): AppRow {
  const app = requireApp(deps, params.name);
  const changes = params.changes as { maintenance?: unknown } | undefined;
  const keys = changes && typeof changes === 'object' ? Object.keys(changes) : [];
  if (keys.length !== 1 || typeof changes?.maintenance !== 'boolean') {
    throw new InvalidParamsError('Send {"maintenance": true} or {"maintenance": false}: maintenance mode is the one thing an app update changes.');
  }
  setMaintenance(deps.db, app.id, changes.maintenance);
  deps.routes.setMaintenance(app.name, changes.maintenance);
  // Heroku's words for it, in the app's log.
  deps.logs.append(app.name, 'paas[api]', `${changes.maintenance ? 'Enable' : 'Disable'} maintenance mode`);
  return { ...app, maintenance: changes.maintenance ? 1 : 0 };
}

/**
 * Stops the app's dynos and removes every trace of it: row, repository, slugs (and slug images),
 * cache, logs and build and release outputs. Its add-ons are detached and keep their data, unless
 * `destroyAddons`: then those attached to no other app are destroyed. Returns which went and which stay.
 */
export async function destroyApp(params: { name: string; destroyAddons?: boolean }, deps: Deps): Promise<{ destroyed: string[]; kept: string[] }> {
  const app = requireApp(deps, params.name);
  const release = deps.locks.tryAcquire(app.name);
  if (!release) throw new ConflictError('deploy_in_progress', `A deploy of ${app.name} is in progress. Wait for it to finish, then destroy the app.`);
  try {
    await deps.runner.stopApp(app.name);
    await deps.builder.removeApp(app);
    const addons = await releaseAppAddons(app, params.destroyAddons === true, deps);
    await deps.runner.removeApp(app.name);
    const slugs = listSlugDirs(deps.db, app.id);
    const certs = forgetAppCerts(deps, app);
    deleteApp(deps.db, app.id);
    deps.routes.removeApp(app.name);
    deps.events.destroyed(app.name);
    certs.publish();
    await deps.drains.stopApp(app.name);
    deps.logs.forget(app.name);
    deps.notices.forget(app.name);
    await fs.promises.rm(repoDir(deps.paths, app.name), { recursive: true, force: true });
    await fs.promises.rm(path.join(deps.paths.cache, app.name), { recursive: true, force: true });
    await Promise.all(slugs.map((dir) => fs.promises.rm(dir, { recursive: true, force: true })));
    await removeAppOutputs(deps.paths, app.name);
    return addons;
  } finally {
    release();
  }
}

export function listApps(deps: Pick<Deps, 'db'>): AppRow[] {
  return listAppRows(deps.db);
}
