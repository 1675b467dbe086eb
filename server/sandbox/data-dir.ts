import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';
import type { DataPaths } from '../store/paths.js';
import type { AppRow } from '../store/apps.js';
import type { Db } from '../store/db.js';
import { listSlugDirs } from '../store/releases.js';
import { type SandboxHost, sharedDirMode } from './host.js';
import { handOver, readSlug } from '../../builder/index.js';
import { appUser } from './spawn.js';

/**
 * Without a sandbox, an app's uid must be able to walk from / to the data dir. A data dir under
 * /root (0700) cannot be reached; say so at start-up rather than fail on the first deploy.
 */
async function checkReachable(dataDir: string): Promise<string | undefined> {
  let dir = path.dirname(dataDir);
  for (;;) {
    const stat = await fs.stat(dir);
    if ((stat.mode & 0o001) === 0) {
      return `Apps cannot reach the data dir ${dataDir}: ${dir} is closed to other users (mode ${(stat.mode & 0o777).toString(8)}), and without bubblewrap every app runs under its own uid on the host. Install bubblewrap, or set PAAS_DATA_DIR to a directory outside it (for example /var/lib/paas).`;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function ensureDir(dir: string, mode: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode });
  // mkdir leaves an existing directory's mode alone; data dirs of older versions were 0755.
  await fs.chmod(dir, mode);
}

/**
 * The nearest folder above `dataDir` that holds a package.json or node_modules. Without the sandbox an
 * app runs at its real path, and Node resolves modules and "type" upward from there: it would inherit
 * that project (paas's own checkout, say).
 */
async function enclosingNodeProject(dataDir: string): Promise<string | undefined> {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    for (const name of ['package.json', 'node_modules']) {
      if (await fs.lstat(path.join(dir, name)).then(() => true, () => false)) return dir;
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Creates the data dir's folders with the modes the sandbox needs, and closes the platform's files
 * (store, token) to everyone but the server. Refuses, with the fix, a data dir apps cannot reach.
 * Returns warnings to show at start-up.
 */
export async function prepareDataDir(paths: DataPaths, host: SandboxHost): Promise<string[]> {
  const shared = sharedDirMode(host);
  await ensureDir(paths.root, shared);
  // run/ holds the git hook's socket: only the server's uid may enter it.
  for (const dir of [paths.repos, paths.cache, paths.hooks, paths.run, paths.builds, paths.releaseOutputs]) await ensureDir(dir, 0o700);
  for (const dir of [paths.slugs, paths.scratch]) await ensureDir(dir, shared);
  for (const file of [paths.db, `${paths.db}-wal`, `${paths.db}-shm`, paths.token]) {
    await fs.chmod(file, 0o600).catch(() => undefined);
  }
  if (host.kind === 'none' && host.asRoot) {
    const problem = await checkReachable(paths.root);
    if (problem) throw new ConfigError(problem);
  }
  const project = host.kind === 'none' ? await enclosingNodeProject(paths.root) : undefined;
  return project
    ? [`the data dir ${paths.root} is inside ${project}, which holds a Node project: without bubblewrap, Node apps inherit its package.json and node_modules. Set PAAS_DATA_DIR to a directory outside it.`]
    : [];
}

/** Removes the scratch layers of dynos that a previous server left behind; call after reaping them. */
export async function clearScratch(paths: DataPaths): Promise<void> {
  for (const name of await fs.readdir(paths.scratch)) await fs.rm(path.join(paths.scratch, name), { recursive: true, force: true });
}

/** Hands the slugs of apps that just got their own uid (assignMissingUids) over to it. */
export async function adoptSlugs(db: Db, host: SandboxHost, apps: readonly AppRow[]): Promise<void> {
  for (const app of apps) {
    const user = appUser(app, host);
    if (!user) continue;
    for (const home of listSlugDirs(db, app.id)) {
      const tree = await readSlug(home).then((s) => s.dir, () => undefined);
      const stat = tree ? await fs.lstat(tree).catch(() => undefined) : undefined;
      if (tree && stat?.isDirectory() && stat.uid !== user.uid) await handOver(tree, user);
    }
  }
}
