import { randomInt } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, NotFoundError } from './errors.js';
import { repoDir } from './paths.js';
import { type AppRow, deleteApp, findApp, insertApp, listApps as listAppRows } from './store/apps.js';
import { listDynos } from './store/dynos.js';
import { currentRelease } from './releases.js';
import { listSlugDirs } from './store/releases.js';

export const APP_NAME_RULE = /^[a-z][a-z0-9-]{1,29}$/;

/** The app as the API shows it. */
export interface AppView {
  name: string;
  created_at: string;
  git_url: string;
  web_url: string;
  release: { version: number; description: string; created_at: string } | null;
  dynos: { name: string; state: string; port: number | null }[];
}

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

/** A Heroku-style name such as `quiet-river-4821`. */
export function generateAppName(): string {
  const pick = (list: string[]) => list[randomInt(list.length)]!;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}`;
}

export function requireApp(deps: Pick<Deps, 'db'>, name: string): AppRow {
  const app = APP_NAME_RULE.test(name) ? findApp(deps.db, name) : undefined;
  if (!app) throw new NotFoundError(`Couldn't find that app: ${JSON.stringify(name)}. Run \`paas apps\` to list your apps.`);
  return app;
}

export function viewApp(app: AppRow, deps: Deps, gitBase: string): AppView {
  const release = currentRelease(app, deps);
  return {
    name: app.name,
    created_at: app.created_at,
    git_url: `${gitBase}/${app.name}.git`,
    web_url: deps.webUrl(app.name),
    release: release ? { version: release.version, description: release.description, created_at: release.created_at } : null,
    dynos: listDynos(deps.db, app.id).map((d) => ({ name: `${d.process_type}.${d.number}`, state: d.state, port: d.port })),
  };
}

/** Creates the app row and its bare git repository; neither exists if either step fails. */
export async function createApp(params: { name?: unknown }, deps: Deps): Promise<AppRow> {
  let name: string;
  if (params.name === undefined || params.name === null || params.name === '') {
    do name = generateAppName();
    while (findApp(deps.db, name));
  } else {
    name = validateAppName(params.name);
  }
  if (findApp(deps.db, name)) throw new ConflictError('name_taken', `The name ${name} is already taken. Pick another name.`);
  const dir = repoDir(deps.paths, name);
  // A directory left by a crash between these two steps belongs to no app; start it afresh.
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  // Loaded on first use: simple-git is not needed to start the server.
  const { simpleGit } = await import('simple-git');
  await simpleGit(dir).init(true);
  try {
    const app = insertApp(deps.db, name, new Date().toISOString(), deps.config.appUids);
    deps.routes.addApp(name);
    return app;
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new ConflictError('name_taken', `The name ${name} is already taken. Pick another name.`);
    }
    throw err;
  }
}

/** Stops the app's dynos and removes every trace of it: row, repository, slugs, cache and logs. */
export async function destroyApp(params: { name: string }, deps: Deps): Promise<void> {
  const app = requireApp(deps, params.name);
  const release = deps.locks.tryAcquire(app.name);
  if (!release) throw new ConflictError('deploy_in_progress', `A deploy of ${app.name} is in progress. Wait for it to finish, then destroy the app.`);
  try {
    await deps.runner.stopApp(app.name);
    const slugs = listSlugDirs(deps.db, app.id);
    deleteApp(deps.db, app.id);
    deps.routes.removeApp(app.name);
    deps.logs.forget(app.name);
    await fs.rm(repoDir(deps.paths, app.name), { recursive: true, force: true });
    await fs.rm(path.join(deps.paths.cache, app.name), { recursive: true, force: true });
    await Promise.all(slugs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  } finally {
    release();
  }
}

export function listApps(deps: Pick<Deps, 'db'>): AppRow[] {
  return listAppRows(deps.db);
}
