// The stack image, on a real engine: built once (cold, that is debootstrap and the npm registry; a
// few minutes), then every check runs a throwaway labelled container of it.
import type Docker from 'dockerode';
import { beforeAll, expect, it } from 'vitest';
import { STACK_LABELS, type StackImage, ensureStack, stackRecipe } from '../../builder/docker/stack.js';
import { TEST_LABELS, dockerSuite, runInImage, testDocker } from '../helpers/docker.js';

const IMAGE = process.env.PAAS_STACK_IMAGE || 'paas/stack:bookworm';
const major = process.versions.node.split('.')[0];

dockerSuite('stack image', () => {
  let docker: Docker;
  let stack: StackImage;
  const lines: string[] = [];

  beforeAll(async () => {
    docker = await testDocker();
    stack = await ensureStack(docker, { image: IMAGE, log: (line) => lines.push(line) });
  }, 15 * 60_000);

  const containers: string[] = [];
  const run = async (script: string, user = '65534:65534') => {
    const result = await runInImage(docker, IMAGE, ['bash', '-c', script], { user });
    containers.push(result.id);
    return result;
  };

  it('is labelled as paas made it, from the current recipe', async () => {
    const info = await docker.getImage(IMAGE).inspect();
    expect(info.Id).toBe(stack.id);
    expect(info.Config.Labels).toMatchObject({ [STACK_LABELS.managed]: 'true', [STACK_LABELS.kind]: 'stack', [STACK_LABELS.recipe]: stackRecipe().hash });
    expect(info.Config.Env).toEqual(expect.arrayContaining(['LANG=C.UTF-8', expect.stringMatching(/^PATH=\/usr\/local\/bin:/)]));
    if (stack.built) expect(lines[0]).toBe(`-----> Building the stack image ${IMAGE} (once; a few minutes)`);
  });

  it("runs the platform's Node.js major and npm from the registry, on PATH for any user", async () => {
    const result = await run('node -v && npm -v && npx --version && command -v node npm npx');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [node, npm, npx, ...paths] = result.stdout.trim().split('\n');
    expect(node).toBe(`v${stack.node}`);
    expect(node.startsWith(`v${major}.`)).toBe(true);
    expect(npm).toBe(stack.npm);
    expect(npx).toBe(stack.npm);
    expect(paths).toEqual(['/usr/local/bin/node', '/usr/local/bin/npm', '/usr/local/bin/npx']);
  });

  it('has Python 3 with venv, git, bash and CA certificates', async () => {
    const result = await run('set -e; cd /tmp; python3 -m venv v; v/bin/python -c "import sys; print(sys.prefix)"; git --version; bash --version | head -1; test -s /etc/ssl/certs/ca-certificates.crt && echo certs');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\/tmp\/v\ngit version 2\.\d+.*\nGNU bash, version 5\..*\ncerts\n$/);
  });

  it("holds no Debian nodejs, documentation or package caches", async () => {
    const result = await run('dpkg -s nodejs >/dev/null 2>&1 && echo nodejs; ls /usr/bin/nodejs 2>/dev/null; ls /var/cache/apt/archives | grep -c "\\.deb$"; ls /usr/share/man | wc -l', '0:0');
    expect(result.stdout).toBe('0\n0\n');
  });

  it('is a no-op the second time: same image, nothing built, fast', async () => {
    const log: string[] = [];
    const started = Date.now();
    const again = await ensureStack(docker, { image: IMAGE, log: (line) => log.push(line) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(again).toEqual({ ...stack, built: false });
    expect(log).toEqual([]);
  });

  it('leaves no container behind', async () => {
    expect(containers.length).toBeGreaterThan(0);
    const left = await docker.listContainers({ all: true, filters: { label: Object.entries(TEST_LABELS).map(([k, v]) => `${k}=${v}`) } });
    expect(left.map((c) => c.Id).filter((id) => containers.includes(id))).toEqual([]);
  });
});
