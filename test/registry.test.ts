// The operator's registry settings (PAAS_BUILD_NPMRC) on the process runtime, against a private
// registry of the test's own on 127.0.0.1 (HTTPS from a test CA, a bearer token): builds on an
// installed Node and on the platform's reach it; no dyno, release phase or `paas run` can read
// the npmrc, the token or the CA.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCleanup } from './helpers/cleanup.js';
import { createApp, gitRepo, type Paas, push, startPaas, tempDir, viaRouter } from './helpers/paas.js';
import { expectNothingOf, PRIVATE_PACKAGE, privateApp as app, registryNpmrc, startTestRegistry, type TestRegistry } from './helpers/registry.js';
import { paasRun } from './helpers/run.js';
import { detectSandbox } from '../server/sandbox/host.js';

const asRoot = process.getuid?.() === 0;
const sandboxed = detectSandbox().kind === 'bwrap';
/** The CA builds must trust besides the test's to reach the public registry (engines.node), as the host does. */
const HOST_CA = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';

/** Where a dyno might look for registry credentials: the host's npmrc files, the operator's, where builds see theirs. */
function peekPaths(npmrc: string): string[] {
  return ['/etc/npmrc', '/usr/etc/npmrc', '/usr/local/etc/npmrc', npmrc, '/opt/paas/registry/npmrc', '/opt/paas/registry/ca.pem', '/.yarnrc.yml'];
}

describe('registry settings on the process runtime', () => {
  let registry: TestRegistry;
  let paas: Paas;
  let npmrc: string;

  beforeAll(async () => {
    registry = await startTestRegistry();
    // As root, where operators keep it: under /etc, which every sandbox binds (and must hide it from).
    npmrc = asRoot ? `/etc/paas-test-npmrc-${process.pid}-${Date.now()}` : path.join(tempDir(), 'npmrc');
    fs.writeFileSync(npmrc, registryNpmrc(registry, 'PAAS_TEST_REGISTRY_TOKEN'), { mode: 0o644 });
    onCleanup(() => fs.rmSync(npmrc, { force: true }));
    // The registry is on the host's loopback, which builds in an app network never reach (by design,
    // docs/security.md): this suite is about the settings, so apps share the host's network here.
    paas = await startPaas({ PAAS_APP_NETWORKS: 'off', PAAS_BUILD_NPMRC: npmrc, PAAS_TEST_REGISTRY_TOKEN: registry.token, PAAS_BUILD_CA_FILE: HOST_CA, PAAS_BOOT_TIMEOUT_MS: '15000' });
  }, 60_000);

  const expectNoSecret = (text: string, where: string) => expectNothingOf(registry, text, where);

  it('says at start which settings builds do not get, and keeps the rest for its own npm only', () => {
    expect(paas.output()).toContain('warning: PAAS_BUILD_NPMRC sets fund, which builds do not get');
    const own = path.join(paas.dataDir, 'run', 'registry');
    expect(fs.readFileSync(path.join(own, 'npmrc'), 'utf8')).toContain(`:_authToken=${registry.token}`);
    expect((fs.statSync(path.join(own, 'npmrc')).mode & 0o777).toString(8)).toBe('600');
  });

  it('builds on an installed Node through the private registry, and no dyno, release phase or run can read the settings', async () => {
    await createApp(paas, 'private-22');
    const pushed = await push(paas, await gitRepo(paas, app({ node: '22.x' }, peekPaths(npmrc))), 'private-22');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toMatch(/Installing node 22\.\d+\.\d+/);
    // npm asked for the package and fetched it, each time with the token.
    expect(registry.requests).toContainEqual({ path: `/${PRIVATE_PACKAGE.name}`, authorized: true });
    expect(registry.requests).toContainEqual({ path: expect.stringMatching(/greeting-1\.0\.0\.tgz$/), authorized: true });
    expect(registry.requests.every((r) => r.authorized)).toBe(true);
    expectNoSecret(pushed.stderr, 'the push, the release phase included');
    expect(pushed.stderr).toContain('PAAS_APP_NAME=private-22'); // the release phase's env was printed

    const served = await viaRouter(paas, 'private-22.localhost');
    expect(served.status, served.body).toBe(200);
    const body = JSON.parse(served.body) as { greeting: string; node: string; seen: Record<string, string> };
    expect(body.greeting).toBe(PRIVATE_PACKAGE.says);
    expect(body.node).toMatch(/^v22\./);
    expectNoSecret(served.body, 'the web dyno');
    if (sandboxed) {
      // The operator's npmrc and the host's global one read as empty; what builds saw is not there.
      expect(body.seen[npmrc]).toBe(asRoot ? '' : 'ENOENT');
      if (fs.existsSync('/usr/local/etc/npmrc')) expect(body.seen['/usr/local/etc/npmrc']).toBe('');
      expect(body.seen['/opt/paas/registry/npmrc']).toBe('ENOENT');
      expect(body.seen['/.yarnrc.yml']).toBe('ENOENT');
    }

    const run = await paasRun(paas, 'private-22', ['sh', '-c', `cat ${peekPaths(npmrc).join(' ')} 2>&1; env; ps -ef 2>&1; true`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('DYNO=run.');
    expectNoSecret(run.stdout + run.stderr, 'paas run');
  }, 240_000);

  it("builds on the platform's Node through the private registry too", async () => {
    const before = registry.requests.length;
    await createApp(paas, 'private-platform');
    const pushed = await push(paas, await gitRepo(paas, app({}, peekPaths(npmrc))), 'private-platform');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(registry.requests.slice(before)).toContainEqual({ path: `/${PRIVATE_PACKAGE.name}`, authorized: true });
    const served = await viaRouter(paas, 'private-platform.localhost');
    expect(JSON.parse(served.body)).toMatchObject({ greeting: PRIVATE_PACKAGE.says, node: process.version });
    expectNoSecret(served.body, 'the web dyno');
  }, 120_000);
});
