// The operator's registry settings (PAAS_BUILD_NPMRC) on the docker runtime: the image build's
// stages that fetch packages (engines.node's `node` stage, `deps`, and `build`, whose scripts may
// install too) reach a private registry of the test's own, and the slug image, its dynos and their
// env hold nothing of the npmrc, the token or the CA.
// Image builds run on Docker's default bridge, so the registry listens on the bridge's gateway
// address (this host); builds get no host network.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, expect, it } from 'vitest';
import { instanceId, LABELS } from '../../server/docker/engine.js';
import { dockerSuite, dockerTestEnv, removeInstance, testDocker } from '../helpers/docker.js';
import { createApp, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from '../helpers/paas.js';
import { expectNothingOf, PRIVATE_PACKAGE, privateApp, registryNpmrc, startTestRegistry, type TestRegistry } from '../helpers/registry.js';

const HOST_CA = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';
const APPS = ['dock-private-22', 'dock-private-stack', 'dock-private-postbuild'];
/** Where a dyno might look: the image's npmrc files and where the install stages had the settings. */
const PEEK = ['/etc/npmrc', '/usr/local/etc/npmrc', '/tmp/paas/registry/npmrc', '/tmp/paas/registry/env', '/tmp/paas/registry/ca.pem', '/tmp/paas/ca-bundle.pem', '/.yarnrc.yml', '/app/.npmrc'];

/** The address of the host on Docker's default bridge, where image builds run. */
async function bridgeGateway(docker: Docker): Promise<string> {
  const bridge = await docker.getNetwork('bridge').inspect();
  const v4 = bridge.IPAM?.Config?.find((c) => c.Subnet && !c.Subnet.includes(':'));
  if (v4?.Gateway) return v4.Gateway;
  // The engine leaves it out for the default bridge; it is the subnet's first address.
  const m = /^(\d+\.\d+\.\d+\.)0\/\d+$/.exec(v4?.Subnet ?? '');
  if (!m) throw new Error(`cannot tell the address of Docker's default bridge (IPAM ${JSON.stringify(bridge.IPAM)})`);
  return `${m[1]}1`;
}

dockerSuite('registry settings on the docker runtime', () => {
  let registry: TestRegistry;
  let paas: Paas;
  let docker: Docker;

  /** The slug image itself: no file, layer, ENV or history entry holds the settings. */
  async function expectCleanSlug(app: string): Promise<void> {
    const [image] = await docker.listImages({ filters: { label: [`${LABELS.app}=${app}`, `${LABELS.instance}=${instanceId(paas.dataDir)}`], dangling: ['false'] } });
    const info = await docker.getImage(image.Id).inspect();
    expectNothingOf(registry, JSON.stringify([info.Config, await docker.getImage(image.Id).history()]), `${app}: the image's config and history`);
    const saved = execFileSync('docker', ['save', image.Id], { maxBuffer: 1 << 30 });
    for (const secret of [registry.token, registry.caMarker]) expect(saved.includes(secret), `${app}: the saved image`).toBe(false);
  }

  beforeAll(async () => {
    docker = await testDocker();
    registry = await startTestRegistry(await bridgeGateway(docker));
    const npmrc = path.join(tempDir(), 'npmrc');
    fs.writeFileSync(npmrc, registryNpmrc(registry, 'PAAS_TEST_REGISTRY_TOKEN'));
    paas = await startPaas({ ...dockerTestEnv(), PAAS_BUILD_NPMRC: npmrc, PAAS_TEST_REGISTRY_TOKEN: registry.token, PAAS_BUILD_CA_FILE: HOST_CA, PAAS_DYNO_MEMORY: '256m' });
    // Docker dynos outlive their server: it stops first, then what it made goes, the engines.node
    // stage it built included (its layer holds this run's settings, so no later run would reuse
    // it): that stage carries the server's paas.instance, so only this server's goes, never one a
    // build of another server on the same engine is using.
    const dataDir = paas.dataDir;
    return async () => {
      await paas.stop();
      await removeInstance(docker, instanceId(dataDir), APPS);
    };
  });

  it("installs from the private registry on engines.node's Node and on the stack's, and the slug images and dynos hold none of it", async () => {
    for (const [app, engines, node] of [[APPS[0], { node: '22.x' }, /^v22\./], [APPS[1], {}, /^v24\./]] as const) {
      const before = registry.requests.length;
      await createApp(paas, app);
      const pushed = await push(paas, await gitRepo(paas, privateApp(engines, PEEK)), app);
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(registry.requests.slice(before)).toContainEqual({ path: `/${PRIVATE_PACKAGE.name}`, authorized: true });
      expectNothingOf(registry, pushed.stderr, `${app}: the push, the release phase included`);

      const served = await viaRouter(paas, `${app}.localhost`);
      expect(served.status, served.body).toBe(200);
      const body = JSON.parse(served.body) as { greeting: string; node: string; seen: Record<string, string> };
      expect(body).toMatchObject({ greeting: PRIVATE_PACKAGE.says, node: expect.stringMatching(node) });
      expectNothingOf(registry, served.body, `${app}: the web dyno`);
      for (const p of PEEK.filter((p) => p.startsWith('/tmp/') || p === '/.yarnrc.yml')) expect(body.seen[p], p).toBe('ENOENT');

      await expectCleanSlug(app);
    }
    expect(registry.requests.every((r) => r.authorized)).toBe(true);
  }, 600_000);

  it('reaches the private registry from a build script that installs, as a create-react-app client/ beside an Express server does', async () => {
    const app = APPS[2];
    const before = registry.requests.length;
    await createApp(paas, app);
    const pushed = await push(paas, await gitRepo(paas, postbuildInstallApp()), app);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain('-----> Running heroku-postbuild script');
    expect(registry.requests.slice(before)).toContainEqual({ path: `/${PRIVATE_PACKAGE.name}`, authorized: true });
    expectNothingOf(registry, pushed.stderr, `${app}: the push`);
    const served = await viaRouter(paas, `${app}.localhost`);
    expect(served.status, served.body).toBe(200);
    expect(served.body).toBe(PRIVATE_PACKAGE.says);
    await expectCleanSlug(app);
  }, 300_000);
});

/** An app with nothing to install at its root whose heroku-postbuild installs client/'s dependencies (the private package). */
function postbuildInstallApp(): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'postbuild-installs', version: '1.0.0', scripts: { 'heroku-postbuild': 'cd client && npm install --no-audit --no-fund', start: 'node server.js' } }),
    'client/package.json': JSON.stringify({ name: 'client', version: '1.0.0', private: true, dependencies: { [PRIVATE_PACKAGE.name]: PRIVATE_PACKAGE.version } }),
    'server.js': `const greeting = require('./client/node_modules/${PRIVATE_PACKAGE.name}');
require('http').createServer((req, res) => res.end(greeting)).listen(process.env.PORT, '0.0.0.0');
`,
  };
}
