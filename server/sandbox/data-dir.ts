import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.js';
import type { DataPaths } from '../paths.js';
import { listApps } from '../store/apps.js';
import type { Db } from '../store/db.js';
import { listSlugDirs } from '../store/releases.js';
import type { SandboxHost } from './host.js';
import { handOver, readSlug } from '../../builder/index.js';
import { checkReachable, sharedDirMode } from './ownership.js';
import { appUser } from './spawn.js';

async function ensureDir(dir: string, mode: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode });
  // mkdir leaves an existing directory's mode alone; data dirs of older versions were 0755.
  await fs.chmod(dir, mode);
}

/**
 * Creates the data dir's folders with the modes the sandbox needs, and closes the platform's files
 * (store, token) to everyone but the server. Refuses, with the fix, a data dir apps cannot reach.
 */
export async function prepareDataDir(paths: DataPaths, host: SandboxHost): Promise<void> {
  const shared = sharedDirMode(host);
  await ensureDir(paths.root, shared);
  for (const dir of [paths.repos, paths.cache, paths.hooks]) await ensureDir(dir, 0o700);
  for (const dir of [paths.slugs, paths.scratch]) await ensureDir(dir, shared);
  for (const file of [paths.db, `${paths.db}-wal`, `${paths.db}-shm`, paths.token]) {
    await fs.chmod(file, 0o600).catch(() => undefined);
  }
  if (host.kind === 'none' && host.asRoot) {
    const problem = await checkReachable(paths.root);
    if (problem) throw new ConfigError(problem);
  }
}

/** Removes the scratch layers of dynos that a previous server left behind; call after reaping them. */
export async function clearScratch(paths: DataPaths): Promise<void> {
  for (const name of await fs.readdir(paths.scratch)) await fs.rm(path.join(paths.scratch, name), { recursive: true, force: true });
}

/** Hands slugs built before apps had their own uid over to that uid, once (a later start finds them owned). */
export async function adoptSlugs(db: Db, host: SandboxHost): Promise<void> {
  for (const app of listApps(db)) {
    const user = appUser(app, host);
    if (!user) continue;
    for (const home of listSlugDirs(db, app.id)) {
      const tree = await readSlug(home).then((s) => s.dir, () => undefined);
      const stat = tree ? await fs.lstat(tree).catch(() => undefined) : undefined;
      if (tree && stat?.isDirectory() && stat.uid !== user.uid) await handOver(tree, user);
    }
  }
}
