// What decides a Node app's dependency install on the host, so that an install whose inputs have not
// changed since the app's last build is skipped and its output (node_modules, or Plug'n'Play's
// files) reused from the app's cache (node-compile.ts). A key covers everything that can change
// what the install makes; an install that may read or write files the key cannot cover is never
// skipped (see installCache).
import fs from 'node:fs/promises';
import { hashKey, hashTree, treePath } from '../cache.js';
import { entryKind } from '../safe-fs.js';
import type { PackageManager } from './package-manager.js';

/** package.json as the key reads it (node-plan.ts's PackageJson, which imports this file's types). */
type PackageJson = Record<string, unknown> & { scripts?: Record<string, unknown> };

/**
 * Root scripts a package manager runs during the install (npm ci runs the first seven, npm 7+ runs
 * `dependencies` after it changed node_modules, pnpm runs pnpm:devPreinstall).
 */
export const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare', 'prepublish', 'dependencies', 'pnpm:devPreinstall'];
/**
 * Files at the root that decide what an install makes, besides package.json and the lockfile (a
 * trailing / marks a directory). binding.gyp: npm builds the app's own addon with the install.
 */
const INSTALL_INPUTS = ['.npmrc', '.yarnrc', '.yarnrc.yml', '.pnpmfile.cjs', 'pnpm-workspace.yaml', '.yarn/releases/', '.yarn/plugins/', '.yarn/patches/', 'patches/', 'binding.gyp'];

/** Those of `rels` (a trailing / marks a directory) the tree holds, reached through real directories only (app code may have run). */
export async function presentInTree(dir: string, rels: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const rel of rels) {
    const file = await treePath(dir, rel.replace(/\/$/, ''));
    if (file && (await entryKind(file))) found.push(rel);
  }
  return found;
}

/**
 * What the install reads: package.json, the lockfile and the settings files the tree holds, and a
 * Yarn 2+ zero-install's committed cache. Read at plan time and again after heroku-prebuild.
 */
export async function installInputs(dir: string, pm: PackageManager): Promise<string[]> {
  const files = ['package.json', ...(pm.lockfile ? [pm.lockfile] : []), ...(await presentInTree(dir, INSTALL_INPUTS))];
  return pm.berry && (await presentInTree(dir, ['.yarn/cache/'])).length > 0 ? [...files, '.yarn/cache/'] : files;
}

/** Dependency specs that point into the tree. */
export const LOCAL_SPEC = /^(file|link|portal|workspace):/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'];

/**
 * package.json fields that cannot change what an install makes: descriptions, what the package
 * publishes or exports, run-time and tool settings. Every other field counts (dependencies,
 * overrides, resolutions, pnpm, engines, packageManager, os/cpu, config…), so a field a package
 * manager learns to read later costs a reinstall, never a wrong reuse. `name` and `version` count:
 * npm writes them into node_modules/.package-lock.json. `scripts` do not: an app with an install
 * script is never skipped, and the other scripts run after the install.
 */
const NOT_INSTALL_FIELDS = new Set([
  'description', 'keywords', 'author', 'contributors', 'maintainers', 'license', 'homepage', 'repository', 'bugs', 'funding',
  'main', 'module', 'exports', 'imports', 'types', 'typings', 'files', 'man', 'directories', 'browser', 'type', 'private',
  'sideEffects', 'publishConfig', 'scripts', 'cacheDirectories', 'cache_directories',
  'prettier', 'eslintConfig', 'browserslist', 'jest', 'babel', 'stylelint', 'lint-staged', 'husky', 'nodemonConfig',
]);

/** App config vars the package managers read as settings. */
const PM_SETTING = /^(npm_config_|yarn_|pnpm_|corepack_)/i;

/** Whether and by what the install's output is cached: the files it reads, or why it runs on every build. */
export type InstallCache = { files: string[] } | { why: string };

/**
 * Whether an install can be skipped when its key is unchanged, and the files of the tree (besides
 * package.json) it reads. It cannot be when it reads or writes what no key covers: workspaces install
 * into every package of the tree; a root install script, or a `file:` dependency's own scripts, may
 * read or write any file (husky's prepare writes .git hooks, a postinstall `tsc` writes dist/), so
 * skipping would leave their output out; and with no lockfile, npm resolves version ranges against
 * the registry on each build, so only an app with no dependencies at all installs the same thing.
 */
export function installCache(pkg: PackageJson, pm: PackageManager, depsFiles: string[], workspaces: boolean): InstallCache {
  if (workspaces) return { why: 'workspaces install into every package of the tree' };
  const script = INSTALL_SCRIPTS.find((s) => pkg.scripts?.[s] !== undefined);
  if (script) return { why: `package.json has a ${script} script, which runs with the install and may read or write any file` };
  // With no install script of its own, npm runs `node-gyp rebuild` for a root binding.gyp: a build of the tree.
  if (depsFiles.includes('binding.gyp') && pkg.gypfile !== false) return { why: 'binding.gyp: the install builds the app\'s own native addon from the tree' };
  const specs = DEPENDENCY_FIELDS.flatMap((f) => Object.values((pkg[f] ?? {}) as Record<string, unknown>));
  if (specs.some((v) => typeof v === 'string' && LOCAL_SPEC.test(v))) return { why: 'a dependency comes from the tree (file:, link:), whose install may read or write any file' };
  if (!pm.lockfile && specs.length > 0) return { why: 'with no lockfile the versions are chosen anew on each install' };
  return { files: depsFiles.filter((f) => f !== 'package.json') };
}

/** What the files the install writes beside node_modules: with no lockfile, the one it makes. */
export function writtenLockfile(pm: PackageManager): string[] {
  if (pm.lockfile) return [];
  return [pm.name === 'npm' ? 'package-lock.json' : pm.name === 'pnpm' ? 'pnpm-lock.yaml' : 'yarn.lock'];
}

/** A JSON text of `value` with object keys sorted, so that reordering a field changes nothing. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** The package.json fields that can change the install (see NOT_INSTALL_FIELDS), as one text. */
export function installManifest(pkg: PackageJson): string {
  return stable(Object.fromEntries(Object.entries(pkg).filter(([k]) => !NOT_INSTALL_FIELDS.has(k))));
}

/** The last registryKey, by its env and each file's identity (inode, size, times): rereading unchanged files changes nothing. */
let lastRegistry: { id: string; key: string } | undefined;

/**
 * The hash of the operator's registry settings as the install sees them: the env they come as and
 * the files it names (the npmrc and CA bundle the server wrote; only the server reads them). Read
 * and hashed again only when the env or a file's stat changed: a CA bundle runs to 200 KB, and
 * every build asks.
 */
async function registryKey(env: Record<string, string> | undefined): Promise<string> {
  if (!env) return hashKey('');
  const names = [env.npm_config_userconfig, env.NODE_EXTRA_CA_CERTS];
  const identity = async (f: string | undefined) => (f ? fs.stat(f, { bigint: true }).then((st) => [st.ino, st.size, st.mtimeNs, st.ctimeNs].join(':'), () => 'missing') : '');
  const stats = await Promise.all(names.map(identity));
  const id = stable({ env, stats });
  if (lastRegistry?.id === id) return lastRegistry.key;
  const read = async (f: string | undefined) => (f ? fs.readFile(f, 'utf8').catch(() => 'missing') : '');
  const key = hashKey(stable({ env, files: await Promise.all(names.map(read)) }));
  lastRegistry = { id, key };
  return key;
}

export interface InstallKeyInput {
  dir: string;
  pkg: PackageJson;
  /** The tree's files the install reads besides package.json (lockfile, .npmrc, .yarnrc.yml…). */
  files: string[];
  /** The Node the install runs on, and the package manager's name and version. */
  node: string;
  pm: { name: string; version: string };
  /** The install's argv, as the plan runs it. */
  argv: string[][];
  /** NODE_ENV of the install (the other step env is cache paths, which change nothing it makes). */
  nodeEnv: string;
  /** The app's config vars: those the package managers read as settings count. */
  config?: Record<string, string>;
  hostNpmEnv?: Record<string, string>;
}

/** An install's key: its inputs by name (what the build output names), each with a value or hash. */
export interface InstallKey {
  key: string;
  inputs: Record<string, string>;
}

/** The cache key of an install, from each of its inputs. */
export async function installKey(input: InstallKeyInput): Promise<InstallKey> {
  const settings = Object.entries(input.config ?? {}).filter(([k]) => PM_SETTING.test(k));
  const inputs: Record<string, string> = { 'package.json': hashKey(installManifest(input.pkg)) };
  // What heroku-prebuild writes is keyed as the files it leaves; its own text too, for what it may read.
  const prebuild = input.pkg.scripts?.['heroku-prebuild'];
  if (prebuild !== undefined) inputs['the heroku-prebuild script'] = hashKey(String(prebuild));
  for (const file of input.files) inputs[file.replace(/\/$/, '')] = await hashTree(input.dir, [file]);
  Object.assign(inputs, {
    node: input.node,
    [input.pm.name]: input.pm.version,
    'the install command': input.argv.map((a) => a.join(' ')).join(' && '),
    NODE_ENV: input.nodeEnv,
    "the app's package settings (NPM_CONFIG_*, YARN_*, PNPM_* config vars)": hashKey(stable(Object.fromEntries(settings))),
    "the operator's registry settings": await registryKey(input.hostNpmEnv),
  });
  // The layout of an entry: bumped when what an entry holds changes.
  return { key: hashKey('node-install-2', stable(inputs)), inputs };
}

/** Inputs whose value the build output shows as it is (a version, NODE_ENV); the others are hashes, shown by name. */
const SHOWN = new Set(['node', 'npm', 'yarn', 'pnpm', 'NODE_ENV']);
/** Inputs named only when they change (not in the line of an unchanged install). */
const QUIET = /^(the |NODE_ENV$)/;

/** What the build output names as the inputs of an unchanged install: the files, the Node and the package manager. */
export function coveredBy(inputs: Record<string, string>): string {
  return Object.entries(inputs)
    .filter(([n]) => !QUIET.test(n))
    .map(([n, v]) => (SHOWN.has(n) ? `${n} ${v}` : n))
    .join(', ');
}

/** The inputs whose value differs between the last install's and this one's, as the build output names them. */
export function changedInputs(was: Record<string, string>, now: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(now), ...Object.keys(was)])].filter((n) => was[n] !== now[n]);
  return names.map((n) => (!SHOWN.has(n) ? n : `${n} ${was[n] ?? 'none'} → ${now[n] ?? 'none'}`));
}
