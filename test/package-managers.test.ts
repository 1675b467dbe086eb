// The package manager each Node app asks for, on the process runtime, against the real npm registry:
// npm matching the app's Node (18.x, 20.17.x, 22.x), yarn 1, yarn 4 (Plug'n'Play and node_modules)
// and pnpm through corepack, each from its lockfile, with Heroku's build scripts and pruning; what is
// refused, and why. One server (one data dir) shares the Node and tool installs between the tests.
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { beforeAll, describe, expect, it } from 'vitest';
import { choosePackageManager } from '../builder/buildpacks/package-manager.js';
import { BuildError } from '../builder/errors.js';
import { platformNode } from '../builder/node-versions.js';
import { cli, commitFiles, createApp, gitRepo, type Paas, push, ROOT, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { installed, PNPM, type PmAnswer, pmApp, YARN4, yarnRelease } from './helpers/pm-apps.js';

const PREBUILD = "require('fs').writeFileSync('prebuild.txt', 'ran');\n";
const CLEANUP = "require('fs').writeFileSync('cleanup.json', JSON.stringify({ dev: require('fs').existsSync('node_modules/is-number') }));\n";

async function answer(paas: Paas, app: string): Promise<PmAnswer> {
  const res = await viaRouter(paas, `${app}.localhost`);
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as PmAnswer;
}

/** Creates each app and pushes it, all at once; returns each push's output. */
async function deployAll(paas: Paas, apps: Record<string, Record<string, string>>): Promise<Record<string, { dir: string; output: string }>> {
  const done = await Promise.all(
    Object.entries(apps).map(async ([name, files]) => {
      await createApp(paas, name);
      const dir = await gitRepo(paas, files);
      const r = await push(paas, dir, name);
      expect(r.code, `${name}:\n${r.stderr}`).toBe(0);
      return [name, { dir, output: r.stderr }] as const;
    }),
  );
  return Object.fromEntries(done);
}

/** A code-only push: it downloads nothing, installs from the app's cache, and still prunes. */
async function pushedAgainFromCache(paas: Paas, app: string, dir: string): Promise<string> {
  await commitFiles(paas, dir, { 'README.md': 'again\n' });
  const again = await push(paas, dir, app);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stderr).not.toMatch(/Downloaded/);
  expect(again.stderr).toMatch(/-----> Dependencies unchanged since the last build \(package\.json, [^)]*\): reusing node_modules/);
  expect((await answer(paas, app)).dev).toBe(false);
  return again.stderr;
}

async function refused(paas: Paas, name: string, files: Record<string, string>): Promise<string> {
  await createApp(paas, name);
  const r = await push(paas, await gitRepo(paas, files), name);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toContain('[remote rejected] main -> main');
  return r.stderr;
}

describe('choosing the package manager (no registry needed)', () => {
  const tree = (files: Record<string, string>) => {
    const dir = tempDir('paas-pm-choice-');
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    return dir;
  };
  const choose = (files: Record<string, string>, pkg: Record<string, unknown>) =>
    choosePackageManager(tree(files), pkg, { version: platformNode(), own: true, platformNpm: '11.0.0' }).then(
      () => undefined,
      (err: unknown) => (expect(err).toBeInstanceOf(BuildError), (err as Error).message),
    );

  it('refuses lockfiles of two tools, as Heroku does, naming what to delete', async () => {
    expect(await choose({ 'package-lock.json': '{}', 'yarn.lock': '' }, {})).toBe(
      'The tree holds lockfiles of 2 package managers (package-lock.json, yarn.lock), and only one can install the dependencies. Keep the lockfile of the one you use, delete the others (`git rm yarn.lock`, say) and push again.',
    );
  });

  it('refuses a packageManager it cannot build with, one without an exact version, and one at odds with the lockfile', async () => {
    expect(await choose({}, { packageManager: 'bun@1.1.0' })).toContain('package.json packageManager ("bun@1.1.0") is not a package manager paas builds with');
    expect(await choose({}, { packageManager: 'pnpm@9' })).toContain('package.json packageManager ("pnpm@9") names no exact version. Name one (for example "pnpm@9.15.9")');
    expect(await choose({}, { packageManager: 'pnpm@9.1.0+md5.abc' })).toContain('has a hash corepack cannot check');
    expect(await choose({ 'yarn.lock': '' }, { packageManager: 'pnpm@9.1.0' })).toContain("package.json's packageManager names pnpm, but the tree's lockfile is yarn.lock");
    expect(await choose({}, { engines: { yarn: '1.x', pnpm: '9.x' } })).toContain('package.json sets both engines.yarn and engines.pnpm');
  });
});

describe('choosing versions from the registry', () => {
  const pm = async (files: Record<string, string>, pkg: Record<string, unknown>, node = { version: platformNode(), own: true, platformNpm: '11.0.0' }) => {
    const dir = tempDir('paas-pm-versions-');
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const { tool, npm, why, warning, berry, pnp } = await choosePackageManager(dir, pkg, node);
    return { tool: tool && `${tool.name}@${tool.version}`, npm: npm && `npm@${npm.version}`, why, warning, berry, pnp, pinned: tool?.reference.includes('+sha512.') };
  };
  const fixture = (name: string) => fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'package-managers', name), 'utf8');

  it('takes engines.pnpm, engines.yarn and engines.npm as ranges, pinning what it installs to the registry\'s sha512', async () => {
    expect(await pm({ 'pnpm-lock.yaml': fixture('pnpm-lock.yaml') }, { engines: { pnpm: '8.x' } })).toMatchObject({ tool: expect.stringMatching(/^pnpm@8\.\d+\.\d+$/), why: 'engines.pnpm: 8.x', pinned: true });
    expect(await pm({}, { engines: { yarn: '1.22.x' } })).toMatchObject({ tool: expect.stringMatching(/^yarn@1\.22\.\d+$/), berry: false, pinned: true });
    expect(await pm({}, { engines: { yarn: '^4.2' } })).toMatchObject({ tool: expect.stringMatching(/^yarn@4\.\d+\.\d+$/), berry: true, pnp: true });
    expect(await pm({}, { engines: { npm: '10.x' } })).toMatchObject({ tool: expect.stringMatching(/^npm@10\.\d+\.\d+$/), why: 'engines.npm: 10.x' });
    // The platform's own npm when it fits, on the platform's own Node.
    expect(await pm({}, { engines: { npm: '11.x' } })).toMatchObject({ tool: undefined, why: 'engines.npm: 11.x' });
  });

  it('reads a lockfile alone: Yarn 1 for a classic yarn.lock, pnpm by its lockfileVersion (with a warning), a berry lockfile only with its release', async () => {
    expect(await pm({ 'yarn.lock': fixture('yarn-classic.lock') }, {})).toMatchObject({ tool: expect.stringMatching(/^yarn@1\.22\./), why: 'yarn.lock', berry: false });
    expect(await pm({ 'pnpm-lock.yaml': fixture('pnpm-lock.yaml') }, {})).toMatchObject({ tool: expect.stringMatching(/^pnpm@9\./), why: 'pnpm-lock.yaml v9.0', warning: expect.stringContaining('package.json names no pnpm version: using pnpm 9.') });
    // For a yarn app on an installed Node, npm matches that Node too.
    expect(await pm({ 'yarn.lock': fixture('yarn-classic.lock') }, {}, { version: '18.20.8', own: false, platformNpm: '11.0.0' })).toMatchObject({ npm: expect.stringMatching(/^npm@10\./) });
    await expect(pm({ 'yarn.lock': fixture('yarn-berry.lock') }, {})).rejects.toThrow('yarn.lock is a Yarn 2+ lockfile, but package.json does not say which Yarn wrote it. Add "packageManager": "yarn@<version>"');
    expect(await pm({ 'yarn.lock': fixture('yarn-berry.lock'), '.yarnrc.yml': 'nodeLinker: "node-modules"\nyarnPath: .yarn/releases/yarn-3.6.4.cjs\n' }, {})).toMatchObject({ tool: expect.stringMatching(/^yarn@1\.22\./), berry: true, pnp: false });
  });
});

describe('package managers on the process runtime', () => {
  let paas: Paas;
  beforeAll(async () => {
    // The TLS-intercepting proxy's CA (where the tests run behind one), as an operator gives it to builds.
    const ca = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;
    paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '20000', ...(ca ? { PAAS_BUILD_CA_FILE: ca } : {}) });
  });

  it('builds npm apps pinned to Node 18.x, 20.17.x and 22.x with an npm that supports that Node, and runs them on it', async () => {
    const apps = {
      'pm-node18': await pmApp({ node: '18.x', lock: 'npm', tool: 'npm', extra: { cacheDirectories: ['build-cache'] } }),
      'pm-node20': await pmApp({ node: '20.17.x', lock: 'npm', tool: 'npm' }),
      'pm-node22': await pmApp({
        node: '22.x',
        lock: 'npm',
        tool: 'npm',
        scripts: { 'heroku-prebuild': 'node prebuild.js', 'heroku-cleanup': 'node cleanup.js' },
        files: { 'prebuild.js': PREBUILD, 'cleanup.js': CLEANUP },
      }),
    };
    const started = Date.now();
    const out = await deployAll(paas, apps);
    console.log(`three npm apps on three Node versions, pushed at once: ${Date.now() - started} ms`);
    for (const [app, major, npmMajor] of [['pm-node18', 18, 10], ['pm-node20', 20, 11], ['pm-node22', 22, 11]] as const) {
      const output = out[app].output;
      const node = installed(output, 'node');
      const npm = installed(output, 'npm');
      expect(semver.major(node)).toBe(major);
      if (major === 20) expect(semver.minor(node)).toBe(17);
      // The newest npm whose engines.node takes that Node: npm 11 needs ^20.17, npm 12 runs no install scripts by default.
      expect(semver.major(npm), output).toBe(npmMajor);
      expect(output).toContain(`-----> Installing npm ${npm} (the newest npm for Node.js ${node})`);
      expect(output).toContain('-----> Installing dependencies with npm ci');
      expect(output).toContain('-----> Pruning devDependencies with npm prune --omit=dev');
      const got = await answer(paas, app);
      expect(got).toMatchObject({ node: `v${node}`, ms: '1m', dev: false, npm });
      // The build ran on that Node with that npm.
      expect(got.built).toMatchObject({ node: `v${node}`, npm });
      expect(got.built.agent).toMatch(new RegExp(`^npm/${npm.replaceAll('.', '\\.')} node/v${node.replaceAll('.', '\\.')} `));
    }
    // Heroku's order: heroku-prebuild before the install, heroku-cleanup after pruning.
    const output22 = out['pm-node22'].output;
    expect(output22.indexOf('-----> Running heroku-prebuild script')).toBeLessThan(output22.indexOf('-----> Installing dependencies with npm ci'));
    expect(output22.indexOf('-----> Running heroku-cleanup script')).toBeGreaterThan(output22.indexOf('-----> Pruning devDependencies'));
    const got22 = await answer(paas, 'pm-node22');
    expect(got22.built.prebuilt).toBe(true);
    expect(got22.cleanup).toEqual({ dev: false });

    // Again, on the same versions: nothing is downloaded, and the install comes from the app's cache;
    // the build finds what the last one left in its cacheDirectories.
    expect((await answer(paas, 'pm-node18')).built.builds).toBe(1);
    const again = await pushedAgainFromCache(paas, 'pm-node18', out['pm-node18'].dir);
    expect(again).toContain('-----> Restoring cacheDirectories (package.json): build-cache');
    expect((await answer(paas, 'pm-node18')).built.builds).toBe(2);

    // NPM_CONFIG_PRODUCTION=false keeps the devDependencies in the slug.
    expect((await cli(paas, ['config:set', 'NPM_CONFIG_PRODUCTION=false', '-a', 'pm-node18'])).code).toBe(0);
    await commitFiles(paas, out['pm-node18'].dir, { 'README.md': 'keep dev\n' });
    const keep = await push(paas, out['pm-node18'].dir, 'pm-node18');
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stderr).toContain('-----> Keeping devDependencies in the slug (NPM_CONFIG_PRODUCTION=false)');
    expect(keep.stderr).not.toContain('Pruning devDependencies');
    expect((await answer(paas, 'pm-node18')).dev).toBe(true);
  });

  it('builds yarn 1, yarn 4 (Plug\'n\'Play and node_modules) and pnpm apps with their own tool from their lockfile', async () => {
    const apps = {
      'pm-yarn1': await pmApp({ node: '18.x', lock: 'yarn-classic', tool: 'yarn' }),
      'pm-yarn4-pnp': await pmApp({ packageManager: YARN4, lock: 'yarn-berry', tool: 'yarn' }),
      'pm-yarn4-nm': await pmApp({ node: '22.x', packageManager: YARN4.split('+')[0], lock: 'yarn-berry', tool: 'yarn', files: { '.yarnrc.yml': 'nodeLinker: node-modules\n' } }),
      'pm-pnpm': await pmApp({ node: '20.17.x', packageManager: PNPM, lock: 'pnpm', tool: 'pnpm', scripts: { 'heroku-postbuild': 'node build.js' } }),
      // A Yarn 2+ project of the yarn 2/3 era: its release committed at yarnPath, no packageManager.
      'pm-yarn-path': await pmApp({ lock: 'yarn-berry', tool: 'yarn', files: await yarnRelease('4.9.2') }),
    };
    const started = Date.now();
    const out = await deployAll(paas, apps);
    console.log(`yarn 1, yarn 4 (two) and pnpm apps, pushed at once: ${Date.now() - started} ms`);

    const yarn1 = out['pm-yarn1'].output;
    expect(yarn1).toMatch(/-----> Installing yarn 1\.22\.\d+ \(yarn\.lock\)/);
    expect(yarn1).toContain('-----> Installing dependencies with yarn install --frozen-lockfile');
    expect(yarn1).toContain('-----> Pruning devDependencies with yarn install --production=true');
    const y1 = await answer(paas, 'pm-yarn1');
    expect(y1).toMatchObject({ node: expect.stringMatching(/^v18\./), ms: '1m', dev: false, tool: installed(yarn1, 'yarn') });
    expect(y1.built.agent).toMatch(/^yarn\/1\.22\.\d+ npm\/\? node\/v18\./);
    // npm matches the app's Node for its scripts too.
    expect(semver.major(y1.built.npm)).toBe(10);

    const pnp = out['pm-yarn4-pnp'].output;
    expect(pnp).toContain(`-----> Installing yarn 4.9.2 (packageManager: yarn@4.9.2)`);
    expect(pnp).toContain('-----> Installing dependencies with yarn install --immutable');
    expect(pnp).toContain('-----> Pruning devDependencies with yarn workspaces focus --all --production');
    const p = await answer(paas, 'pm-yarn4-pnp');
    expect(p).toMatchObject({ node: process.version, ms: '1m', dev: false, tool: '4.9.2' });
    expect(p.built.agent).toMatch(/^yarn\/4\.9\.2 /);

    const nm = out['pm-yarn4-nm'].output;
    expect(nm).toContain('-----> Installing yarn 4.9.2 (packageManager: yarn@4.9.2)');
    const n = await answer(paas, 'pm-yarn4-nm');
    expect(n).toMatchObject({ node: expect.stringMatching(/^v22\./), ms: '1m', dev: false, tool: '4.9.2' });

    const yarnPath = out['pm-yarn-path'].output;
    expect(yarnPath).toMatch(/-----> Installing yarn 1\.22\.\d+ \(yarn\.lock; Yarn 1 runs the release at yarnPath \.yarn\/releases\/yarn-4\.9\.2\.cjs\)/);
    expect(yarnPath).toContain('-----> Installing dependencies with yarn install --immutable');
    const yp = await answer(paas, 'pm-yarn-path');
    expect(yp).toMatchObject({ ms: '1m', dev: false, tool: '4.9.2' });
    expect(yp.built.agent).toMatch(/^yarn\/4\.9\.2 /);

    const pnpm = out['pm-pnpm'].output;
    expect(pnpm).toContain('-----> Installing pnpm 9.15.9 (packageManager: pnpm@9.15.9)');
    expect(pnpm).toContain('-----> Installing dependencies with pnpm install --frozen-lockfile');
    expect(pnpm).toContain('-----> Running heroku-postbuild script (instead of the build script)');
    expect(pnpm).not.toContain('-----> Running build script');
    expect(pnpm).toContain('-----> Pruning devDependencies with pnpm prune --prod');
    const pn = await answer(paas, 'pm-pnpm');
    expect(pn).toMatchObject({ node: expect.stringMatching(/^v20\.17\./), ms: '1m', dev: false, tool: '9.15.9' });
    expect(pn.built.agent).toMatch(/^pnpm\/9\.15\.9 npm\/\? node\/v20\.17\./);

    // A second build of the same lockfile downloads nothing and installs from the app's cache.
    await pushedAgainFromCache(paas, 'pm-pnpm', out['pm-pnpm'].dir);
  });

  it('refuses an out-of-sync lockfile naming the fix, a packageManager whose hash does not match, and a Node too old for any npm', async () => {
    const stale = await pmApp({ packageManager: PNPM, lock: 'pnpm', tool: 'pnpm' });
    const pkg = JSON.parse(stale['package.json']) as { dependencies: Record<string, string> };
    pkg.dependencies['is-odd'] = '3.0.1';
    const outOfSync = await refused(paas, 'pm-stale', { ...stale, 'package.json': JSON.stringify(pkg) });
    expect(outOfSync).toContain('pnpm-lock.yaml is out of sync with package.json');
    expect(outOfSync).toContain('Run `pnpm install` locally, commit pnpm-lock.yaml, and push again.');

    const badHash = await refused(paas, 'pm-badhash', await pmApp({ packageManager: `pnpm@9.15.9+sha512.${'0'.repeat(128)}`, lock: 'pnpm', tool: 'pnpm' }));
    expect(badHash).toMatch(/corepack could not install pnpm@9\.15\.9\+sha512\.0+: .*Mismatch hashes/);

    const old = await refused(paas, 'pm-node4', await pmApp({ node: '4.2.x', lock: 'npm', tool: 'npm' }));
    expect(old).toMatch(/Node\.js 4\.2\.\d+ is older than any Node paas builds with: no npm that installs today's lockfiles \(npm 7 and later\) runs on it\. paas builds apps on Node\.js 10 and later; set engines\.node to a line still supported/);
    expect(old).not.toContain('Downloaded');
  });
});
