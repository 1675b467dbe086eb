// Shapes of third-party Node apps that failed on the Docker runtime (found by trying real ones,
// issue 21), each reproduced by a small app of its own, against the real npm registry: a pnpm
// workspace (a monorepo whose web package is started from the root), whose pruning never ended in
// the image build: pnpm reinstalls a workspace package's node_modules to prune it, and the build
// stage had no store to reinstall from.
import { expect, it } from 'vitest';
import { dockerSuite, dockerTestEnv, removeWhenDone } from '../helpers/docker.js';
import { createApp, gitRepo, push, startPaas, viaRouter } from '../helpers/paas.js';

/** A pnpm 10 workspace: ms in packages/web, is-number a devDependency of the root. */
const pnpmWorkspaceApp = {
  'package.json': JSON.stringify({ name: 'monorepo', version: '1.0.0', private: true, packageManager: 'pnpm@10.0.0', scripts: { start: 'node packages/web/server.js' }, devDependencies: { 'is-number': '7.0.0' } }),
  'pnpm-workspace.yaml': 'packages:\n  - "packages/*"\n',
  'pnpm-lock.yaml': `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    devDependencies:
      is-number:
        specifier: 7.0.0
        version: 7.0.0

  packages/web:
    dependencies:
      ms:
        specifier: 2.1.3
        version: 2.1.3

packages:

  is-number@7.0.0:
    resolution: {integrity: sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==}
    engines: {node: '>=0.12.0'}

  ms@2.1.3:
    resolution: {integrity: sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==}

snapshots:

  is-number@7.0.0: {}

  ms@2.1.3: {}
`,
  'packages/web/package.json': JSON.stringify({ name: 'web', version: '1.0.0', private: true, dependencies: { ms: '2.1.3' } }),
  'packages/web/server.js': `require('http').createServer((q, s) => s.end(JSON.stringify({ ms: require('ms')(60000) }))).listen(process.env.PORT, '0.0.0.0');
`,
};

dockerSuite('third-party app shapes on the docker runtime', () => {
  it('builds a pnpm workspace, whose pruning reinstalls from the store the install filled', async () => {
    const app = 'dshape-pnpm-ws';
    const paas = await startPaas(dockerTestEnv());
    await removeWhenDone(paas, [app]);
    await createApp(paas, app);
    const pushed = await push(paas, await gitRepo(paas, pnpmWorkspaceApp), app);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain('-----> Pruning devDependencies with pnpm prune --prod');
    const res = await viaRouter(paas, `${app}.localhost`);
    expect(res.status, res.body).toBe(200);
    // Only that it answers: pnpm prune may leave a workspace root's devDependencies (Heroku
    // reinstalls each project with --prod instead).
    expect(JSON.parse(res.body)).toMatchObject({ ms: '1m' });
  }, 300_000);
});
