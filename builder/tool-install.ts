// Installs one package manager (npm, yarn or pnpm) with corepack into `<root>/<dir>`: corepack
// downloads it from the npm registry and checks it against the pinned hash, then this lays out
// `bin/` links to its commands and makes the whole read-only to apps. Self-contained (Node
// built-ins only): the server imports it, and an image build runs it as a script in its tools stage
// (`node install-tool.mjs <root> <corepack.js> <name> <version> <reference> <dir>`), so both
// runtimes lay tools out the same way.
import { execFile, type ExecFileOptions } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
// As lib/run-apart.ts does it (a process group of its own, so a Ctrl-C to paas's group does not end
// an install a deploy waits for), written out here: this file runs alone in an image build, with
// Node's built-ins only. `detached` reaches spawn, though execFile's option type leaves it out.
const run = (file: string, args: string[], opts: ExecFileOptions) => execFileAsync(file, args, { ...opts, encoding: 'utf8', detached: true } as ExecFileOptions & { encoding: 'utf8' });
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** One install: `reference` is what corepack installs (`pnpm@9.1.0+sha512.<hex>`), `dir` where it goes under `root`. */
export interface ToolInstallArgs {
  root: string;
  /** corepack's dist/corepack.js. */
  corepack: string;
  name: string;
  version: string;
  reference: string;
  dir: string;
  /** More env for npm and corepack (the operator's registry settings); a script run gets it from its own env. */
  env?: Record<string, string>;
}

/** Whether `home` holds a finished install (its bin/ appears last, with the rename). */
export async function toolInstalled(home: string): Promise<boolean> {
  return (await fs.lstat(path.join(home, 'bin')).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * The environment corepack downloads with: corepack reads neither npmrc nor npm's CA settings, so
 * the registry, CA file and proxies npm is configured with (`npm config list`) are handed to it.
 */
async function corepackEnv(home: string, extra: Record<string, string> | undefined): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, COREPACK_HOME: home, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0', COREPACK_ENABLE_AUTO_PIN: '0', NODE_DISABLE_COMPILE_CACHE: '1' };
  const { stdout } = await run('npm', ['config', 'list', '--json'], { env, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
  const npm = JSON.parse(stdout) as Record<string, unknown>;
  const text = (key: string) => (typeof npm[key] === 'string' && npm[key] ? (npm[key]) : undefined);
  // Without COREPACK_NPM_REGISTRY corepack fetches Yarn 2+ from repo.yarnpkg.com, not the npm registry.
  env.COREPACK_NPM_REGISTRY ||= (text('registry') ?? 'https://registry.npmjs.org').replace(/\/+$/, '');
  const cafile = text('cafile');
  if (cafile && !env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = cafile;
  for (const key of ['https-proxy', 'proxy', 'noproxy'] as const) {
    const value = text(key);
    if (value) env[`npm_config_${key.replace('-', '_')}`] = value;
  }
  return env;
}

/** Links `<home>/bin/<command>` to each command corepack recorded for the install (its `.corepack` file). */
async function linkCommands(home: string, args: ToolInstallArgs): Promise<void> {
  const installed = path.join('corepack', 'v1', args.name, args.version);
  const meta = JSON.parse(await fs.readFile(path.join(home, installed, '.corepack'), 'utf8')) as { bin?: unknown };
  // A map of command → file inside the package, or (Yarn 2+, one file) a list of commands for it.
  const commands: [string, string][] = Array.isArray(meta.bin)
    ? meta.bin.map((c) => [String(c), 'yarn.js'])
    : Object.entries((meta.bin ?? {}) as Record<string, string>).map(([c, file]) => [c, file]);
  await fs.mkdir(path.join(home, 'bin'));
  for (const [command, file] of commands) {
    if (!/^[\w.-]+$/.test(command)) continue;
    const target = path.join(installed, file);
    if (!(await fs.lstat(path.join(home, target)).catch(() => undefined))?.isFile()) continue;
    await fs.chmod(path.join(home, target), 0o755);
    await fs.symlink(path.join('..', target), path.join(home, 'bin', command));
  }
}

/** Dirs 0755, files 0755 when anyone may run them and 0644 otherwise; links are left as they are. */
export async function setModes(dir: string): Promise<void> {
  await fs.chmod(dir, 0o755);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await setModes(file);
    else if (entry.isFile()) await fs.chmod(file, ((await fs.lstat(file)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** Renames a finished tree into place; another server (or a crash before anyone knew) may have put an equal one there first. */
export async function moveIntoPlace(tree: string, home: string, installed: (home: string) => Promise<boolean>): Promise<void> {
  await fs.rename(tree, home).catch(async (err: NodeJS.ErrnoException) => {
    if ((err.code === 'ENOTEMPTY' || err.code === 'EEXIST') && (await installed(home))) return;
    throw err;
  });
}

/** Installs `args.reference` into `<root>/<dir>` unless it is there; built aside, renamed into place whole. */
export async function installTool(args: ToolInstallArgs): Promise<string> {
  const home = path.join(args.root, args.dir);
  if (await toolInstalled(home)) return home;
  await fs.mkdir(path.dirname(home), { recursive: true, mode: 0o755 });
  await fs.chmod(path.dirname(home), 0o755);
  const work = await fs.mkdtemp(path.join(path.dirname(home), `.install-${path.basename(home).slice(0, 40)}-`));
  try {
    const env = await corepackEnv(path.join(work, 'corepack'), args.env);
    try {
      await run(process.execPath, [args.corepack, 'install', '-g', args.reference], { env, timeout: INSTALL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const said = `${String((err as { stderr?: unknown }).stderr ?? '')}\n${String((err as { stdout?: unknown }).stdout ?? '')}`;
      const line = said.split('\n').map((l) => l.trim()).find((l) => /error|mismatch|not found|ENOTFOUND|ECONN|certificate/i.test(l)) ?? (err as Error).message.split('\n')[0];
      throw Object.assign(new Error(`corepack could not install ${args.reference}: ${line.replace(/[^\x20-\x7e]/g, '?').slice(0, 300)}`), { corepack: true });
    }
    await linkCommands(work, args);
    // The temp dir's name and what lastKnownGood.json records are corepack's; only the install matters.
    await setModes(work);
    await moveIntoPlace(work, home, toolInstalled);
    return home;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

// Run as a script (an image build's tools stage): the arguments in ToolInstallArgs order.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root, corepack, name, version, reference, dir] = process.argv.slice(2);
  installTool({ root, corepack, name, version, reference, dir }).then(
    (home) => console.log(`Installed ${reference.split('+')[0]} in ${home}`),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
