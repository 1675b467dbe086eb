// The package managers a Node app builds and runs with (npm, yarn, pnpm), each installed once per
// version by corepack under the data dir's tools root, read-only to apps. Sandboxes and images see
// that root at TOOLS_SEEN; an app's slug names the tools it was built with, and its build steps and
// dynos get their bin/ directories first on PATH.
import fs from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { BuildError } from './errors.js';
import { installPackage, openDir } from './package-install.js';
import { newestFor, registryIntegrity } from './npm-view.js';
import { installTool, toolInstalled } from './tool-install.js';
import type { ToolName, ToolRef } from '../lib/tool-ref.js';

export type { ToolName, ToolRef } from '../lib/tool-ref.js';

/** Where build steps, dynos and images see the tools root. */
export const TOOLS_SEEN = '/opt/paas/tools';

/** The npm package a tool version comes from (Yarn 2+ is published as @yarnpkg/cli-dist). */
export function toolPackage(name: ToolName, version: string): string {
  return name === 'yarn' && semver.major(version) >= 2 ? '@yarnpkg/cli-dist' : name;
}

/** A hash as corepack takes it in a packageManager reference (`sha512.<hex>`). */
export const PIN = /^(sha1|sha224|sha256|sha512)\.[0-9a-f]{40,128}$/;

/**
 * The tool to install. An app's own pin (packageManager's `+sha…`) is checked by corepack and
 * gets a directory of its own; otherwise corepack checks the tarball against the registry's
 * sha512. Yarn 2+ is one file from its tarball, which only an app's pin can check.
 */
export async function toolRef(name: ToolName, version: string, pin?: string, npmEnv?: Record<string, string>): Promise<ToolRef> {
  if (semver.valid(version) !== version) throw new Error(`not an exact ${name} version: ${version}`);
  if (pin !== undefined) {
    if (!PIN.test(pin)) throw new Error(`not a corepack hash: ${pin}`);
    return { name, version, reference: `${name}@${version}+${pin}`, dir: `${name}/${version}+${pin}` };
  }
  const pkg = toolPackage(name, version);
  if (pkg !== name) return { name, version, reference: `${name}@${version}`, dir: `${name}/${version}` };
  let hex: string;
  try {
    hex = await registryIntegrity(pkg, version, { env: npmEnv });
  } catch (err) {
    throw new BuildError(`paas could not read ${pkg}@${version} from the npm registry (${(err as Error).message.split('\n')[0]}). Push again once the registry answers.`);
  }
  return { name, version, reference: `${name}@${version}+sha512.${hex}`, dir: `${name}/${version}` };
}

/** corepack itself, newest first: the release that runs on `node` (the platform's, which runs it). */
export async function corepackFor(node: string, npmEnv?: Record<string, string>): Promise<string> {
  const version = await newestFor('corepack', '*', node, { env: npmEnv }).catch((err: Error) => {
    throw new BuildError(`paas could not list corepack's versions on the npm registry (${err.message.split('\n')[0]}). Push again once the registry answers.`);
  });
  if (!version) throw new BuildError(`No corepack release on the npm registry runs on Node.js ${node}, the Node paas installs package managers with.`);
  return version;
}

/** Installs corepack `version` under `<root>/corepack/<version>` and returns its dist/corepack.js. */
async function installCorepack(version: string, root: string, log: (line: string) => void, env?: Record<string, string>): Promise<string> {
  const home = path.join(root, 'corepack', version);
  const script = (dir: string) => path.join(dir, 'dist', 'corepack.js');
  await installPackage({
    spec: `corepack@${version}`,
    home,
    installed: (dir) => fs.access(script(dir)).then(() => true, () => false),
    failure: (reason) => `paas could not download corepack ${version} from the npm registry: ${reason}. Push again once the registry answers.`,
    log,
    env,
  });
  return script(home);
}

const installing = new Map<string, Promise<string>>();

/**
 * Installs each tool (once per directory: later calls only look) under `root`, with corepack
 * `corepack` run by the platform's Node; `npmEnv` is how the host's npm (and so corepack) reaches
 * the registry. Logs one line per download.
 */
export async function installTools(tools: ToolRef[], root: string, corepack: string, log: (line: string) => void, npmEnv?: Record<string, string>): Promise<void> {
  await openDir(root);
  for (const tool of tools) {
    const home = path.join(root, tool.dir);
    if (await toolInstalled(home)) continue;
    let pending = installing.get(home);
    if (!pending) {
      pending = (async () => {
        const started = Date.now();
        const script = await installCorepack(corepack, root, log, npmEnv);
        await installTool({ root, corepack: script, ...tool, env: npmEnv }).catch((err: Error & { corepack?: boolean }) => {
          throw err.corepack ? new BuildError(`${err.message}. Check the version (and hash) in package.json and push again.`) : err;
        });
        log(`       Downloaded ${tool.name} ${tool.version} with corepack ${corepack} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return home;
      })().finally(() => installing.delete(home));
      installing.set(home, pending);
    }
    await pending;
  }
}

/**
 * Makes sure a slug's tools are installed (the tools dir may have been emptied since its build):
 * only a missing one costs a registry lookup (the corepack to install it with).
 */
export async function ensureTools(tools: ToolRef[], root: string, log: (line: string) => void, npmEnv?: Record<string, string>): Promise<void> {
  const missing = [];
  for (const tool of tools) if (!(await toolInstalled(path.join(root, tool.dir)))) missing.push(tool);
  if (missing.length > 0) await installTools(missing, root, await corepackFor(process.versions.node, npmEnv), log, npmEnv);
}
