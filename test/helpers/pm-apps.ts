// Node apps for the package-manager suites (process and Docker runtimes): one dependency (ms) and
// one devDependency (is-number), a build script that records the Node and the package manager
// that ran it, and a web process that reports them, what it resolves and the tools on its PATH.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { withLockfile } from './docker.js';
import { ROOT, sh, tempDir } from './paas.js';

/** Pins for the fixtures' tools, as `corepack use` writes them (checked by corepack on install). */
export const PNPM = 'pnpm@9.15.9+sha512.68046141893c66fad01c079231128e9afb89ef87e2691d69e4d40eee228988295fd4682181bae55b58418c3a253bde65a505ec7c5f9403ece5cc3cd37dcf2531';
export const YARN4 = 'yarn@4.9.2+sha512.1fc009bc09d13cfd0e19efa44cbfc2b9cf6ca61482725eb35bbc5e257e093ebf4130db6dfe15d604ff4b79efd8e1e8e99b25fa7d0a6197c9f9826358d4d65c3c';

const LOCKFILES = { 'yarn-classic': 'yarn.lock', 'yarn-berry': 'yarn.lock', pnpm: 'pnpm-lock.yaml' } as const;

export interface PmApp {
  /** engines.node. */
  node?: string;
  packageManager?: string;
  /** Which lockfile: npm's (made now by the host's npm), or a fixture made by that tool. */
  lock: 'npm' | keyof typeof LOCKFILES;
  /** The command that reports the package manager's version at run time. */
  tool: 'npm' | 'yarn' | 'pnpm';
  scripts?: Record<string, string>;
  files?: Record<string, string>;
  /** More package.json fields (cacheDirectories). */
  extra?: Record<string, unknown>;
}

// Counts its runs in build-cache/, which an app lists in cacheDirectories to keep it between builds.
const BUILD_JS = `
const { execFileSync } = require('child_process');
const fs = require('fs');
fs.mkdirSync('build-cache', { recursive: true });
const builds = Number(fs.existsSync('build-cache/count') ? fs.readFileSync('build-cache/count', 'utf8') : 0) + 1;
fs.writeFileSync('build-cache/count', String(builds));
fs.writeFileSync('build-info.json', JSON.stringify({
  node: process.version,
  agent: process.env.npm_config_user_agent || '',
  npm: execFileSync('npm', ['--version']).toString().trim(),
  prebuilt: fs.existsSync('prebuild.txt'),
  builds,
}));
`;

function serverJs(tool: string): string {
  return `
const { execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const read = (f) => { try { return JSON.parse(fs.readFileSync(f, 'utf8')); } catch (e) { return null; } };
const has = (m) => { try { require.resolve(m); return true; } catch (e) { return false; } };
const version = (cmd) => { try { return execFileSync(cmd, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch (e) { return 'none: ' + e.message.split('\\n')[0]; } };
const body = JSON.stringify({ node: process.version, built: read('build-info.json'), cleanup: read('cleanup.json'), ms: require('ms')(60000), dev: has('is-number'), npm: version('npm'), tool: version(${JSON.stringify(tool)}) });
http.createServer((q, s) => s.end(body)).listen(process.env.PORT, '0.0.0.0');
`;
}

/** The files of an app as `opts` says. */
export async function pmApp(opts: PmApp): Promise<Record<string, string>> {
  const pkg = {
    name: 'pm-app',
    version: '1.0.0',
    private: true,
    ...(opts.node ? { engines: { node: opts.node } } : {}),
    ...(opts.packageManager ? { packageManager: opts.packageManager } : {}),
    scripts: { build: 'node build.js', start: 'node server.js', ...opts.scripts },
    dependencies: { ms: '2.1.3' },
    devDependencies: { 'is-number': '7.0.0' },
    ...opts.extra,
  };
  const manifest =
    opts.lock === 'npm'
      ? await withLockfile(pkg)
      : { 'package.json': JSON.stringify(pkg, null, 2), [LOCKFILES[opts.lock]]: fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'package-managers', opts.lock === 'pnpm' ? 'pnpm-lock.yaml' : `${opts.lock}.lock`), 'utf8') };
  return { ...manifest, 'build.js': BUILD_JS, 'server.js': serverJs(opts.tool), ...opts.files };
}

/** What an app of pmApp answers. */
export interface PmAnswer {
  node: string;
  built: { node: string; agent: string; npm: string; prebuilt: boolean; builds: number };
  cleanup: { dev: boolean } | null;
  ms: string;
  dev: boolean;
  npm: string;
  tool: string;
}

/** The version in a build output heading "-----> Installing <name> <version> (…)". */
export function installed(output: string, name: string): string {
  const version = new RegExp(`-----> Installing ${name} (\\d+\\.\\d+\\.\\d+) \\(`).exec(output)?.[1];
  expect(version, `no "Installing ${name}" line in:\n${output}`).toBeDefined();
  return version!;
}

/**
 * A Yarn release as `yarn set version` commits it at yarnPath (.yarn/releases/yarn-<version>.cjs):
 * the one file of the registry's @yarnpkg/cli-dist.
 */
export async function yarnRelease(version: string): Promise<Record<string, string>> {
  const dir = tempDir('paas-yarn-release-');
  const packed = await sh('npm', ['pack', '--silent', `@yarnpkg/cli-dist@${version}`], { cwd: dir, env: { ...process.env, TMPDIR: dir } });
  if (packed.code !== 0) throw new Error(`npm pack @yarnpkg/cli-dist@${version}: ${packed.stderr}`);
  const tar = await import('tar');
  await tar.x({ file: path.join(dir, packed.stdout.trim()), cwd: dir });
  const file = `.yarn/releases/yarn-${version}.cjs`;
  return { '.yarnrc.yml': `yarnPath: ${file}\n`, [file]: fs.readFileSync(path.join(dir, 'package', 'bin', 'yarn.js'), 'utf8') };
}
