// `paas run` on the docker runtime: one-off dynos are labelled containers of the slug image with
// the memory limit, attached over the run websocket, and removed when the client goes away.
import { beforeAll, expect, it, vi } from 'vitest';
import { LABELS } from '../../server/docker/engine.js';
import { dockerPaasWithApp, dockerSuite, testDocker } from '../helpers/docker.js';
import { nodeApp } from '../helpers/fixtures.js';
import { cli, type Paas } from '../helpers/paas.js';
import { paasRun, paasRunInTerminal, startRun } from '../helpers/run.js';

const APP = 'dockerrun';

dockerSuite('paas run (docker runtime)', () => {
  let paas: Paas;
  beforeAll(async () => {
    paas = await dockerPaasWithApp(APP, nodeApp('from web'));
    expect((await cli(paas, ['config:set', 'GREETING=hello', '-a', APP])).code).toBe(0);
  }, 300_000);

  it('passes exit codes, stdin, config and -e through, and gives a terminal', async () => {
    expect((await paasRun(paas, APP, ['sh', '-c', 'exit 3'])).code).toBe(3);
    const node = await paasRun(paas, APP, ['node'], 'process.stdout.write(String(6 * 7))');
    expect(node.stdout, node.stderr).toBe('42');
    const env = await paasRun(paas, APP, ['-e', 'EXTRA=1', 'sh', '-c', 'echo "$GREETING $EXTRA"; pwd']);
    expect(env.stdout).toBe('hello 1\n/app\n');
    const tty = await paasRunInTerminal(paas, APP, 'tty');
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(tty.code, tty.stdout + tty.stderr).toBe(0);
  });

  it('runs a labelled container of the slug image with the memory limit, removed when the client goes away', async () => {
    const docker = await testDocker();
    const child = startRun(paas, APP, ['sleep', '60']);
    const filters = { label: [`${LABELS.app}=${APP}`, `${LABELS.type}=run`] };
    let id = '';
    await vi.waitFor(async () => {
      const found = await docker.listContainers({ filters });
      expect(found).toHaveLength(1);
      id = found[0].Id;
    }, { timeout: 30_000 });
    const info = await docker.getContainer(id).inspect();
    expect(info.HostConfig.Memory).toBeGreaterThan(0);
    expect(info.Config.Labels[LABELS.dyno]).toMatch(/^run\.\d+$/);
    child.kill('SIGKILL');
    await vi.waitFor(async () => expect(await docker.listContainers({ all: true, filters })).toEqual([]), { timeout: 20_000 });
  });
});
