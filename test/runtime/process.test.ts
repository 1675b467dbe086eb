import fs from 'node:fs';
import { ProcessRuntime } from '../../server/runtime/process.js';
import { detectSandbox } from '../../server/sandbox/host.js';
import { tempDir } from '../helpers/paas.js';
import { runtimeContract } from './contract.js';

const host = detectSandbox();
const root = host.asRoot;
// CI runs as root with bubblewrap installed (.ci/run), so the first suite is the real sandbox there.
runtimeContract(`process (${host.kind}${root ? ', app uid' : ''})`, {
  make: () => new ProcessRuntime({ sandbox: host, scratchRoot: tempDir('paas-scratch-') }),
  user: root ? { uid: 300_123, gid: 300_123 } : undefined,
  isolated: host.kind === 'bwrap',
});

// The fallback where bubblewrap is missing: the same contract, with the uid as the only wall.
runtimeContract('process (no bubblewrap)', {
  make: () => {
    // As in the data dir (sharedDirMode): the app's uid must pass through to its copy of the slug.
    const scratchRoot = tempDir('paas-scratch-');
    fs.chmodSync(scratchRoot, 0o711);
    return new ProcessRuntime({ sandbox: { ...host, kind: 'none', warnings: [] }, scratchRoot });
  },
  user: root ? { uid: 300_124, gid: 300_124 } : undefined,
  isolated: false,
});
