import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import { connectDocker, LABELS } from '../../server/docker/engine.js';
import { dockerSuite } from '../helpers/docker.js';
import { DockerRuntime } from '../../server/runtime/docker/runtime.js';
import { DockerNetworks } from '../../server/docker/networks.js';
import { DEFAULT_LIMITS } from '../../lib/dyno-limits.js';
import type { DynoSpec, RecordedDyno, Runtime, RunningDyno } from '../../server/runtime/types.js';
import { tempDir } from '../helpers/paas.js';
import { runtimeContract } from './contract.js';

// The contract hands the runtime a slug directory, as the builder does for the process runtime; the
// docker runtime runs images, so this adapter bakes each directory into a labelled image first, as
// the image builder does (tree at /app, owned by the app, HOME=/app, an `app` account).
const docker: Docker = await connectDocker();
const STACK = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
const USER = { uid: 300_126, gid: 300_126 };
const images = new Map<string, Promise<string>>();

async function imageOf(slugDir: string): Promise<string> {
  const { c } = await import('tar');
  const context = tempDir('paas-ctx-');
  fs.cpSync(slugDir, path.join(context, 'app'), { recursive: true });
  fs.writeFileSync(
    path.join(context, 'Dockerfile'),
    `FROM ${STACK}\nRUN echo 'app:x:${USER.uid}:${USER.gid}::/app:/bin/bash' >> /etc/passwd\nCOPY --chown=${USER.uid}:${USER.gid} app /app\nWORKDIR /app\nENV HOME=/app\n`,
  );
  const tag = `paas/contract:${path.basename(slugDir).toLowerCase().replace(/[^a-z0-9_.-]/g, '')}`;
  const stream = await docker.buildImage(c({ cwd: context }, ['.']) as unknown as NodeJS.ReadableStream, { t: tag, labels: { [LABELS.managed]: 'true', [LABELS.app]: 'contract' }, rm: true, forcerm: true });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))));
  return tag;
}

class ImageAdapter implements Runtime {
  readonly name = 'docker';
  readonly persistent = true;
  constructor(private readonly inner: DockerRuntime) {}
  async start(spec: DynoSpec): Promise<RunningDyno> {
    let image = images.get(spec.slugDir);
    if (!image) images.set(spec.slugDir, (image = imageOf(spec.slugDir)));
    return this.inner.start({ ...spec, image: await image });
  }
  stop(d: RunningDyno, graceMs: number) {
    return this.inner.stop(d, graceMs);
  }
  reap(stale: RecordedDyno[], graceMs: number) {
    return this.inner.reap(stale, graceMs);
  }
  adopt(d: RecordedDyno, onLine: DynoSpec['onLine']) {
    return this.inner.adopt(d, onLine);
  }
  sweep(keep: Set<string>, graceMs: number) {
    return this.inner.sweep(keep, graceMs);
  }
  detach() {
    this.inner.detach();
  }
}

const instance = `contract-${process.pid}`;
const networks = new DockerNetworks({ docker, instance, prefix: 'paas' });
const limits = { ...DEFAULT_LIMITS.dyno, memoryBytes: 256 * 1024 ** 2 };
const make = () => new ImageAdapter(new DockerRuntime({ docker, networks, limits, bindAddress: '127.0.0.1', instance }));

// Skipped, with the reason printed once per run, when no engine answers (test/docker-global-setup.ts).
dockerSuite('docker runtime', () => {
  beforeAll(async () => {
    await docker.getImage(STACK).inspect();
  });
  afterAll(async () => {
    for (const tag of await Promise.all(images.values())) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    await networks.prune(new Set());
  });
  runtimeContract('docker', { make, user: USER, isolated: true, sharedNetwork: false, engineEnv: ['HOSTNAME', 'LANG'], umask: '0022', ownPasswd: false });
});
