// Issue 22: every app and add-on server on the process runtime has a network of its own (as root).
// A hostile app, deployed with a real push beside a victim, each with a Redis add-on, probes with
// TCP connects from its web dyno: its own add-on answers, nothing of the host's or the victim's does.
// Needs root, bubblewrap, iproute2 and nftables (.ci/run installs them and runs as root).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { portListeners, socketHolders } from '../../server/runtime/listeners.js';
import { detectSandbox } from '../../server/sandbox/host.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hostCanRun, root } from '../helpers/host.js';
import { withLockfile } from '../helpers/docker.js';
import { nodeApp } from '../helpers/fixtures.js';
import { cli, gitRepo, type Paas, push, startPaas, viaRouter } from '../helpers/paas.js';

const host = detectSandbox();
const canIsolate = hostCanRun('app networks on the process runtime', { ...root('network namespaces, app uids'), 'bubblewrap that can make namespaces': host.kind === 'bwrap', 'nftables (/usr/sbin/nft)': fs.existsSync('/usr/sbin/nft') });

// Its web dyno answers /probe?t=<JSON [host, port][]> with what a TCP connect to each got: `connected`,
// or the error (refused, timed out: a dropped packet). Its build installs a package from the registry.
const PROBE_SERVER = `
const http = require('http');
const net = require('net');
const pad = require('left-pad');
function connect([host, port]) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r) => { s.destroy(); resolve(r); };
    s.setTimeout(1500, () => done('timeout'));
    s.on('connect', () => done('connected'));
    s.on('error', (e) => done(e.code || e.message));
  });
}
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname !== '/probe') return res.end(pad('ok', 4));
  const targets = JSON.parse(u.searchParams.get('t'));
  res.end(JSON.stringify(await Promise.all(targets.map(connect))));
}).listen(process.env.PORT);
`;

function hostAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('10.213.'))
    .map((a) => a!.address);
}

describe.runIf(canIsolate)('app networks on the process runtime (root)', () => {
  let paas: Paas;
  let hostileRedis: URL;
  let victimRedis: URL;
  let victimDyno: { host: string; port: number };
  let hostileDyno: { host: string; port: number };

  const ok = async (args: string[]) => {
    const r = await cli(paas, args);
    expect(r.code, `${args.join(' ')}:\n${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };

  async function probe(targets: [string, number][]): Promise<string[]> {
    const r = await viaRouter(paas, 'hostile.localhost', `/probe?t=${encodeURIComponent(JSON.stringify(targets))}`);
    expect(r.status, r.body).toBe(200);
    return JSON.parse(r.body) as string[];
  }

  beforeAll(async () => {
    paas = await startPaas({ PAAS_BOOT_TIMEOUT_MS: '30000' });
    const hostileFiles = { ...(await withLockfile({ name: 'hostile', version: '1.0.0', private: true, scripts: { start: 'node server.js' }, dependencies: { 'left-pad': '1.3.0' } })), 'server.js': PROBE_SERVER };
    for (const app of ['hostile', 'victim']) await ok(['apps:create', app]);
    await ok(['addons:create', 'redis', '-a', 'victim']);
    await ok(['addons:create', 'redis', '-a', 'hostile']);
    const [hostilePush, victimPush] = await Promise.all([push(paas, await gitRepo(paas, hostileFiles), 'hostile'), push(paas, await gitRepo(paas, nodeApp('victim')), 'victim')]);
    expect(hostilePush.code, hostilePush.stderr).toBe(0);
    expect(victimPush.code, victimPush.stderr).toBe(0);
    hostileRedis = new URL((await ok(['config:get', 'REDIS_URL', '-a', 'hostile'])).trim());
    victimRedis = new URL((await ok(['config:get', 'REDIS_URL', '-a', 'victim'])).trim());
    const db = new Database(`${paas.dataDir}/paas.db`, { readonly: true, fileMustExist: true });
    try {
      const web = db.prepare("SELECT dynos.host, dynos.port FROM dynos JOIN apps ON apps.id = dynos.app_id WHERE apps.name = ? AND dynos.process_type = 'web'");
      victimDyno = web.get('victim') as { host: string; port: number };
      hostileDyno = web.get('hostile') as { host: string; port: number };
    } finally {
      db.close();
    }
  }, 300_000);

  it('gives each app and add-on server an address of its own, and the build reached the registry from there', async () => {
    for (const address of [hostileRedis.hostname, victimRedis.hostname, victimDyno.host]) expect(address).toMatch(/^10\.213\./);
    expect(new Set([hostileRedis.hostname, victimRedis.hostname, victimDyno.host]).size).toBe(3);
    // left-pad came from the npm registry during the build, in the app's namespace, and the dyno uses it.
    expect((await viaRouter(paas, 'hostile.localhost', '/')).body).toBe('  ok');
    expect((await viaRouter(paas, 'victim.localhost', '/')).body).toContain('victim');
    expect(paas.output()).not.toContain('warning: app networks');
  });

  it('lets an app reach its own add-on and nothing else: not the victim, its add-on, the API or the router', async () => {
    const api = Number(new URL(paas.apiUrl).port);
    const router = paas.routerPort;
    // The host's end of a namespace's veth: the /30's first address, one below the namespace's.
    const hostEnd = (address: string) => address.replace(/\.(\d+)$/, (_, d: string) => `.${Number(d) - 1}`);
    const targets: [string, number][] = [
      [hostileRedis.hostname, Number(hostileRedis.port)],
      [victimRedis.hostname, Number(victimRedis.port)],
      [victimDyno.host, victimDyno.port],
      ['127.0.0.1', api],
      ['127.0.0.1', router],
      ...hostAddresses().flatMap((a): [string, number][] => [[a, api], [a, router]]),
      [hostEnd(hostileDyno.host), api],
      [hostEnd(hostileDyno.host), router],
      [hostEnd(victimDyno.host), api],
    ];
    const results = await probe(targets);
    expect(results[0], 'its own add-on').toBe('connected');
    results.slice(1).forEach((r, i) => expect(r, `${targets[i + 1].join(':')}`).not.toBe('connected'));
    // From the host, paas's own uid reaches the victim's dyno: that is how the router gets there.
    expect((await viaRouter(paas, 'victim.localhost', '/')).status).toBe(200);
  });

  it('puts a one-off run in the same network: its add-on answers, the API does not', async () => {
    const api = Number(new URL(paas.apiUrl).port);
    const script = `const net = require('net'); const c = (h, p) => new Promise((r) => { const s = net.connect({ host: h, port: p }); s.setTimeout(1500, () => (s.destroy(), r('timeout'))); s.on('connect', () => (s.destroy(), r('connected'))); s.on('error', (e) => r(e.code)); });
Promise.all([c(${JSON.stringify(hostileRedis.hostname)}, ${hostileRedis.port}), c('127.0.0.1', ${api}), c(${JSON.stringify(victimDyno.host)}, ${victimDyno.port})]).then((r) => console.log('RUN ' + r.join(' ')));`;
    const r = await cli(paas, ['run', '-a', 'hostile', 'node', '-e', script]);
    const line = `${r.stdout}`.split('\n').find((l) => l.startsWith('RUN '));
    expect(line, `${r.stdout}${r.stderr}`).toBeDefined();
    const [own, apiResult, victim] = line!.slice(4).trim().split(' ');
    expect(own).toBe('connected');
    expect(apiResult).not.toBe('connected');
    expect(victim).not.toBe('connected');
  });

  it('lets an app reach an add-on only while it is attached', async () => {
    const addon = (await ok(['addons', '-a', 'hostile'])).match(/redis-[a-z0-9-]+/)?.[0];
    expect(addon).toBeDefined();
    const target: [string, number] = [hostileRedis.hostname, Number(hostileRedis.port)];
    await ok(['addons:detach', addon!, '-a', 'hostile']);
    await vi.waitFor(async () => expect((await probe([target]))[0]).not.toBe('connected'), { timeout: 30_000, interval: 500 });
    await ok(['addons:attach', addon!, '-a', 'hostile']);
    await vi.waitFor(async () => expect((await probe([target]))[0]).toBe('connected'), { timeout: 30_000, interval: 500 });
  }, 90_000);

  it('takes no host program on its port number for a squatter when the add-on restarts: its port is in its own network', async () => {
    const port = Number(hostileRedis.port);
    // A program of no app's holds the same port number on the host's loopback, where it harms no one.
    const script = `require('net').createServer((c) => c.on('data', (d) => console.log(d.toString('base64')))).listen(${port}, '127.0.0.1', () => console.log('bound'));`;
    const other = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    onCleanup(() => void other.kill('SIGKILL'));
    let heard = '';
    other.stdout.on('data', (c: Buffer) => (heard += c.toString()));
    await vi.waitFor(() => expect(heard).toContain('bound'), { timeout: 5000 });
    // The hostile app's Redis crashes (found by its listener in its own namespace's view of the
    // port) and comes back as another process, which the app reaches as before.
    const redis = () =>
      fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server' && portListeners(port, `/proc/${pid}/net`).some((l) => socketHolders(l.inode).includes(pid));
        } catch {
          return false;
        }
      });
    const [crashed] = redis();
    expect(crashed).toBeGreaterThan(0);
    process.kill(crashed, 'SIGKILL');
    await vi.waitFor(() => expect(redis().filter((pid) => pid !== crashed)).toHaveLength(1), { timeout: 30_000, interval: 250 });
    await vi.waitFor(async () => expect((await probe([[hostileRedis.hostname, port]]))[0]).toBe('connected'), { timeout: 30_000, interval: 250 });
    // Nothing reported, the password kept, the host program left alone and sent nothing.
    expect(paas.output()).not.toMatch(/was held by a program/);
    expect((await ok(['config:get', 'REDIS_URL', '-a', 'hostile'])).trim()).toBe(hostileRedis.href.replace(/\/$/, ''));
    expect(other.exitCode).toBeNull();
    expect(heard.trim()).toBe('bound');
  }, 60_000);

  it('takes the namespaces, veths and rules away when an app is destroyed and when the server stops', async () => {
    const instance = fs.readFileSync(`${paas.dataDir}/instance`, 'utf8').trim();
    const ours = () => fs.readdirSync('/run/netns').filter((n) => n.startsWith(`paas-${instance}-`));
    const owners = () => {
      const db = new Database(`${paas.dataDir}/paas.db`, { readonly: true, fileMustExist: true });
      try {
        return (db.prepare('SELECT owner FROM networks ORDER BY owner').all() as { owner: string }[]).map((r) => r.owner);
      } finally {
        db.close();
      }
    };
    expect(ours()).toHaveLength(4);
    expect(owners()).toContain('app:victim');
    // Destroying an app (and its add-on) takes its networks away at once.
    await ok(['apps:destroy', 'victim', '--confirm', 'victim', '--destroy-addons']);
    expect(ours()).toHaveLength(2);
    expect(owners().filter((o) => o === 'app:victim' || o.startsWith('addon:redis'))).toHaveLength(1);
    await paas.stop();
    expect(fs.readdirSync('/run/netns').filter((n) => n.startsWith(`paas-${instance}-`))).toEqual([]);
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(`paas_${instance}`);
  });

  it('gives the add-on the same address after a restart, so its attached app reaches it as before', async () => {
    paas = await startPaas({ PAAS_DATA_DIR: paas.dataDir, PAAS_API_TOKEN: paas.token, PAAS_BOOT_TIMEOUT_MS: '30000' });
    await vi.waitFor(async () => expect((await viaRouter(paas, 'hostile.localhost', '/')).status).toBe(200), { timeout: 60_000, interval: 250 });
    expect((await ok(['config:get', 'REDIS_URL', '-a', 'hostile'])).trim()).toBe(hostileRedis.href.replace(/\/$/, ''));
    expect((await probe([[hostileRedis.hostname, Number(hostileRedis.port)]]))[0]).toBe('connected');
  }, 120_000);
});
