import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * What this host lets us do to isolate an app's processes, found once at start-up.
 * - `bwrap`: mount, PID, IPC and UTS namespaces through bubblewrap; the app sees only /app, a private
 *   /tmp and read-only system directories.
 * - `none`: bubblewrap is missing or cannot make namespaces here; only the uid separates apps (as root).
 */
export interface SandboxHost {
  kind: 'bwrap' | 'none';
  /** Root can give every app its own uid and a copy-on-write /app (overlay); others cannot. */
  asRoot: boolean;
  /** Whether /app can be an overlay: as root, where the data dir's filesystem takes one (probeOverlay). */
  overlay: boolean;
  bwrap: string;
  setpriv: string;
  /** Directories outside /usr that hold the Node the apps run on, bound read-only into sandboxes. */
  sharedDirs: string[];
  /** PATH inside a sandbox, after the app's own bin directories. */
  systemPath: string;
  /**
   * The install prefix of the Node apps run on, when it ships its headers (include/node): native
   * modules are built against it, never against headers a host npmrc names or node-gyp downloads.
   */
  nodeDir: string | undefined;
  /**
   * Host files no sandbox may read, shown empty in each (those under the directories it binds): the
   * npmrc files where operators keep registry credentials. Builds get their settings another way.
   */
  hiddenFiles: string[];
  /** Said once at start-up: what this host cannot isolate. */
  warnings: string[];
}

/** Where npm (of any Node prefix under /usr) and operators keep global npmrc files. */
const HOST_NPMRC_FILES = ['/etc/npmrc', '/usr/etc/npmrc', '/usr/local/etc/npmrc'];

function which(name: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(':')) {
    const file = path.join(dir || '.', name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** The install prefix of the Node running paas (e.g. /usr or /opt/node), which apps run on too. */
function nodePrefix(): string {
  return path.dirname(path.dirname(fs.realpathSync(process.execPath)));
}

/** True when bwrap can make the namespaces we use (it cannot inside some containers). */
function bwrapWorks(bwrap: string): boolean {
  const probe = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-ipc', '--proc', '/proc', '--', '/bin/true'], {
    stdio: 'ignore',
    timeout: 5000,
  });
  return probe.status === 0;
}

/** Finds bubblewrap and setpriv and decides the sandbox kind. Runs two tiny processes (a few ms). */
export function detectSandbox(env: NodeJS.ProcessEnv = process.env): SandboxHost {
  const searchPath = `${env.PATH ?? ''}:/usr/bin:/bin:/usr/sbin:/sbin`;
  const asRoot = process.getuid?.() === 0;
  const bwrap = which('bwrap', searchPath);
  const setpriv = which('setpriv', searchPath) ?? '/usr/bin/setpriv';
  const prefix = nodePrefix();
  const sharedDirs = prefix === '/usr' || prefix.startsWith('/usr/') ? [] : [prefix];
  const nodeBin = path.join(prefix, 'bin');
  const systemPath = [...new Set([nodeBin, '/usr/local/bin', '/usr/bin', '/bin'])].join(':');
  const warnings: string[] = [];
  let kind: SandboxHost['kind'] = 'bwrap';
  if (!bwrap) {
    kind = 'none';
    warnings.push('bubblewrap (bwrap) is not installed: apps are separated only by their uid. Install it (apt-get install bubblewrap) and restart paas.');
  } else if (!bwrapWorks(bwrap)) {
    kind = 'none';
    warnings.push('bubblewrap cannot create namespaces on this host: apps are separated only by their uid. Allow user namespaces, or run paas as root, and restart.');
  }
  if (!asRoot) {
    const risk = kind === 'bwrap' ? 'an app that escaped its sandbox could read' : 'apps can read';
    warnings.push(`paas is not running as root: every app runs under the server's own uid, so ${risk} other apps' files and the data dir. Run paas as root to give each app its own uid.`);
  }
  const nodeDir = fs.existsSync(path.join(prefix, 'include', 'node', 'node.h')) ? prefix : undefined;
  // The global npmrc of the Node apps run on sits under its prefix, which sandboxes bind (sharedDirs).
  const hiddenFiles = [...new Set([...HOST_NPMRC_FILES, path.join(prefix, 'etc', 'npmrc')])];
  return { kind, asRoot, overlay: kind === 'bwrap' && asRoot, bwrap: bwrap ?? 'bwrap', setpriv, sharedDirs, systemPath, nodeDir, hiddenFiles, warnings };
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
 * Without bubblewrap nothing can be hidden: a warning naming the hidden files any user can read
 * (where operators keep registry credentials), or undefined.
 */
export function exposedFilesWarning(host: SandboxHost): string | undefined {
  if (host.kind !== 'none') return undefined;
  const readable = host.hiddenFiles.filter((file) => {
    try {
      return (fs.statSync(file).mode & 0o004) !== 0;
    } catch {
      return false;
    }
  });
  if (readable.length === 0) return undefined;
  return `without bubblewrap, every app can read ${readable.join(', ')}: keep registry credentials out of them (chmod 600), and give builds their settings with PAAS_BUILD_NPMRC, a file only paas's user reads.`;
}
