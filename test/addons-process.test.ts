// Add-ons on the process runtime (issue 14): real PostgreSQL and Redis servers in bubblewrap under
// their own uids, through the shared contract, and what only this runtime can show (its processes'
// argv, its directories' owners and modes, a clean shutdown on disk).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ProcessAddons } from '../server/addons/process/index.js';
import type { AddonInstance, AddonState } from '../server/addons/types.js';
import { detectSandbox } from '../server/sandbox/host.js';
import { addonContract, redis, sql, tempDir } from './addons/contract.js';
import { onCleanup } from './helpers/cleanup.js';
import { asRoot, hostCanRun, root } from './helpers/host.js';

const run = promisify(execFile);
const ownUids = hostCanRun('add-on servers under uids of their own', root('add-on uids'));
let uids = 390001 + (process.pid % 1000) * 10;

function procStatus(pid: number): { uid: number; ppid: number; name: string; state: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(text)?.[1] ?? '';
    return { uid: Number(field('Uid')), ppid: Number(field('PPid')), name: field('Name'), state: field('State') };
  } catch {
    return undefined;
  }
}

/** Whether a process's argv names `port` as the port it listens on (PostgreSQL's `-c port=N`, Redis's `--port N` or its `host:N` title). */
function argvNamesPort(pid: number, port: number): boolean {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    return args.some((a, i) => a === `port=${port}` || a.endsWith(`:${port}`) || (a === '--port' && args[i + 1] === String(port)));
  } catch {
    return false;
  }
}

/**
 * The pids of an add-on's server processes: those named like the server, under its uid as root.
 * Not as root every add-on's server runs under our uid (as do those of other test files), so they
 * are the server whose argv names the add-on's port and its children (PostgreSQL's backends).
 */
function serverPids(instance: AddonInstance): number[] {
  const name = instance.service === 'postgresql' ? 'postgres' : 'redis-server';
  const servers = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => ({ pid: Number(d), st: procStatus(Number(d)) }))
    // A process of the server stopped before, exited and not yet reaped (a zombie), is none of it.
    .filter(({ st }) => st !== undefined && st.state !== 'Z' && st.uid === (asRoot ? instance.uid : process.getuid!()) && st.name === name);
  if (asRoot) return servers.map(({ pid }) => pid);
  const mains = servers.filter(({ pid }) => argvNamesPort(pid, instance.port)).map(({ pid }) => pid);
  return servers.filter(({ pid, st }) => mains.includes(pid) || mains.includes(st!.ppid)).map(({ pid }) => pid);
}

/** The main server process: the one whose parent is not a server process too. */
function mainPid(instance: AddonInstance): number {
  const pids = serverPids(instance);
  const main = pids.filter((pid) => !pids.includes(procStatus(pid)?.ppid ?? -1));
  if (main.length !== 1) throw new Error(`expected one ${instance.service} server for ${instance.name}, found ${main.length}`);
  return main[0];
}

function makeSubject(dir: string) {
  const logs: string[] = [];
  const states: { name: string; state: AddonState }[] = [];
  const services = new ProcessAddons({
    dir,
    sandbox: detectSandbox(),
    events: { log: (name, line) => logs.push(`${name}: ${line}`), state: (name, state) => states.push({ name, state }) },
  });
  onCleanup(() => services.stopAll());
  return { services, logs, states };
}

addonContract('process runtime', async () => {
  const root = tempDir('addons-contract-');
  const subject = makeSubject(path.join(root, 'addons'));
  const backupDir = path.join(root, 'backups');
  fs.mkdirSync(backupDir);
  return {
    ...subject,
    backupDir,
    nextUid: () => uids++,
    // Right after a stop and a start, the old server's last process may still be on its way out.
    kill: async (instance) => void process.kill(await vi.waitFor(() => mainPid(instance), { timeout: 5000, interval: 50 }), 'SIGKILL'),
  };
});

describe('add-ons on the process runtime', () => {
  let root: string;
  let subject: ReturnType<typeof makeSubject>;
  let pg: AddonInstance;
  let rd: AddonInstance;
  const times: Record<string, number> = {};

  beforeAll(async () => {
    root = tempDir('addons-process-');
    subject = makeSubject(path.join(root, 'addons'));
    let t = performance.now();
    pg = await subject.services.provision({ name: 'pg-proc', service: 'postgresql', uid: uids++ });
    times.postgresql = performance.now() - t;
    t = performance.now();
    rd = await subject.services.provision({ name: 'redis-proc', service: 'redis', uid: uids++ });
    times.redis = performance.now() - t;
    console.log(`provisioned PostgreSQL in ${Math.round(times.postgresql)} ms, Redis in ${Math.round(times.redis)} ms`);
  });

  // The speed goal (under 2 s) is for bench:addons on a quiet machine; here other suites share the
  // cores, so this only catches a wait gone wrong (a fixed sleep, a readiness check that never answers).
  it('provisions without waiting on anything but the servers', () => {
    expect(times.postgresql).toBeLessThan(10_000);
    expect(times.redis).toBeLessThan(5_000);
  });

  it("starts PostgreSQL without a FATAL line in its log: paas reads its readiness, it sends no probe to refuse", () => {
    const pgLines = subject.logs.filter((l) => l.startsWith(`${pg.name}: `));
    expect(pgLines.join('\n')).toContain('ready to accept connections');
    expect(pgLines.filter((l) => /FATAL/.test(l))).toEqual([]);
  });

  it('provisions the next PostgreSQL add-on from a template of paas own, faster', async () => {
    const t = performance.now();
    const second = await subject.services.provision({ name: 'pg-second', service: 'postgresql', uid: uids++ });
    const ms = performance.now() - t;
    console.log(`provisioned a second PostgreSQL (from the template) in ${Math.round(ms)} ms`);
    try {
      expect(ms).toBeLessThan(10_000);
      await sql(subject.services, second, 'CREATE TABLE x (n int)');
      // Its own role only: the first add-on's password does not open it.
      await expect(sql(subject.services, { ...second, user: pg.user, password: pg.password }, 'SELECT 1')).rejects.toThrow(/authentication failed|no pg_hba/);
      const template = fs.readdirSync(path.join(root, 'addons')).find((d) => d.startsWith('.pg-template-'));
      expect(template).toBeDefined();
      const st = fs.statSync(path.join(root, 'addons', template!));
      expect(st.uid).toBe(process.getuid!());
      expect(st.mode & 0o777).toBe(0o700);
    } finally {
      await subject.services.destroy(second);
    }
  });

  it('refuses a name that already has data, and leaves that data alone', async () => {
    await expect(subject.services.provision({ name: pg.name, service: 'redis', uid: uids++ })).rejects.toThrow(/already has data/);
    expect(fs.existsSync(path.join(root, 'addons', pg.name, 'data', 'PG_VERSION'))).toBe(true);
    expect(await sql(subject.services, pg, 'SELECT 1')).toBe('1');
  });

  it('fails to start an add-on whose data is gone, saying so, and leaves nothing running', async () => {
    const gone = await subject.services.provision({ name: 'redis-gone', service: 'redis', uid: uids++ });
    await subject.services.stop(gone.name);
    fs.rmSync(path.join(root, 'addons', gone.name), { recursive: true, force: true });
    await expect(subject.services.start(gone)).rejects.toThrow(/exited while starting/);
    expect(serverPids(gone)).toEqual([]);
    await subject.services.stop(gone.name); // nothing to stop: resolves
  });

  it('puts no password in any server process argv', () => {
    const pids = [...serverPids(pg), ...serverPids(rd)];
    expect(pids.length).toBeGreaterThan(1);
    for (const pid of pids) {
      let cmdline: string;
      try {
        cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // a backend that ended meanwhile
      }
      expect(cmdline).not.toContain(pg.password);
      expect(cmdline).not.toContain(rd.password);
    }
  });

  it.runIf(ownUids)('runs each server under its own uid, its data dir 0700 and closed to other uids', async () => {
    for (const instance of [pg, rd]) {
      for (const pid of serverPids(instance)) expect(procStatus(pid)?.uid).toBe(instance.uid);
      const dir = path.join(root, 'addons', instance.name);
      const st = fs.statSync(dir);
      expect(st.uid).toBe(instance.uid);
      expect(st.mode & 0o777).toBe(0o700);
      // Another unprivileged uid (an app's dyno) can read none of it.
      const file = instance.service === 'postgresql' ? path.join(dir, 'data', 'PG_VERSION') : path.join(dir, 'redis.conf');
      const other = uids++;
      await expect(run('setpriv', [`--reuid=${other}`, `--regid=${other}`, '--clear-groups', 'cat', file])).rejects.toThrow(/Permission denied/);
    }
  });

  it('stops cleanly with stopAll: PostgreSQL needs no recovery, Redis saved its AOF', async () => {
    await sql(subject.services, pg, 'CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2), (3)');
    await redis(subject.services, rd, ['SET', 'k', 'v']);
    await subject.services.stopAll();
    expect(serverPids(pg)).toEqual([]);
    expect(serverPids(rd)).toEqual([]);
    const { stdout } = await run(path.join(path.dirname(fs.realpathSync('/usr/lib/postgresql/15/bin/postgres')), 'pg_controldata'), [path.join(root, 'addons', pg.name, 'data')], { env: { ...process.env, LANG: 'C' } });
    expect(stdout).toMatch(/Database cluster state:\s+shut down$/m);
    const aof = path.join(root, 'addons', rd.name, 'data', 'appendonlydir');
    expect(fs.readdirSync(aof).some((f) => f.endsWith('.aof'))).toBe(true);
    await Promise.all([subject.services.start(pg), subject.services.start(rd)]);
    expect(await sql(subject.services, pg, 'SELECT count(*) FROM t')).toBe('3');
    expect(await redis(subject.services, rd, ['GET', 'k'])).toEqual(['v']);
    const all = subject.logs.join('\n');
    expect(all).not.toContain(pg.password);
    expect(all).not.toContain(rd.password);
  });
});

describe.runIf(ownUids)('add-ons without bubblewrap, as root', () => {
  it('refuses PostgreSQL, whose uid has no account on the host, saying what to do', async () => {
    const dir = path.join(tempDir('addons-none-'), 'addons');
    const services = new ProcessAddons({ dir, sandbox: { ...detectSandbox(), kind: 'none', overlay: false }, events: { log: () => undefined, state: () => undefined } });
    await expect(services.provision({ name: 'pg-none', service: 'postgresql', uid: uids++ })).rejects.toThrow(/need bubblewrap.*install bubblewrap/);
    expect(fs.existsSync(path.join(dir, 'pg-none'))).toBe(false);
  });
});
