// Which package manager a Node app is built with, and which version, as Heroku's Node buildpack
// chooses: package.json's packageManager (corepack's field), else engines.yarn / engines.pnpm, else
// the lockfile in the tree; npm matches the app's Node unless engines.npm says otherwise.
import path from 'node:path';
import semver from 'semver';
import { BuildError } from '../errors.js';
import { registryEngines, registryVersions } from '../npm-view.js';
import { excerpt, readTreeFile } from '../safe-fs.js';
import { PIN, type ToolName, type ToolRef, toolRef } from '../tools.js';

/** Lockfiles of big apps run to megabytes; they are only hashed and sniffed, never shown. */
export const LOCKFILE_MAX = 64 * 1024 * 1024;
const LOCKFILES: [string, ToolName][] = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['yarn.lock', 'yarn'],
  ['pnpm-lock.yaml', 'pnpm'],
];
/** npm 12 no longer runs dependencies' install scripts unless package.json allows each: only engines.npm picks it. */
const NPM_DEFAULT_RANGE = '>=7.0.0 <12.0.0-0';
/** pnpm's lockfile format → the pnpm major that writes it (9.0 is also pnpm 10's). */
const PNPM_BY_LOCKFILE: [RegExp, number][] = [
  [/^5\.3/, 6],
  [/^5\.4/, 7],
  [/^6\./, 8],
  [/^(7|9)\./, 9],
];

/** The parts of package.json the choice reads; anything may be missing or of another type. */
export interface PackageFields {
  [field: string]: unknown;
  packageManager?: unknown;
  engines?: Record<string, unknown>;
}

/** The Node the app builds and runs on: `own` when it is the platform's (the stack's), which brings its npm. */
export interface NodeChoice {
  version: string;
  own: boolean;
  /** The platform's npm version, when known. */
  platformNpm?: string;
}

export interface PackageManager {
  name: ToolName;
  /** Yarn 2 and later (its own, or a release committed at yarnPath that Yarn 1 hands over to). */
  berry: boolean;
  /** The major of that Yarn 2+ when known (a release at yarnPath is known by its file name). */
  berryMajor?: number;
  /** The tool to install; undefined for the platform's own npm. */
  tool?: ToolRef;
  /** npm for the app's Node when the app builds with yarn or pnpm (scripts may run npm), unless it is the platform's. */
  npm?: ToolRef;
  /** How it was chosen, for the build output ("packageManager: pnpm@9.1.0"). */
  why: string;
  lockfile?: string;
  /** Yarn 2+ with Plug'n'Play (no node_modules). */
  pnp: boolean;
  /** A line of build output worth a warning (a version guessed from the lockfile). */
  warning?: string;
}

function bad(what: string, fix: string): BuildError {
  return new BuildError(`${what}. ${fix} and push again.`);
}

/** packageManager as corepack reads it: `name@exact-version` with an optional `+algo.hex` pin. */
function parseField(field: unknown): { name: ToolName; version: string; pin?: string } | undefined {
  if (field === undefined) return undefined;
  const shown = excerpt(typeof field === 'string' ? field : (JSON.stringify(field) ?? String(field)), 80);
  const m = typeof field === 'string' ? /^(npm|yarn|pnpm)@([^+]+)(?:\+(.+))?$/.exec(field.trim()) : null;
  if (!m) throw bad(`package.json packageManager ("${shown}") is not a package manager paas builds with`, 'Set it to npm, yarn or pnpm with an exact version (for example "pnpm@9.15.9"; `corepack use pnpm@9` writes it)');
  if (semver.valid(m[2]) !== m[2]) throw bad(`package.json packageManager ("${shown}") names no exact version`, `Name one (for example "${m[1]}@${m[1] === 'yarn' ? '4.9.2' : m[1] === 'pnpm' ? '9.15.9' : '10.9.2'}")`);
  if (m[3] !== undefined && !PIN.test(m[3])) throw bad(`package.json packageManager ("${shown}") has a hash corepack cannot check`, 'Write it as +sha512.<hex> (or remove the hash)');
  return { name: m[1] as ToolName, version: m[2], pin: m[3] };
}

function engine(pkg: PackageFields, name: ToolName): string | undefined {
  const value = pkg.engines?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || semver.validRange(value) === null) {
    throw bad(`package.json engines.${name} (${excerpt(JSON.stringify(value) ?? String(value), 60)}) is not a version range`, `Fix engines.${name} (for example "${name === 'npm' ? '10.x' : name === 'yarn' ? '1.22.x' : '9.x'}")`);
  }
  return value;
}

/**
 * The newest release of `pkg` in `range` (prereleases only when the range names one). The `yarn`
 * package is Yarn 1 only: the few 2.x it also holds are @yarnpkg/cli-dist's to give.
 */
async function newest(pkg: string, range: string, what: string, npmEnv: Record<string, string> | undefined): Promise<string | undefined> {
  let versions: string[];
  try {
    versions = await registryVersions(pkg, { env: npmEnv });
  } catch (err) {
    throw new BuildError(`paas could not list the versions of ${pkg} on the npm registry (${(err as Error).message.split('\n')[0]}) for ${what}. Push again once the registry answers.`);
  }
  return semver.maxSatisfying(pkg === 'yarn' ? versions.filter((v) => semver.major(v) < 2) : versions, range) ?? undefined;
}

/** The newest npm (7 to 11) whose own engines.node accepts `node`; refuses a Node no such npm runs on. */
export async function npmForNode(node: string, npmEnv?: Record<string, string>): Promise<string> {
  const rows = await registryEngines('npm', NPM_DEFAULT_RANGE, { env: npmEnv }).catch((err: Error) => {
    throw new BuildError(`paas could not list npm's versions on the npm registry (${err.message.split('\n')[0]}) to match Node.js ${node}. Push again once the registry answers.`);
  });
  const fits = rows.filter((r) => !semver.prerelease(r.version) && r.node && semver.satisfies(node, r.node)).map((r) => r.version);
  const best = fits.sort(semver.rcompare)[0];
  if (best) return best;
  const oldest = Math.min(...rows.map((r) => (r.node ? (semver.minVersion(r.node)?.major ?? Infinity) : Infinity)));
  throw new BuildError(
    `Node.js ${node} is older than any Node paas builds with: no npm that installs today's lockfiles (npm 7 and later) runs on it. ` +
      `paas builds apps on Node.js ${Number.isFinite(oldest) ? oldest : 10} and later; set engines.node to a line still supported (for example "22.x") and push again.`,
  );
}

async function sniff(dir: string, name: string): Promise<string> {
  return (await readTreeFile(dir, name, LOCKFILE_MAX))?.toString('utf8') ?? '';
}

/** Yarn 2+ settings that steer the build: the linker and a release committed to the tree. */
async function yarnrc(dir: string): Promise<{ linker?: string; yarnPath?: string }> {
  const text = await sniff(dir, '.yarnrc.yml');
  const value = (key: string) => new RegExp(`^${key}:\\s*["']?([^"'#\\n]*?)["']?\\s*(#.*)?$`, 'm').exec(text)?.[1];
  const yarnPath = value('yarnPath');
  return { linker: value('nodeLinker'), yarnPath: yarnPath && !path.isAbsolute(yarnPath) && !yarnPath.split('/').includes('..') ? yarnPath : undefined };
}

/** The yarn or pnpm version the app gets, and why. */
async function version(
  name: 'yarn' | 'pnpm',
  pkg: PackageFields,
  dir: string,
  lock: { file?: string; berry: boolean },
  npmEnv: Record<string, string> | undefined,
): Promise<{ version: string; why: string; warning?: string }> {
  const range = engine(pkg, name);
  if (range) {
    // engines.yarn: Yarn 1 from the `yarn` package, Yarn 2+ from @yarnpkg/cli-dist (a berry lockfile looks there first).
    const lists = name === 'pnpm' ? ['pnpm'] : lock.berry ? ['@yarnpkg/cli-dist', 'yarn'] : ['yarn', '@yarnpkg/cli-dist'];
    for (const list of lists) {
      const found = await newest(list, range, `engines.${name}`, npmEnv);
      if (found) return { version: found, why: `engines.${name}: ${excerpt(range, 40)}` };
    }
    throw bad(`No ${name} release satisfies package.json engines.${name} "${excerpt(range, 40)}"`, `Fix engines.${name}`);
  }
  if (name === 'yarn') {
    const yarnPath = lock.berry ? (await yarnrc(dir)).yarnPath : undefined;
    if (lock.berry && !yarnPath) {
      throw bad('yarn.lock is a Yarn 2+ lockfile, but package.json does not say which Yarn wrote it', 'Add "packageManager": "yarn@<version>" to package.json (`corepack use yarn@4` or `yarn set version` writes it), or commit the release with yarnPath in .yarnrc.yml');
    }
    // Yarn 1 runs the release committed at yarnPath, as on Heroku.
    const found = (await newest('yarn', '1.x', 'yarn.lock', npmEnv))!;
    return { version: found, why: yarnPath ? `yarn.lock; Yarn 1 runs the release at yarnPath ${excerpt(yarnPath, 60)}` : 'yarn.lock' };
  }
  const format = /^lockfileVersion:\s*['"]?([\d.]+)/m.exec(await sniff(dir, lock.file ?? 'pnpm-lock.yaml'))?.[1] ?? '';
  const major = PNPM_BY_LOCKFILE.find(([re]) => re.test(format))?.[1];
  if (!major) throw bad(`pnpm-lock.yaml (lockfileVersion ${excerpt(format || 'missing', 20)}) does not say which pnpm wrote it`, 'Add "packageManager": "pnpm@<version>" to package.json (`corepack use pnpm@9` writes it)');
  const found = (await newest('pnpm', `${major}.x`, 'pnpm-lock.yaml', npmEnv))!;
  return {
    version: found,
    why: `pnpm-lock.yaml v${format}`,
    warning: `package.json names no pnpm version: using pnpm ${found}, the newest of the line that writes lockfile v${format}. Set "packageManager": "pnpm@<version>" to choose.`,
  };
}

/** The npm to install, or undefined for the platform's own. */
async function npmTool(pkg: PackageFields, field: ReturnType<typeof parseField>, node: NodeChoice, npmEnv: Record<string, string> | undefined): Promise<{ tool?: ToolRef; why: string }> {
  if (field?.name === 'npm') {
    const why = `packageManager: npm@${field.version}`;
    if (!field.pin && node.own && field.version === node.platformNpm) return { why };
    return { tool: await toolRef('npm', field.version, field.pin, npmEnv), why };
  }
  const range = engine(pkg, 'npm');
  if (range) {
    const why = `engines.npm: ${excerpt(range, 40)}`;
    if (node.own && node.platformNpm && semver.satisfies(node.platformNpm, range)) return { why };
    const found = await newest('npm', range, 'engines.npm', npmEnv);
    if (!found) throw bad(`No npm release satisfies package.json engines.npm "${excerpt(range, 40)}"`, 'Fix engines.npm');
    return { tool: await toolRef('npm', found, undefined, npmEnv), why };
  }
  if (node.own) return { why: 'the platform\'s own' };
  return { tool: await toolRef('npm', await npmForNode(node.version, npmEnv), undefined, npmEnv), why: `the newest npm for Node.js ${node.version}` };
}

/**
 * Chooses the package manager (and its version) for the tree at `dir`, asking the registry with
 * `npmEnv` (the operator's settings); throws BuildError for what paas cannot build.
 */
export async function choosePackageManager(dir: string, pkg: PackageFields, node: NodeChoice, npmEnv?: Record<string, string>): Promise<PackageManager> {
  const found: [string, ToolName][] = [];
  for (const [file, tool] of LOCKFILES) if ((await readTreeFile(dir, file, LOCKFILE_MAX)) !== undefined) found.push([file, tool]);
  const tools = [...new Set(found.map(([, t]) => t))];
  if (tools.length > 1) {
    const files = found.map(([f]) => f).join(', ');
    throw bad(`The tree holds lockfiles of ${tools.length} package managers (${files}), and only one can install the dependencies`, `Keep the lockfile of the one you use, delete the others (\`git rm ${found.filter(([, t]) => t !== tools[0]).map(([f]) => f).join(' ')}\`, say)`);
  }
  const field = parseField(pkg.packageManager);
  const [yarnRange, pnpmRange] = [engine(pkg, 'yarn'), engine(pkg, 'pnpm')];
  if (yarnRange && pnpmRange) throw bad('package.json sets both engines.yarn and engines.pnpm', 'Keep the one you build with');
  const lockTool = tools[0];
  const name: ToolName = field?.name ?? (yarnRange ? 'yarn' : pnpmRange ? 'pnpm' : (lockTool ?? 'npm'));
  const lockfile = found.find(([, t]) => t === name)?.[0];
  if (lockTool && lockTool !== name) {
    const asked = field ? `packageManager names ${field.name}` : `engines.${name} is set`;
    throw bad(`package.json's ${asked}, but the tree's lockfile is ${found[0][0]}`, `Install with ${name} and commit its lockfile (deleting ${found[0][0]}), or remove the field`);
  }
  const npm = await npmTool(pkg, field, node, npmEnv);
  if (name === 'npm') return { name, berry: false, tool: npm.tool, why: npm.why, lockfile, pnp: false };

  const berryLock = lockfile === 'yarn.lock' && /^__metadata:/m.test(await sniff(dir, 'yarn.lock'));
  const chosen = field
    ? { version: field.version, why: `packageManager: ${field.name}@${field.version}` }
    : await version(name, pkg, dir, { file: lockfile, berry: berryLock }, npmEnv);
  const rc = name === 'yarn' ? await yarnrc(dir) : {};
  const own = name === 'yarn' && semver.major(chosen.version) >= 2;
  // Yarn 1 hands a project with yarnPath over to that release (Yarn 2+, as its lockfile says).
  const berry = own || berryLock;
  const release = rc.yarnPath ? /yarn-(\d+)\.[\w.-]*c?js$/.exec(rc.yarnPath)?.[1] : undefined;
  return {
    name,
    berry,
    berryMajor: own ? semver.major(chosen.version) : release ? Number(release) : undefined,
    tool: await toolRef(name, chosen.version, field?.name === name ? field.pin : undefined, npmEnv),
    npm: npm.tool,
    why: chosen.why,
    lockfile,
    pnp: berry && rc.linker !== 'node-modules' && rc.linker !== 'pnpm',
    warning: 'warning' in chosen ? chosen.warning : undefined,
  };
}
