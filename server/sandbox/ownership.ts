import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxHost } from './host.js';
import type { AppUser } from './spawn.js';

/**
 * Gives a tree to the app's uid, link by link: lchown never follows a symlink, and directories are
 * entered only when lstat says they are real directories. Call it only while no process of the app
 * runs, so nothing can swap a directory for a link between the check and the chown.
 */
export async function handOver(dir: string, user: AppUser): Promise<void> {
  const stat = await fs.lstat(dir);
  await fs.lchown(dir, user.uid, user.gid);
  if (!stat.isDirectory()) return;
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await handOver(file, user);
    else await fs.lchown(file, user.uid, user.gid);
  }
}

/**
 * The mode of the directories that hold apps' files. Inside a sandbox the app reaches its tree through
 * a bind mount made by root, so no one else needs to enter (0700). With the uid alone, the app's
 * own uid must pass through them to reach its files (0711: enter, but not list).
 */
export function sharedDirMode(host: SandboxHost): number {
  return host.kind === 'none' && host.asRoot ? 0o711 : 0o700;
}

/**
 * Without a sandbox, an app's uid must be able to walk from / to the data dir. A data dir under
 * /root (0700) cannot be reached; say so at start-up rather than fail on the first deploy.
 */
export async function checkReachable(dataDir: string): Promise<string | undefined> {
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
