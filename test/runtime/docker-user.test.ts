// The docker runtime and an image's USER: a numeric uid:gid (what generated images set) is taken as
// is, with no probe container before the dyno (a third of a second of every deploy); any other
// USER is still resolved by one, so root under another spelling never stands.
import type Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectDocker, LABELS } from '../../server/docker/engine.js';
import { DockerNetworks } from '../../server/docker/networks.js';
import { DockerRuntime } from '../../server/runtime/docker/runtime.js';
import { DEFAULT_LIMITS } from '../../lib/dyno-limits.js';
import { dockerSuite } from '../helpers/docker.js';

const docker: Docker = await connectDocker();
const STACK = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
const APP_USER = { uid: 300_131, gid: 300_132 };
const instance = `dockeruser-${process.pid}`;
const networks = new DockerNetworks({ docker, instance, prefix: 'paas' });
const tags: string[] = [];

/** An image of the stack with `USER <user>`, labelled for clean-up. */
async function imageWithUser(user: string): Promise<string> {
  const { c } = await import('tar');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { tempDir } = await import('../helpers/paas.js');
  const context = tempDir('paas-user-ctx-');
  fs.writeFileSync(path.join(context, 'Dockerfile'), `FROM ${STACK}\nUSER ${user}\n`);
  const tag = `paas/dockeruser:${process.pid}-${tags.length}`;
  tags.push(tag);
  const stream = await docker.buildImage(c({ cwd: context }, ['Dockerfile']) as unknown as NodeJS.ReadableStream, { t: tag, labels: { [LABELS.managed]: 'true', [LABELS.app]: 'dockeruser' }, rm: true, forcerm: true });
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out))));
  return tag;
}

/** Runs `id -u; id -g` in a dyno of `image`; returns what it printed and how many probe containers this instance created meanwhile. */
async function ids(image: string): Promise<{ printed: string[]; probes: number }> {
  const runtime = new DockerRuntime({ docker, networks, limits: DEFAULT_LIMITS.dyno, bindAddress: '127.0.0.1', instance });
  const since = Math.floor(Date.now() / 1000) - 1;
  const lines: string[] = [];
  const dyno = await runtime.start({ app: 'dockeruser', name: 'run.1', slugDir: '', image, command: 'id -u; id -g', pathPrepend: [], user: APP_USER, env: {}, onLine: (_, l) => lines.push(l) });
  await dyno.exited;
  await runtime.stop(dyno, 0);
  const until = Math.ceil(Date.now() / 1000) + 1;
  const events = await docker.getEvents({ since, until, filters: { type: ['container'], event: ['create'], label: [`${LABELS.instance}=${instance}`, `${LABELS.kind}=probe`] } });
  const text = await new Promise<string>((resolve) => {
    let all = '';
    events.on('data', (c: Buffer) => (all += c.toString()));
    events.on('end', () => resolve(all));
  });
  return { printed: lines, probes: text.split('\n').filter(Boolean).length };
}

// Like every Docker suite: skipped with no engine, required by CI (PAAS_TEST_DOCKER=1).
dockerSuite('docker runtime: the image USER', () => {
  beforeAll(async () => {
    await docker.getImage(STACK).inspect();
  });
  afterAll(async () => {
    for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    await networks.prune(new Set());
  });

  it('runs a numeric uid:gid USER as those ids, with no probe container first', async () => {
    expect(await ids(await imageWithUser('300133:300134'))).toEqual({ printed: ['300133', '300134'], probes: 0 });
  });

  it('still probes a USER spelled otherwise, and runs root by another spelling as the app', async () => {
    expect(await ids(await imageWithUser('00:00'))).toEqual({ printed: [String(APP_USER.uid), String(APP_USER.gid)], probes: 1 });
  });
});
