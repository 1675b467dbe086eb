import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessRuntime } from '../../server/runtime/process/runtime.js';
import type { DynoSpec, Runtime } from '../../server/runtime/types.js';
import { detectSandbox } from '../../server/sandbox/host.js';
import { probeOverlay } from '../../server/sandbox/spawn.js';
import { hostCanRun, root as rootNeed } from '../helpers/host.js';
import { tempDir } from '../helpers/paas.js';
import { runtimeContract } from './contract.js';

const host = detectSandbox();
const root = host.asRoot;
// An overlay of the slug per dyno: bubblewrap mounts it only as root, and the probe's own test mounts one.
const overlays = hostCanRun('the overlay of a slug per dyno', { ...rootNeed('overlay mounts'), 'bubblewrap that can make namespaces': host.kind === 'bwrap' });
// CI runs as root with bubblewrap installed (.ci/run), so the first suite is the real sandbox there.
runtimeContract(`process (${host.kind}${root ? ', app uid' : ''})`, {
  make: () => new ProcessRuntime({ sandbox: host, scratchRoot: tempDir('paas-scratch-') }),
  user: root ? { uid: 300_123, gid: 300_123 } : undefined,
  isolated: host.kind === 'bwrap',
});

// Every dyno of the contract prestarted first, as a deploy's web.1 is (issue 23): it must behave as
// one started at once. Those the prestart does not fit (one-offs with input) start afresh.
if (host.kind === 'bwrap' && root) {
  runtimeContract('process (prestarted)', {
    make: () => {
      const rt = new ProcessRuntime({ sandbox: host, scratchRoot: tempDir('paas-scratch-') });
      const wrapper: Runtime = Object.create(rt) as ProcessRuntime;
      wrapper.start = async (spec: DynoSpec) => rt.start(spec, await rt.prestart({ app: spec.app, name: spec.name, user: spec.user, limits: spec.limits, profile: spec.profile }));
      return wrapper;
    },
    user: { uid: 300_126, gid: 300_126 },
    isolated: true,
  });
}

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

// Where the data dir cannot hold an overlay: bubblewrap still isolates, and each dyno gets a copy.
if (overlays) {
  runtimeContract('process (bubblewrap, no overlay)', {
    make: () => new ProcessRuntime({ sandbox: { ...host, overlay: false }, scratchRoot: tempDir('paas-scratch-') }),
    user: { uid: 300_125, gid: 300_125 },
    isolated: true,
  });
}

describe.runIf(overlays)('the overlay probe', () => {
  it('falls back to copies, with one warning, where the data dir cannot hold an overlay', async () => {
    // overlayfs cannot be the upper layer of another overlay: the case of paas inside a container.
    const base = tempDir('paas-ovl-');
    for (const d of ['l', 'u', 'w', 'm']) fs.mkdirSync(path.join(base, d));
    const mounted = spawnSync('mount', ['-t', 'overlay', 'paas-test', '-o', `lowerdir=${base}/l,upperdir=${base}/u,workdir=${base}/w`, `${base}/m`]);
    expect(mounted.status, String(mounted.stderr)).toBe(0);
    try {
      fs.mkdirSync(path.join(base, 'm', 'scratch'));
      const probed = await probeOverlay(host, path.join(base, 'm', 'scratch'));
      expect(probed.overlay).toBe(false);
      expect(probed.warnings.at(-1)).toMatch(/cannot hold an overlay .*each dyno gets a copy of its slug/);
      expect((await probeOverlay(host, tempDir('paas-scratch-'))).overlay).toBe(true);
    } finally {
      spawnSync('umount', [`${base}/m`]);
    }
  });
});
