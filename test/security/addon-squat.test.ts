// The attack of issue 22 on an add-on, as a test: a hostile app loops binding the loopback port of
// another app's Redis add-on; the add-on is killed from outside and the hostile app takes its port.
// paas must send the squatter no password (its own probes use the add-on's unix socket), say who
// it was in the server log and the hostile app's log, stop it, bring the add-on back on its port,
// and renew the password, handing the new URL to the app it is attached to in a new release.
// As root with bubblewrap; PAAS_APP_NETWORKS=off keeps every app on the host's loopback (the
// fallback this guards), whatever the default is.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { redisCommands } from '../../server/addons/process/resp.js';
import { portListeners, socketHolders } from '../../server/runtime/listeners.js';
import { detectSandbox } from '../../server/sandbox/host.js';
import { onCleanup } from '../helpers/cleanup.js';
import { hostCanRun, root } from '../helpers/host.js';
import { apiCall, cli, createApp, gitRepo, type Paas, push, sh, startPaas } from '../helpers/paas.js';

const host = detectSandbox();
const canSandbox = hostCanRun('a hostile app squatting an add-on port', { ...root('app and add-on uids'), 'bubblewrap that can make namespaces': host.kind === 'bwrap', 'redis-server': fs.existsSync('/usr/bin/redis-server') });

/** Binds SQUAT_PORT whenever it can (every millisecond) and prints, base64, whatever it receives there. */
const squatter: Record<string, string> = {
  Procfile: 'web: exec node server.js\n',
  'server.js': `const net = require('net');
const port = Number(process.env.SQUAT_PORT || 0);
function squat() {
  const s = net.createServer((c) => c.on('data', (d) => console.log('squat got ' + d.toString('base64'))));
  s.on('error', () => setTimeout(squat, 1));
  s.listen(port, '127.0.0.1', () => console.log('squat bound ' + port));
}
if (port) squat();
require('http').createServer((q, r) => r.end('ok')).listen(process.env.PORT);
`,
};

let paas: Paas;
const redisUrl = async () => new URL((await apiCall(paas, 'GET', '/v1/apps/sq-victim/config')).json.REDIS_URL as string);
const logsOf = async (app: string) => (await cli(paas, ['logs', '-a', app, '-n', '1000'])).stdout;

beforeAll(async () => {
  paas = await startPaas({ PAAS_APP_NETWORKS: 'off' });
});

/** Holds `port` as uid nobody (a host program, no app's) whenever it can, keeping what it receives. */
function stranger(port: number): { pid: number; received: () => string; stop: () => void } {
  const script = `const s = require('net').createServer((c) => c.on('data', (d) => console.log(d.toString('base64'))));
s.on('error', () => setTimeout(() => s.listen(${port}, '127.0.0.1'), 1));
s.listen(${port}, '127.0.0.1', () => console.log('bound'));`;
  const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
  onCleanup(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const received = () => out.split('\n').filter((l) => l && l !== 'bound').map((l) => Buffer.from(l, 'base64').toString('latin1')).join('');
  return { pid: child.pid!, received, stop: () => child.kill('SIGKILL') };
}

/** Kills the add-on's own server (the listener of its uid on `port`), as a crash from outside would. */
function crash(port: number, addonUid: number): void {
  for (const l of portListeners(port, '/proc/net').filter((x) => x.uid === addonUid)) for (const pid of socketHolders(l.inode)) process.kill(pid, 'SIGKILL');
}

/** A squatter of no app's holds the port through the add-on's restarts, then lets go: returns the URLs before and after. */
async function squatByStranger(app: string, service: string, as: string): Promise<{ before: URL; after: URL; received: string }> {
  await createApp(paas, app);
  const created = await cli(paas, ['addons:create', service, '-a', app]);
  expect(created.code, created.stderr).toBe(0);
  const url = async () => new URL((await apiCall(paas, 'GET', `/v1/apps/${app}/config`)).json[`${as}_URL`] as string);
  const before = await url();
  const port = Number(before.port);
  const addonUid = portListeners(port, '/proc/net')[0].uid;
  const squatter = stranger(port);
  // The add-on restarts at once after a first crash: the squatter may lose a race or two.
  const report = new RegExp(`its port ${port} was held by a program that is no app's \\(uid 65534, pid ${squatter.pid}\\): paas leaves it alone`);
  for (let attempt = 0; attempt < 8 && !report.test(paas.output()); attempt++) {
    crash(port, addonUid);
    await vi.waitFor(() => expect(paas.output()).toMatch(report), { timeout: 4000, interval: 50 }).catch(() => undefined);
  }
  expect(paas.output()).toMatch(report);
  squatter.stop();
  let after = before;
  // Each crash and each start the squatter foiled lengthens the restart backoff (1 s, 2 s, 4 s …):
  // on a loaded machine the squatter wins more races, and the next start can be a minute or two off.
  await vi
    .waitFor(async () => {
      after = await url();
      expect(after.password).not.toBe(before.password);
    }, { timeout: 150_000, interval: 500 })
    .catch((err: Error) => {
      // What the server said of its add-ons, to tell a restart that never came from one that failed.
      const said = paas.output().split('\n').filter((l) => l.includes('addon[')).slice(-40).join('\n');
      throw new Error(`${err.message}\nThe server's add-on lines:\n${said}`);
    });
  return { before, after, received: squatter.received() };
}

describe.runIf(canSandbox)('a hostile app squatting an add-on port while it restarts', () => {
  it('gets no password, is named and stopped, and the password is renewed for the attached app', { timeout: 240_000 }, async () => {
    await createApp(paas, 'sq-victim');
    const created = await cli(paas, ['addons:create', 'redis', '-a', 'sq-victim']);
    expect(created.code, created.stderr).toBe(0);
    const before = await redisUrl();
    const port = Number(before.port);
    const oldPassword = decodeURIComponent(before.password);

    await createApp(paas, 'sq-hostile');
    expect((await cli(paas, ['config:set', `SQUAT_PORT=${port}`, '-a', 'sq-hostile'])).code).toBe(0);
    const pushed = await push(paas, await gitRepo(paas, squatter), 'sq-hostile');
    expect(pushed.code, pushed.stderr).toBe(0);

    // Kill the add-on's server until the hostile app is seen holding its port (the add-on restarts
    // at once after a first crash, so the squatter may lose a race or two).
    const addonUid = portListeners(port, '/proc/net')[0].uid;
    const reported = () => /its port \d+ was held by a process of the app sq-hostile/.test(paas.output());
    let squatted = false;
    for (let attempt = 0; attempt < 8 && !squatted; attempt++) {
      // Only the add-on's own listener is killed (by the test, as root: a crash from outside).
      for (const l of portListeners(port, '/proc/net').filter((x) => x.uid === addonUid)) for (const pid of socketHolders(l.inode)) process.kill(pid, 'SIGKILL');
      squatted = await vi.waitFor(() => expect(reported()).toBe(true), { timeout: 4000, interval: 50 }).then(() => true, () => false);
    }
    expect(squatted, 'the hostile app never took the port').toBe(true);

    // Named in the server log and in the hostile app's own log, and stopped.
    await vi.waitFor(() => expect(paas.output()).toMatch(new RegExp(`its port ${port} was held by a process of the app sq-hostile \\(uid \\d+, pid [\\d, ]+\\): paas stopped it`)), { timeout: 30_000, interval: 100 });
    await vi.waitFor(async () => expect(await logsOf('sq-hostile')).toMatch(new RegExp(`held port ${port}, the port of the add-on redis-[\\w-]+, while it restarted; paas stopped it`)), { timeout: 10_000, interval: 200 });

    // The add-on is back on its port, under its own uid, with a new password the victim's config has.
    let after = before;
    await vi.waitFor(async () => {
      after = await redisUrl();
      expect(decodeURIComponent(after.password)).not.toBe(oldPassword);
    }, { timeout: 60_000, interval: 250 });
    expect(Number(after.port)).toBe(port);
    const fresh = await redisCommands(port, [['AUTH', decodeURIComponent(after.password)], ['PING']], 5000);
    expect(fresh).toEqual(['OK', 'PONG']);
    const stale = await redisCommands(port, [['AUTH', oldPassword], ['PING']], 5000);
    expect(String(stale[0])).toMatch(/WRONGPASS|invalid/);
    const releases = (await apiCall(paas, 'GET', '/v1/apps/sq-victim/releases')).json as { description: string }[];
    expect(releases.map((r) => r.description).join('\n')).toMatch(/Renew REDIS_URL \(redis-[\w-]+\): its password may have reached another program/);

    // Whatever the squatter received, no password was in it: paas's own probes used the socket.
    const got = (await logsOf('sq-hostile')).split('\n').filter((l) => l.includes('squat got ')).map((l) => Buffer.from(l.split('squat got ')[1], 'base64').toString('latin1'));
    for (const data of got) {
      expect(data).not.toContain(oldPassword);
      expect(data).not.toContain(decodeURIComponent(after.password));
    }
    expect(paas.output()).not.toContain(oldPassword);
  });

  it("leaves a squatter that is no app's alone, sends it no password either, and comes back once it is gone", { timeout: 240_000 }, async () => {
    const { before, after, received } = await squatByStranger('sq-other', 'redis', 'REDIS');
    const port = Number(after.port);
    expect(await redisCommands(port, [['AUTH', decodeURIComponent(after.password)], ['PING']], 2000)).toEqual(['OK', 'PONG']);
    expect(received).not.toContain(decodeURIComponent(before.password));
    expect(received).not.toContain('AUTH');
  });

  it('renews a PostgreSQL add-on\'s password the same way: the new one logs in, the old one no longer does', { timeout: 240_000 }, async () => {
    const { before, after, received } = await squatByStranger('sq-pg', 'postgresql', 'DATABASE');
    expect(received).not.toContain(decodeURIComponent(before.password));
    const psql = (url: URL) => sh('psql', [url.toString(), '-Atqc', 'SELECT 1'], { env: { ...process.env, PGCONNECT_TIMEOUT: '5' } });
    await vi.waitFor(async () => expect((await psql(after)).stdout.trim()).toBe('1'), { timeout: 30_000, interval: 500 });
    const old = await psql(before);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toContain('password authentication failed');
  });
});
