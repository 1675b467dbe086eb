// Shapes of third-party Node apps found by trying real ones (issue 21), each reproduced by a small
// app of its own, on the process runtime against the real npm registry: a Nuxt-style pnpm 8 app
// whose postinstall needs a devDependency, a pnpm app with a native module (bcrypt-style) that must
// compile offline, and a webpack 4-style build on today's Node, which fails (as on Heroku) but
// says what to do.
import { beforeAll, describe, expect, it } from 'vitest';
import { abiModule } from './helpers/native-module.js';
import { createApp, gitRepo, type Paas, push, startPaas, viaRouter } from './helpers/paas.js';

/** pnpm 8 lockfile (v6.0) for ms (a dependency) and is-number (a devDependency), as `pnpm install` wrote it. */
const PNPM8_LOCK = `lockfileVersion: '6.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

dependencies:
  ms:
    specifier: 2.1.3
    version: 2.1.3

devDependencies:
  is-number:
    specifier: 7.0.0
    version: 7.0.0

packages:

  /is-number@7.0.0:
    resolution: {integrity: sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==}
    engines: {node: '>=0.12.0'}
    dev: true

  /ms@2.1.3:
    resolution: {integrity: sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==}
    dev: false
`;

/** A pnpm 8.11 app whose postinstall needs its devDependency, as Nuxt's `nuxt prepare` needs nuxt. */
const pnpmPostinstallApp = {
  'package.json': JSON.stringify({
    name: 'postinstall-app',
    version: '1.0.0',
    private: true,
    packageManager: 'pnpm@8.11.0',
    scripts: { postinstall: "node -e \"require('is-number')\"", start: 'node server.js' },
    dependencies: { ms: '2.1.3' },
    devDependencies: { 'is-number': '7.0.0' },
  }),
  'pnpm-lock.yaml': PNPM8_LOCK,
  'server.js': "require('http').createServer((q, s) => s.end(require('ms')(60000))).listen(process.env.PORT, '0.0.0.0');\n",
};

/** A pnpm 9 app with a native dependency in its tree, built by its install script (node-gyp), as bcrypt is when no prebuilt binary can be downloaded. */
const pnpmNativeApp = {
  'package.json': JSON.stringify({ name: 'native-pnpm', version: '1.0.0', private: true, packageManager: 'pnpm@9.15.9', scripts: { start: 'node server.js' }, dependencies: { abi: 'file:abi' } }),
  'pnpm-lock.yaml': `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      abi:
        specifier: file:abi
        version: file:abi

packages:

  abi@file:abi:
    resolution: {directory: abi, type: directory}

snapshots:

  abi@file:abi: {}
`,
  'abi/package.json': JSON.stringify({ name: 'abi', version: '1.0.0', scripts: { install: 'node-gyp rebuild' } }),
  ...abiModule('abi'),
  'server.js': `const { abi } = require('abi/build/Release/abi.node');
require('http').createServer((q, s) => s.end(JSON.stringify({ compiled: String(abi()), runs: process.versions.modules }))).listen(process.env.PORT, '0.0.0.0');
`,
};

/** A build that needs a hash OpenSSL 3 dropped, as webpack 4 (create-react-app 4) does on Node.js 17 and later. */
const md4BuildApp = {
  'package.json': JSON.stringify({ name: 'md4-build', version: '1.0.0', scripts: { build: "node -e \"require('crypto').createHash('md4')\"", start: 'node server.js' } }),
  'server.js': "require('http').createServer((q, s) => s.end('built')).listen(process.env.PORT, '0.0.0.0');\n",
};

describe('third-party app shapes on the process runtime', () => {
  let paas: Paas;
  beforeAll(async () => {
    // The TLS-intercepting proxy's CA (where the tests run behind one), as an operator gives it to builds.
    const ca = process.env.PAAS_BUILD_CA_FILE || process.env.NODE_EXTRA_CA_CERTS || process.env.SSL_CERT_FILE;
    paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '20000', ...(ca ? { PAAS_BUILD_CA_FILE: ca } : {}) });
  });

  async function deploy(name: string, files: Record<string, string>): Promise<string> {
    await createApp(paas, name);
    const pushed = await push(paas, await gitRepo(paas, files), name);
    expect(pushed.code, pushed.stderr).toBe(0);
    return pushed.stderr;
  }

  it('skips pruning, as Heroku does, where a pnpm older than 8.15.6 would run an install script without its devDependencies', async () => {
    const output = await deploy('shape-pnpm-postinstall', pnpmPostinstallApp);
    expect(output).toContain('-----> Installing pnpm 8.11.0 (packageManager: pnpm@8.11.0)');
    expect(output).toContain(
      "-----> Not pruning devDependencies: pnpm 8.11.0 runs package.json's postinstall script while pruning, without the devDependencies it may need; pnpm 8.15.6 and later prune without running it",
    );
    expect(output).not.toContain('Pruning devDependencies with');
    const res = await viaRouter(paas, 'shape-pnpm-postinstall.localhost');
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe('1m');
  });

  it('names the fix when a build stops on a hash OpenSSL 3 dropped (ERR_OSSL_EVP_UNSUPPORTED), as Heroku does', async () => {
    await createApp(paas, 'shape-md4');
    const pushed = await push(paas, await gitRepo(paas, md4BuildApp), 'shape-md4');
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toContain('Push rejected: The build script failed with ERR_OSSL_EVP_UNSUPPORTED: it uses a hash that Node.js 17 and later (OpenSSL 3) no longer offer');
    expect(pushed.stderr).toContain('or set engines.node to "16.x" in package.json, and push again.');
  });

  it("compiles a pnpm app's native dependency offline, against the headers of the Node that runs it", async () => {
    await deploy('shape-pnpm-native', pnpmNativeApp);
    const res = await viaRouter(paas, 'shape-pnpm-native.localhost');
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ compiled: process.versions.modules, runs: process.versions.modules });
  });
});
