// Apps apart on the docker runtime (issue 22), against the real engine: each app's dynos on a
// network of their own, add-ons on the networks of the apps attached, nothing of the host reachable
// through a network's gateway; and a dyno's limits (processes, memory, /tmp, /app writes) stop it
// there, R15 in its log for memory, while another app keeps answering. A hostile app does all of it
// from its own web dyno, asked through the router; one server with small limits, two pushes.
import fs from 'node:fs';
import net from 'node:net';
import type Docker from 'dockerode';
import { beforeAll, expect, it, vi } from 'vitest';
import { instanceId, LABELS } from '../../server/docker/engine.js';
import { dockerSuite, dockerTestEnv, removeWhenDone, STACK_IMAGE, testDocker } from '../helpers/docker.js';
import { onCleanup } from '../helpers/cleanup.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';
import { paasRun } from '../helpers/run.js';

const VICTIM = 'iso-victim';
const HOSTILE = 'iso-hostile';
const BOMB = 'iso-bomb';
const MB = 1024 ** 2;

/** The hostile app: a web dyno that, asked through the router, connects where it is told, forks, allocates and writes. */
const HOSTILE_SERVER = `
const http = require('http'), net = require('net'), fs = require('fs'), { spawn } = require('child_process');
const probe = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port) });
  s.setTimeout(3000, () => { s.destroy(); resolve('timeout'); });
  s.on('connect', () => { s.destroy(); resolve('connected'); });
  s.on('error', (e) => resolve('error:' + e.code));
});
const held = [];
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/probe') return res.end(await probe(u.searchParams.get('host'), u.searchParams.get('port')));
  if (u.pathname === '/fork') {
    const kids = [];
    for (let i = 0; i < 5000; i++) {
      const c = spawn('sleep', ['60']);
      c.on('error', () => undefined);
      if (c.pid === undefined) break;
      kids.push(c);
    }
    for (const c of kids) c.kill('SIGKILL');
    return res.end(String(kids.length));
  }
  if (u.pathname === '/alloc') {
    res.end('allocating');
    for (let i = 0; i < 64; i++) { held.push(Buffer.alloc(64 * 1024 * 1024, 1)); await new Promise((r) => setImmediate(r)); }
    return;
  }
  if (u.pathname === '/fill-app') {
    res.end('filling');
    const fd = fs.openSync('/app/fill', 'w'), chunk = Buffer.alloc(1024 * 1024, 1);
    // Synced as it goes: unwritten page cache counts as the dyno's memory, and a loaded disk would let the memory limit stop it first.
    for (let i = 0; i < 2048; i++) { fs.writeSync(fd, chunk); fs.fsyncSync(fd); if (i % 16 === 0) await new Promise((r) => setImmediate(r)); }
    return;
  }
  res.end(JSON.stringify({ dyno: process.env.DYNO }));
}).listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));
`;

const files = (server: string): Record<string, string> => ({
  'package.json': JSON.stringify({ name: 'iso', version: '1.0.0', scripts: { start: 'node server.js' } }),
  'package-lock.json': JSON.stringify({ name: 'iso', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'iso', version: '1.0.0' } } }),
  'server.js': server,
});

dockerSuite('apps apart and dynos at their limits (docker runtime)', () => {
  let paas: Paas;
  let docker: Docker;
  let instance: string;

  async function ok(args: string[]): Promise<string> {
    const r = await cli(paas, args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }
  const config = async (app: string) => (await apiCall(paas, 'GET', `/v1/apps/${app}/config`)).json as Record<string, string>;
  /** The app's web.1 container, as the engine shows it. */
  async function web(app: string): Promise<Docker.ContainerInspectInfo> {
    const [c] = await docker.listContainers({ filters: { label: [`${LABELS.instance}=${instance}`, `${LABELS.app}=${app}`, `${LABELS.dyno}=web.1`] } });
    expect(c, `${app} has a running web.1`).toBeDefined();
    return docker.getContainer(c.Id).inspect();
  }
  const probe = async (host: string, port: number | string) => (await viaRouter(paas, `${HOSTILE}.localhost`, `/probe?host=${encodeURIComponent(host)}&port=${port}`)).body;
  const logs = async (app: string) => (await cli(paas, ['logs', '-a', app, '-n', '500'])).stdout;
  const answers = async (app: string) => expect((await viaRouter(paas, `${app}.localhost`)).status).toBe(200);

  beforeAll(async () => {
    docker = await testDocker();
    // Small limits, so each is reached in seconds: every dyno of the server gets them.
    paas = await startPaas({ ...dockerTestEnv(), PAAS_DYNO_MEMORY: '128m', PAAS_DYNO_PIDS: '64', PAAS_DYNO_DISK: '64m', PAAS_BUILD_PIDS: '128' });
    instance = instanceId(paas.dataDir);
    await removeWhenDone(paas, [VICTIM, HOSTILE, BOMB]);
    for (const app of [VICTIM, HOSTILE]) await createApp(paas, app);
    // A per-app override, set before the first release.
    await ok(['config:set', 'PAAS_DYNO_CPU_SHARES=512', '-a', HOSTILE]);
    for (const app of [VICTIM, HOSTILE]) {
      // The same code for both: only the hostile app is asked to misbehave.
      const pushed = await push(paas, await gitRepo(paas, files(HOSTILE_SERVER)), app);
      expect(pushed.code, pushed.stderr).toBe(0);
      await ok(['addons:create', 'redis', '-a', app]);
    }
  }, 900_000);

  it('puts each app on a network of its own, labelled as this server\'s, with its add-on on it too', async () => {
    for (const app of [VICTIM, HOSTILE]) {
      const info = await web(app);
      const network = `paas-${instance}-${app}`;
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([network]);
      const labels = (await docker.getNetwork(network).inspect()).Labels;
      expect(labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.instance]: instance, [LABELS.app]: app });
      const redis = new URL((await config(app)).REDIS_URL).hostname;
      const addon = await docker.getContainer(redis).inspect();
      expect(Object.keys(addon.NetworkSettings.Networks).sort()).toEqual([`paas-${instance}`, network].sort());
    }
  });

  it('lets a hostile app reach its own add-on, and nothing of another app nor of the host', async () => {
    const own = new URL((await config(HOSTILE)).REDIS_URL);
    expect(await probe(own.hostname, own.port)).toBe('connected');

    const victim = await web(VICTIM);
    const port = Number(Object.keys(victim.Config.ExposedPorts ?? {})[0].split('/')[0]);
    const victimIp = victim.NetworkSettings.Networks[`paas-${instance}-${VICTIM}`].IPAddress;
    // The victim's dyno answers on that address and port from the host: what refuses the hostile app is the isolation.
    await new Promise<void>((resolve, reject) => net.connect({ host: victimIp, port }, function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));
    expect(await probe(victimIp, port)).not.toBe('connected');
    expect(await probe(victim.Name.replace(/^\//, ''), port)).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(await probe('127.0.0.1', port)).not.toBe('connected');

    const theirs = new URL((await config(VICTIM)).REDIS_URL);
    expect(await probe(theirs.hostname, theirs.port)).toMatch(/ENOTFOUND|EAI_AGAIN/);
    const addon = await docker.getContainer(theirs.hostname).inspect();
    for (const network of Object.values(addon.NetworkSettings.Networks)) expect(await probe(network.IPAddress, theirs.port)).not.toBe('connected');

    // The host through the network's gateway: a listener of this test there, and the API's port.
    const gateway = ((await docker.getNetwork(`paas-${instance}-${HOSTILE}`).inspect()) as { IPAM: { Config: { Gateway: string }[] } }).IPAM.Config[0].Gateway;
    const listener = net.createServer((s) => s.on('error', () => undefined).end('host\n'));
    await new Promise<void>((resolve) => listener.listen(0, gateway, resolve));
    onCleanup(() => new Promise<void>((resolve) => listener.close(() => resolve())));
    const hostPort = (listener.address() as net.AddressInfo).port;
    await new Promise<void>((resolve, reject) => net.connect({ host: gateway, port: hostPort }, function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));
    expect(await probe(gateway, hostPort)).not.toBe('connected');
    expect(await probe(gateway, new URL(paas.apiUrl).port)).not.toBe('connected');
    await answers(VICTIM);
  });

  it('gives each dyno its limits, an app\'s config overriding the server\'s', async () => {
    const hostile = (await web(HOSTILE)).HostConfig;
    expect(hostile).toMatchObject({ Memory: 128 * MB, MemorySwap: 128 * MB, PidsLimit: 64, CpuShares: 512 });
    expect(hostile.Tmpfs?.['/tmp']).toContain(`size=${64 * MB}`);
    expect((await web(VICTIM)).HostConfig.CpuShares).toBe(1024);
  });

  it('stops a fork bomb at the dyno\'s process limit', async () => {
    const forked = Number((await viaRouter(paas, `${HOSTILE}.localhost`, '/fork')).body);
    expect(forked).toBeGreaterThan(0);
    expect(forked).toBeLessThan(64);
    await answers(VICTIM);
  });

  it('refuses /tmp writes past the disk limit', async () => {
    const r = await paasRun(paas, HOSTILE, ['sh', '-c', 'dd if=/dev/zero of=/tmp/big bs=1M count=2048 2>&1; stat -c %s /tmp/big']);
    expect(r.stdout).toMatch(/No space left on device/);
    expect(Number(r.stdout.trim().split('\n').at(-1))).toBeLessThanOrEqual(64 * MB);
    await answers(VICTIM);
  });

  it('kills a dyno over its memory with R15 in its log, and restarts it', async () => {
    const before = (await web(HOSTILE)).Id;
    expect((await viaRouter(paas, `${HOSTILE}.localhost`, '/alloc')).body).toBe('allocating');
    await vi.waitFor(async () => expect(await logs(HOSTILE)).toMatch(/paas\[web\.1\]: Error R15 \(Memory quota vastly exceeded\)/), { timeout: 60_000, interval: 500 });
    await vi.waitFor(async () => expect((await web(HOSTILE)).Id).not.toBe(before), { timeout: 60_000, interval: 500 });
    await vi.waitFor(() => answers(HOSTILE), { timeout: 60_000, interval: 500 });
    await answers(VICTIM);
  }, 180_000);

  it('stops a dyno that writes past its disk limit under /app, says why, and restarts it', async () => {
    const before = (await web(HOSTILE)).Id;
    expect((await viaRouter(paas, `${HOSTILE}.localhost`, '/fill-app')).body).toBe('filling');
    await vi.waitFor(async () => expect(await logs(HOSTILE)).toMatch(/paas\[web\.1\]: Process stopped: it wrote .* over its disk limit of 64 MB \(PAAS_DYNO_DISK\)/), { timeout: 60_000, interval: 500 });
    await vi.waitFor(async () => expect((await web(HOSTILE)).Id).not.toBe(before), { timeout: 60_000, interval: 500 });
    await vi.waitFor(() => answers(HOSTILE), { timeout: 60_000, interval: 500 });
    await answers(VICTIM);
  }, 180_000);

  it('stops a fork bomb in a build at the build\'s process limit, and leaves no cgroup behind', async () => {
    await createApp(paas, BOMB);
    // The step fails, so it leaves no layer behind to be taken from the cache next time.
    const dockerfile = `FROM ${STACK_IMAGE}\nRUN n=0; for i in $(seq 5000); do (sleep 30 &) 2>/dev/null && n=$((n+1)) || break; done; echo "forked $n"; exit 1\n`;
    const pushed = await push(paas, await gitRepo(paas, { Dockerfile: dockerfile }), BOMB);
    expect(pushed.code).not.toBe(0);
    const forked = Number(/forked (\d+)/.exec(pushed.stderr)?.[1]);
    expect(forked, pushed.stderr).toBeGreaterThan(0);
    expect(forked).toBeLessThan(128);
    expect(fs.readdirSync('/sys/fs/cgroup/pids').filter((d) => d.startsWith(`paas-build-${instance}`))).toEqual([]);
    await answers(VICTIM);
  }, 300_000);

  it('removes an app\'s network when the app is destroyed, its add-on kept and taken off it', async () => {
    const redis = new URL((await config(VICTIM)).REDIS_URL).hostname;
    await ok(['apps:destroy', VICTIM, '--confirm', VICTIM]);
    const left = await docker.listNetworks({ filters: { label: [`${LABELS.instance}=${instance}`] } });
    expect(left.map((n) => n.Name).sort()).toEqual([`paas-${instance}`, `paas-${instance}-${HOSTILE}`].sort());
    expect(Object.keys((await docker.getContainer(redis).inspect()).NetworkSettings.Networks)).toEqual([`paas-${instance}`]);
  });
  it('at start puts each add-on back on the networks of its apps and removes the networks of apps that are gone', async () => {
    const network = `paas-${instance}-${HOSTILE}`;
    const redis = new URL((await config(HOSTILE)).REDIS_URL).hostname;
    const dyno = (await web(HOSTILE)).Id;
    await paas.stop();
    // What a server that died mid-change may leave: an add-on off its app's network, the network of an app destroyed meanwhile.
    await docker.getNetwork(network).disconnect({ Container: redis, Force: true });
    const gone = `paas-${instance}-iso-gone`;
    await docker.createNetwork({ Name: gone, Labels: { [LABELS.managed]: 'true', [LABELS.instance]: instance, [LABELS.kind]: 'network', [LABELS.app]: 'iso-gone' } });
    const again = await startPaas({ ...dockerTestEnv(), PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token });
    await removeWhenDone(again, [HOSTILE]);
    paas = again;
    await vi.waitFor(async () => expect(Object.keys((await docker.getContainer(redis).inspect()).NetworkSettings.Networks).sort()).toEqual([`paas-${instance}`, network].sort()), { timeout: 30_000 });
    await vi.waitFor(async () => expect((await docker.listNetworks({ filters: { name: [gone] } })).filter((n) => n.Name === gone)).toEqual([]), { timeout: 30_000 });
    // The dyno on its own network is adopted as it is, and reaches its add-on again.
    await vi.waitFor(() => answers(HOSTILE), { timeout: 30_000 });
    expect((await web(HOSTILE)).Id).toBe(dyno);
    const own = new URL((await config(HOSTILE)).REDIS_URL);
    expect(await probe(own.hostname, own.port)).toBe('connected');
  }, 120_000);
});
