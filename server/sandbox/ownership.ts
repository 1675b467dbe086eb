import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxHost } from './host.js';

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
