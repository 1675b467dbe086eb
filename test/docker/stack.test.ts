// The stack image, on a real engine: built once (cold, that is debootstrap and the npm registry; a
// few minutes), then every check runs a throwaway labelled container of it. Then what a build says
// when it cannot go on, and that it leaves nothing behind then.
import fs from 'node:fs';
import os from 'node:os';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../lib/docker/labels.js';
import { type StackImage, buildStack, ensureStack, stackRecipe } from '../../builder/docker/stack.js';
import { BuildError } from '../../builder/errors.js';
import { onCleanup } from '../helpers/cleanup.js';
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
    expect(info.Config.Labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.kind]: 'stack', [LABELS.recipe]: stackRecipe().hash });
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

  it("holds no Debian nodejs, documentation or package caches, and an empty /tmp", async () => {
    const result = await run('dpkg -s nodejs >/dev/null 2>&1 && echo nodejs; ls /usr/bin/nodejs 2>/dev/null; ls /var/cache/apt/archives | grep -c "\\.deb$"; ls /usr/share/man | wc -l; ls -A /tmp | wc -l', '0:0');
    expect(result.stdout).toBe('0\n0\n0\n');
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

describe('stack build without an engine', () => {
  it('says Docker is not running and what to do', async () => {
    const { default: DockerClient } = await import('dockerode');
    const none = new DockerClient({ socketPath: `${os.tmpdir()}/no-docker.sock` });
    const failure = buildStack(none, { image: 'paas-test/stack:none', log: () => undefined });
    await expect(failure).rejects.toBeInstanceOf(BuildError);
    await expect(failure).rejects.toThrow(/^Docker is not running \(no engine answers at .*\): start dockerd/);
  });
});

// After the stack suite, in the same file: a build here must not run beside a real one, which
// would share the temp dir and the labels these checks look at.
dockerSuite('stack build failures', () => {
  let docker: Docker;
  beforeAll(async () => {
    docker = await testDocker();
  });

  it('fails on an unreachable Debian mirror, naming PAAS_DEBIAN_MIRROR, and leaves no image or temp dir', async () => {
    const image = 'paas-test/stack:bad-mirror';
    const lines: string[] = [];
    const failure = buildStack(docker, { image, mirror: 'http://127.0.0.1:9/debian', log: (line) => lines.push(line) });
    const rootless = process.getuid?.() !== 0;
    await expect(failure).rejects.toThrow(rootless ? /debootstrap needs root/ : /^debootstrap failed[^]*set PAAS_DEBIAN_MIRROR to a Debian mirror that is/);
    expect(lines[0]).toBe(`-----> Building the stack image ${image} (once; a few minutes)`);
    await expect(docker.getImage(image).inspect()).rejects.toMatchObject({ statusCode: 404 });
    const bases = await docker.listImages({ filters: { label: ['paas.managed=true', 'paas.kind=stack-base'] } });
    expect(bases).toEqual([]);
    expect(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('paas-stack-'))).toEqual([]);
  });

  it('uses an image of that name that paas did not build as it is, and never replaces it', async () => {
    const image = 'paas-test/stack:operators-own';
    const { create } = await import('tar');
    const dir = fs.mkdtempSync(`${os.tmpdir()}/own-stack-`);
    onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(`${dir}/Dockerfile`, `FROM ${IMAGE}\nLABEL paas.managed=false paas.kind=test\n`);
    const stream = await docker.buildImage(create({ cwd: dir }, ['Dockerfile']) as unknown as NodeJS.ReadableStream, { t: image });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
    onCleanup(() => docker.getImage(image).remove().catch(() => undefined));
    const { Id } = await docker.getImage(image).inspect();

    const lines: string[] = [];
    await expect(ensureStack(docker, { image, log: (line) => lines.push(line) })).resolves.toMatchObject({ image, id: Id, built: false });
    await expect(buildStack(docker, { image, force: true, log: (line) => lines.push(line) })).rejects.toThrow(`The image ${image} exists and was not built by paas, so paas does not replace it.`);
    expect(lines).toEqual([]);
    expect((await docker.getImage(image).inspect()).Id).toBe(Id);
  });
});
