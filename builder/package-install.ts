// Installs one npm package (a Node.js build, corepack) from the registry into a directory of its own
// under a server-owned root, once: read-only to apps, built aside and renamed into place so that
// concurrent installs of one version never see half of it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from './errors.js';
import { npmEnv, npmReason } from './npm-view.js';
import { excerpt } from './safe-fs.js';
import { moveIntoPlace, setModes } from './tool-install.js';
import { runApart } from '../lib/run-apart.js';

const run = runApart;
const PACK_TIMEOUT_MS = 10 * 60_000;
/** A crashed install leaves its temp dir behind; one this old is no one's any more. */
const STALE_INSTALL_MS = 60 * 60_000;

export interface PackageInstall {
  /** `name@version`, as npm pack takes it. */
  spec: string;
  /** The install's directory: `<root>/<…>`, made whole or not at all. */
  home: string;
  /** Whether a directory holds a finished install (the check when it is found already there). */
  installed: (home: string) => Promise<boolean>;
  /** Checks the unpacked package before it is renamed into place (throw to refuse it). */
  check?: (tree: string) => Promise<void>;
  /** What the pusher reads when the download fails (with npm's reason). */
  failure: (reason: string) => string;
  log?: (line: string) => void;
  /** Env for the host's npm (the operator's registry settings). */
  env?: Record<string, string>;
}

const installing = new Map<string, Promise<string>>();

/**
 * Installs `spec` into `home` (once: later calls only look) and returns `home`. Files are the
 * server's, dirs 0755 and files 0644 or 0755: every app may run them, none may change them.
 */
export async function installPackage(p: PackageInstall): Promise<string> {
  if (await p.installed(p.home)) return p.home;
  let pending = installing.get(p.home);
  if (!pending) {
    pending = download(p).finally(() => installing.delete(p.home));
    installing.set(p.home, pending);
  }
  return pending;
}

/** Makes `dir` (and its parents) open to apps' uids, which must pass through to run what it holds. */
export async function openDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  // The server's umask (077) would close it to apps' uids.
  await fs.chmod(dir, 0o755);
}

async function download(p: PackageInstall): Promise<string> {
  const root = path.dirname(p.home);
  await openDir(root);
  await clearStale(root);
  const work = await fs.mkdtemp(path.join(root, `.install-${path.basename(p.home)}-`));
  const started = Date.now();
  try {
    try {
      // A cache of its own, thrown away with the temp dir: the tarball is kept only unpacked.
      await run('npm', ['pack', p.spec, '--pack-destination', work, '--cache', path.join(work, 'npm-cache'), '--ignore-scripts'], {
        timeout: PACK_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        env: npmEnv(p.env),
      });
    } catch (err) {
      throw new BuildError(p.failure(npmReason(err)));
    }
    const tarball = (await fs.readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${p.spec} left no tarball`);
    const tree = path.join(work, 'package');
    await fs.mkdir(tree);
    await unpack(path.join(work, tarball), tree, p.spec);
    await p.check?.(tree);
    await moveIntoPlace(tree, p.home, p.installed);
    p.log?.(`       Downloaded ${p.spec} from the npm registry in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return p.home;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Removes what crashed installs under `root` left (`.install-*` temp dirs over an hour old). */
export async function clearStale(root: string): Promise<void> {
  for (const name of await fs.readdir(root)) {
    if (!name.startsWith('.install-')) continue;
    const stat = await fs.lstat(path.join(root, name)).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > STALE_INSTALL_MS) await fs.rm(path.join(root, name), { recursive: true, force: true });
  }
}

/** Unpacks files and directories only, owned by us, then sets the modes apps need: read and run, never write. */
async function unpack(tarball: string, tree: string, spec: string): Promise<void> {
  const tar = await import('tar'); // loaded on first install, not at server start
  const refused: string[] = [];
  await tar.x({
    file: tarball,
    cwd: tree,
    strip: 1,
    strict: true,
    preserveOwner: false,
    filter: (entryPath, entry) => {
      const type = 'type' in entry && typeof entry.type === 'string' ? entry.type : 'unknown';
      if (type === 'File' || type === 'OldFile' || type === 'Directory') return true;
      refused.push(`${entryPath} (${type})`);
      return false;
    },
  });
  if (refused.length > 0) throw new Error(`the ${spec} package holds entries paas does not install: ${excerpt(refused.join(', '), 200)}`);
  await setModes(tree);
}
