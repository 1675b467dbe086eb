// The dependency install is skipped when nothing that decides it changed since the app's last build
// (process runtime, real pushes through the router, the real npm registry): a code-only push reuses
// node_modules and says why; a changed dependency, lockfile, engines field or package setting
// reinstalls and says what changed; an app with no lockfile and no dependencies skips too; an app
// whose install runs a root script of its own installs every time.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { changedInputs, coveredBy, installCache, installKey, installManifest } from '../builder/buildpacks/install-key.js';
import type { PackageManager } from '../builder/buildpacks/package-manager.js';
import { DepCache } from '../builder/cache.js';
import { withLockfile } from './helpers/docker.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from './helpers/paas.js';

const server = (marker: string) => `
const isNumber = require('is-number');
const { version } = require('is-number/package.json');
require('http').createServer((q, s) => s.end(JSON.stringify({ marker: ${JSON.stringify(marker)}, five: isNumber(5), version }))).listen(process.env.PORT);
`;

async function answer(paas: Paas, app: string): Promise<{ marker: string; five: boolean; version: string }> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as { marker: string; five: boolean; version: string };
}

async function pushed(paas: Paas, dir: string, app: string): Promise<string> {
  const r = await push(paas, dir, app);
  expect(r.code, r.stderr).toBe(0);
  return r.stderr;
}

/** The tree of each slug built so far, oldest first. */
function slugTrees(paas: Paas): string[] {
  const slugs = path.join(paas.dataDir, 'slugs');
  return fs
    .readdirSync(slugs)
    .map((id) => path.join(slugs, id, 'app'))
    .filter((d) => fs.existsSync(d))
    .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
}

let paas: Paas;
beforeAll(async () => {
  const ca = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;
  paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '20000', ...(ca ? { PAAS_BUILD_CA_FILE: ca } : {}) });
});

describe('skipping an install whose inputs did not change', () => {
  it('reuses node_modules on a code-only push, and installs again when a dependency, engines or a package setting changes', async () => {
    const pkg = { name: 'skip-app', version: '1.0.0', scripts: { start: 'node server.js' }, dependencies: { 'is-number': '7.0.0' } };
    await createApp(paas, 'skip-app');
    const dir = await gitRepo(paas, { ...(await withLockfile(pkg)), 'server.js': server('one') });
    const first = await pushed(paas, dir, 'skip-app');
    expect(first).toContain('-----> Installing dependencies with npm ci');
    expect(await answer(paas, 'skip-app')).toEqual({ marker: 'one', five: true, version: '7.0.0' });

    // New code, and package.json fields the install does not read (a description, a build script).
    const code = { ...pkg, description: 'new words', scripts: { ...pkg.scripts, build: 'node -e 0' } };
    await commitFiles(paas, dir, { 'server.js': server('two'), 'package.json': JSON.stringify(code, null, 2) });
    const second = await pushed(paas, dir, 'skip-app');
    expect(second).toMatch(/-----> Dependencies unchanged since the last build \(package\.json, package-lock\.json, node \d+\.\d+\.\d+, npm \d+\.\d+\.\d+\): reusing node_modules/);
    expect(second).not.toContain('npm ci');
    expect(second).toContain('-----> Running build script');
    expect(await answer(paas, 'skip-app')).toEqual({ marker: 'two', five: true, version: '7.0.0' });

    // Another version of the dependency: a new lockfile, a fresh install.
    const older = { ...code, dependencies: { 'is-number': '6.0.0' } };
    await commitFiles(paas, dir, await withLockfile(older));
    const third = await pushed(paas, dir, 'skip-app');
    expect(third).toContain('-----> Dependencies changed since the last build (package.json, package-lock.json): installing');
    expect(third).toContain('-----> Installing dependencies with npm ci');
    expect(await answer(paas, 'skip-app')).toEqual({ marker: 'two', five: true, version: '6.0.0' });

    // engines (which Node and npm the install runs on) counts, even when the Node stays the same.
    await commitFiles(paas, dir, { 'package.json': JSON.stringify({ ...older, engines: { node: '>=18' } }, null, 2) });
    const fourth = await pushed(paas, dir, 'skip-app');
    expect(fourth).toContain('-----> Dependencies changed since the last build (package.json): installing');
    expect(fourth).toContain('npm ci');

    // A package manager setting in the app's config.
    expect((await cli(paas, ['config:set', 'NPM_CONFIG_LOGLEVEL=warn', '-a', 'skip-app'])).code).toBe(0);
    await commitFiles(paas, dir, { 'server.js': server('three') });
    const fifth = await pushed(paas, dir, 'skip-app');
    expect(fifth).toContain("-----> Dependencies changed since the last build (the app's package settings (NPM_CONFIG_*, YARN_*, PNPM_* config vars)): installing");
    expect(fifth).toContain('npm ci');
    expect(await answer(paas, 'skip-app')).toEqual({ marker: 'three', five: true, version: '6.0.0' });
  });

  it('skips the install of an app with no lockfile and no dependencies, and leaves the lockfile npm writes', async () => {
    const files = (marker: string) => ({
      'package.json': JSON.stringify({ name: 'bare', version: '1.0.0', scripts: { start: 'node server.js' } }),
      'server.js': `require('http').createServer((q, s) => s.end(${JSON.stringify(marker)})).listen(process.env.PORT);\n`,
    });
    await createApp(paas, 'bare-app');
    const dir = await gitRepo(paas, files('one'));
    expect(await pushed(paas, dir, 'bare-app')).toContain('-----> Installing dependencies with npm install');
    await commitFiles(paas, dir, files('two'));
    const again = await pushed(paas, dir, 'bare-app');
    expect(again).toMatch(/-----> Dependencies unchanged since the last build \(package\.json, node \d+\.\d+\.\d+, npm \d+\.\d+\.\d+\): reusing node_modules/);
    expect(again).not.toContain('npm install');
    expect((await viaRouter(paas, 'bare-app.localhost')).body).toBe('two');
    // The slug is what a fresh install makes: npm's package-lock.json is there in both.
    const locks = slugTrees(paas).map((t) => path.join(t, 'package-lock.json')).filter((f) => fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('"bare"'));
    expect(locks).toHaveLength(2);
    expect(fs.readFileSync(locks[0], 'utf8')).toBe(fs.readFileSync(locks[1], 'utf8'));

    // A node_modules in the tree is an input too: npm install keeps what it does not manage there.
    await commitFiles(paas, dir, { 'node_modules/.kept/note.txt': 'one' });
    expect(await pushed(paas, dir, 'bare-app')).toContain('-----> Dependencies changed since the last build (node_modules): installing');
    await commitFiles(paas, dir, { 'node_modules/.kept/note.txt': 'two' });
    expect(await pushed(paas, dir, 'bare-app')).toContain('-----> Dependencies changed since the last build (node_modules): installing');
    expect(fs.readFileSync(path.join(slugTrees(paas).at(-1)!, 'node_modules', '.kept', 'note.txt'), 'utf8')).toBe('two');
  });

  it('installs every time when a root install script may read or write any file, and says so', async () => {
    const files = (marker: string) => ({
      'package.json': JSON.stringify({ name: 'hooked', version: '1.0.0', scripts: { start: 'node server.js', postinstall: 'node hook.js' } }),
      'package-lock.json': JSON.stringify({ name: 'hooked', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'hooked', version: '1.0.0', hasInstallScript: true } } }),
      'hook.js': `require('fs').writeFileSync('made-by-postinstall.txt', ${JSON.stringify(marker)});\n`,
      'server.js': "require('http').createServer((q, s) => s.end(require('fs').readFileSync('made-by-postinstall.txt'))).listen(process.env.PORT);\n",
    });
    await createApp(paas, 'hooked-app');
    const dir = await gitRepo(paas, files('one'));
    await pushed(paas, dir, 'hooked-app');
    await commitFiles(paas, dir, files('two'));
    const again = await pushed(paas, dir, 'hooked-app');
    expect(again).toContain('-----> The install runs on every build: package.json has a postinstall script, which runs with the install and may read or write any file');
    expect(again).toContain('-----> Installing dependencies with npm ci');
    expect((await viaRouter(paas, 'hooked-app.localhost')).body).toBe('two');

    // The same script, added by heroku-prebuild: the install reads package.json as the prebuild left it.
    const prebuilt = (marker: string) => {
      const { 'package-lock.json': lock, 'hook.js': hook, 'server.js': serverJs } = files(marker);
      const add = "const p = require('./package.json'); p.scripts.postinstall = 'node hook.js'; require('fs').writeFileSync('package.json', JSON.stringify(p));";
      const pkg = { name: 'hooked', version: '1.0.0', scripts: { start: 'node server.js', 'heroku-prebuild': 'node add.js' } };
      return { 'package.json': JSON.stringify(pkg), 'package-lock.json': lock, 'hook.js': hook, 'server.js': serverJs, 'add.js': add };
    };
    await createApp(paas, 'prebuilt-app');
    const pdir = await gitRepo(paas, prebuilt('one'));
    await pushed(paas, pdir, 'prebuilt-app');
    await commitFiles(paas, pdir, prebuilt('two'));
    expect(await pushed(paas, pdir, 'prebuilt-app')).toContain('-----> The install runs on every build: package.json has a postinstall script');
    expect((await viaRouter(paas, 'prebuilt-app.localhost')).body).toBe('two');
  });
});

describe('the install key', () => {
  const key = async (over: Partial<Parameters<typeof installKey>[0]> = {}) =>
    installKey({ dir: tempDir('paas-key-'), pkg: { name: 'a', dependencies: { ms: '2.1.3' } }, files: [], node: '24.1.0', pm: { name: 'npm', version: '11.0.0' }, argv: [['npm', 'ci']], nodeEnv: 'production', ...over });

  it('changes with the Node, the package manager, NODE_ENV, package settings and the registry, and names what changed', async () => {
    const base = await key();
    expect(coveredBy(base.inputs)).toBe('package.json, node 24.1.0, npm 11.0.0');
    const npmrc = path.join(tempDir('paas-key-reg-'), 'npmrc');
    fs.writeFileSync(npmrc, 'registry=https://one.example/\n');
    const withRegistry = await key({ hostNpmEnv: { npm_config_userconfig: npmrc } });
    fs.writeFileSync(npmrc, 'registry=https://two.example/\n');
    const cases = [
      [await key({ node: '22.1.0' }), ['node 24.1.0 → 22.1.0']],
      [await key({ pm: { name: 'npm', version: '10.9.0' } }), ['npm 11.0.0 → 10.9.0']],
      [await key({ nodeEnv: 'staging' }), ['NODE_ENV production → staging']],
      [await key({ config: { NPM_CONFIG_REGISTRY: 'https://elsewhere.example/' } }), ["the app's package settings (NPM_CONFIG_*, YARN_*, PNPM_* config vars)"]],
      [await key({ hostNpmEnv: { npm_config_userconfig: npmrc } }), ["the operator's registry settings"]],
      [await key({ argv: [['npm', 'install']] }), ['the install command']],
    ] as const;
    for (const [changed, named] of cases) {
      expect(changed.key).not.toBe(base.key);
      expect(changedInputs(base.inputs, changed.inputs)).toEqual(named);
    }
    expect((await key({ hostNpmEnv: { npm_config_userconfig: npmrc } })).key).not.toBe(withRegistry.key);
    // Config vars the package managers do not read change nothing.
    expect((await key({ config: { DATABASE_URL: 'postgres://x' } })).key).toBe(base.key);
  });

  it('counts the heroku-prebuild script, and never skips the build of an app\'s own native addon', async () => {
    const base = await key();
    const prebuilt = await key({ pkg: { name: 'a', dependencies: { ms: '2.1.3' }, scripts: { 'heroku-prebuild': 'echo omit=optional > .npmrc' } } });
    expect(changedInputs(base.inputs, prebuilt.inputs)).toEqual(['the heroku-prebuild script']);
    const npm: PackageManager = { name: 'npm', berry: false, why: 'default', lockfile: 'package-lock.json', pnp: false };
    const pkg = { name: 'a', dependencies: { ms: '2.1.3' } };
    expect(installCache(pkg, npm, ['package.json', 'package-lock.json', 'binding.gyp'], false)).toEqual({ why: "binding.gyp: the install builds the app's own native addon from the tree" });
    expect(installCache({ ...pkg, gypfile: false }, npm, ['package.json', 'package-lock.json', 'binding.gyp'], false)).toEqual({ files: ['package-lock.json', 'binding.gyp'] });
  });

  it('puts a cached directory back only into a real directory, never through a link the tree holds there', async () => {
    const cache = new DepCache(tempDir('paas-cache-'));
    const saved = tempDir('paas-saved-');
    fs.writeFileSync(path.join(saved, 'dep.js'), 'x');
    expect(await cache.save('node', 'k1', saved)).toBe(true);
    const tree = tempDir('paas-tree-');
    const elsewhere = tempDir('paas-elsewhere-');
    fs.symlinkSync(elsewhere, path.join(tree, 'node_modules'));
    await expect(cache.restore('node', 'k1', path.join(tree, 'node_modules'))).rejects.toThrow('node_modules in the app is not a directory (a link?)');
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    await cache.restore('node', 'k1', path.join(tree, 'fresh'));
    expect(fs.readFileSync(path.join(tree, 'fresh', 'dep.js'), 'utf8')).toBe('x');
  });

  it('reads only the package.json fields that can change the install, in any order', () => {
    const pkg = { name: 'a', version: '1.0.0', dependencies: { ms: '2.1.3', 'is-number': '7.0.0' }, scripts: { build: 'tsc' } };
    const same = installManifest(pkg);
    expect(installManifest({ ...pkg, description: 'x', main: 'y.js', scripts: { start: 'node y.js' }, dependencies: { 'is-number': '7.0.0', ms: '2.1.3' } })).toBe(same);
    for (const field of ['overrides', 'resolutions', 'pnpm', 'engines', 'packageManager', 'workspaces', 'optionalDependencies', 'peerDependencies', 'devDependencies', 'os', 'config', 'someFutureField']) {
      expect(installManifest({ ...pkg, [field]: { x: '1' } }), field).not.toBe(same);
    }
    expect(installManifest({ ...pkg, version: '1.0.1' })).not.toBe(same); // npm writes it into node_modules/.package-lock.json
  });
});
