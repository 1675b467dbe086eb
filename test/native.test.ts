// Native modules in an app are compiled during the build, in the sandbox, with no network: against
// the headers of the Node that will load them, whatever nodedir the host's own npm config names.
import { describe, expect, it } from 'vitest';
import { abiModule } from './helpers/native-module.js';
import { createApp, gitRepo, push, startPaas, viaRouter } from './helpers/paas.js';

const nativeApp: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'native', version: '1.0.0', scripts: { build: 'node-gyp rebuild', start: 'node server.js' } }),
  ...abiModule(),
  'server.js': `const { abi } = require('./build/Release/abi.node');
require('http').createServer((req, res) => res.end(JSON.stringify({ compiled: String(abi()), runs: process.versions.modules }))).listen(process.env.PORT);
`,
};

describe('native modules', () => {
  it('are built offline against the headers of the Node that runs the app', async () => {
    const paas = await startPaas();
    await createApp(paas, 'native');
    const pushed = await push(paas, await gitRepo(paas, nativeApp), 'native');
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse((await viaRouter(paas, 'native.localhost')).body)).toEqual({ compiled: process.versions.modules, runs: process.versions.modules });
  });
});
