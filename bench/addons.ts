// bench:addons — from `paas addons:create postgresql` to the app's first successful query through
// the router, and the same for Redis (a first INCR), next to the floor measured by hand in the same
// run: `initdb` + `pg_ctl start -w` for PostgreSQL, `redis-server` until it answers PING for Redis.
// Also the memory each idle add-on holds (PSS of its processes), next to a hand-started server
// with Debian's default settings. Goals (issue 14): within 1.5× the floor, and PostgreSQL under 2 s.
// Loopback only; every wait bounded. Rounds: BENCH_ROUNDS (default 3). BENCH_RUNTIME=docker for Docker.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { addonApp } from '../test/helpers/addon-app.js';
import { dockerTestEnv, removeInstance } from '../test/helpers/docker.js';
import { cli, createApp, gitRepo, type Paas, push, sh, startPaas, tempDir, viaRouter } from '../test/helpers/paas.js';
import { connectDocker, instanceId } from '../server/docker/engine.js';

const ROUNDS = Math.max(1, Math.min(10, Number(process.env.BENCH_ROUNDS) || 3));
const LIMIT_MS = 60_000;
const DOCKER = process.env.BENCH_RUNTIME === 'docker';
/** The floor's servers run as this unprivileged uid (root may not run PostgreSQL). */
const FLOOR_UID = 65534;

const pgBin = (tool: string): string => {
  const base = '/usr/lib/postgresql';
  const version = fs.readdirSync(base).sort((a, b) => Number(b) - Number(a))[0];
  return path.join(base, version, 'bin', tool);
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Runs argv as the floor's uid; throws with its output unless it exits 0. */
async function asFloor(argv: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await sh('setpriv', [`--reuid=${FLOOR_UID}`, `--regid=${FLOOR_UID}`, '--clear-groups', ...argv], { env: { PATH: process.env.PATH!, ...env } });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed:\n${r.stdout}${r.stderr}`);
}

/** The floor for PostgreSQL: initdb and pg_ctl start -w, by hand. Returns ms and a stop function. */
async function pgByHand(): Promise<{ ms: number; pids: () => number[]; stop: () => Promise<void> }> {
  const dir = tempDir('bench-pg-');
  fs.chownSync(dir, FLOOR_UID, FLOOR_UID);
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, randomBytes(18).toString('base64url'), { mode: 0o600 });
  fs.chownSync(pw, FLOOR_UID, FLOOR_UID);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const t0 = performance.now();
  await asFloor([pgBin('initdb'), '-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pw}`]);
  await asFloor([pgBin('pg_ctl'), '-D', data, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir}`, '-l', path.join(dir, 'log'), '-w', 'start']);
  const ms = performance.now() - t0;
  return {
    ms,
    pids: () => pidsOf(data),
    stop: async () => {
      await asFloor([pgBin('pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The floor for Redis: redis-server started by hand, until it answers PING. */
async function redisByHand(): Promise<{ ms: number; pids: () => number[]; stop: () => Promise<void> }> {
  const dir = tempDir('bench-redis-');
  fs.chownSync(dir, FLOOR_UID, FLOOR_UID);
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn('setpriv', [`--reuid=${FLOOR_UID}`, `--regid=${FLOOR_UID}`, '--clear-groups', 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], { stdio: 'ignore' });
  for (;;) {
    if (performance.now() - t0 > LIMIT_MS) throw new Error('redis-server did not answer PING');
    if (await ping(port)) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  return {
    ms,
    pids: () => (child.pid ? [child.pid] : []),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
    s.once('error', () => resolve(false));
  });
}

/** Processes whose command line names `needle` (an add-on's data directory or name). */
function pidsOf(needle: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', needle]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Proportional set size of the processes, in MiB (shared pages split among their users). */
function pssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    const m = /^Pss:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    kb += Number(m?.[1] ?? 0);
  }
  return kb / 1024;
}

/**
 * `addons:create` until the app answers `path` through the router, polled while the command runs (the
 * new dynos get traffic before the command returns: it waits out the old ones' drain). Returns ms,
 * the ms `addons:create` took, and the add-on's name.
 */
async function viaPaas(paas: Paas, app: string, service: string, path: string, method: string, ok: (body: string) => boolean): Promise<{ ms: number; command: number; name: string }> {
  const t0 = performance.now();
  let done = false;
  const created = cli(paas, ['addons:create', service, '-a', app]).then((r) => {
    done = true;
    return { ...r, ms: performance.now() - t0 };
  });
  for (;;) {
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`${app} did not answer ${path} within ${LIMIT_MS} ms`);
    // A POST changes the app's data: sent only once the add-on exists (the old dynos answer 500 before).
    const r = method === 'GET' || done ? await viaRouter(paas, `${app}.localhost`, path, method).catch(() => undefined) : undefined;
    if (r?.status === 200 && ok(r.body)) {
      const ms = performance.now() - t0;
      const c = await created;
      if (c.code !== 0) throw new Error(`addons:create ${service} failed:\n${c.stderr}`);
      return { ms, command: c.ms, name: c.stdout.trim() };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * An add-on's processes: its sandbox (bwrap names the add-on's directory) or its container's first
 * process, and everything under it.
 */
async function addonPids(name: string): Promise<number[]> {
  const roots = DOCKER ? await containerPids(name) : pidsOf(`addons/${name}`);
  const all = new Set<number>(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const pid of pidsOfParents([...all])) {
      if (all.has(pid)) continue;
      all.add(pid);
      grew = true;
    }
  }
  return [...all];
}

/** The first process of the add-on's container (labelled paas.addon=<name>). */
async function containerPids(name: string): Promise<number[]> {
  const docker = await connectDocker();
  const [c] = await docker.listContainers({ filters: { label: [`paas.addon=${name}`] } });
  if (!c) return [];
  const info = await docker.getContainer(c.Id).inspect();
  return info.State.Pid ? [info.State.Pid] : [];
}

/** Children of the given processes. */
function pidsOfParents(parents: number[]): number[] {
  try {
    return execFileSync('pgrep', ['-P', parents.join(',')]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:addons runs as root: the floor starts its servers as an unprivileged uid, as paas does.');
  const paas = await startPaas(DOCKER ? dockerTestEnv() : {});
  const rows = { pg: { paas: [] as number[], command: [] as number[], floor: [] as number[] }, redis: { paas: [] as number[], command: [] as number[], floor: [] as number[] } };
  const memory = { pg: { paas: 0, floor: 0 }, redis: { paas: 0, floor: 0 } };
  try {
    const files = await addonApp();
    for (let round = 0; round < ROUNDS; round++) {
      const app = `bench-addons-${round}`;
      await createApp(paas, app);
      const pushed = await push(paas, await gitRepo(paas, files), app);
      if (pushed.code !== 0) throw new Error(`push failed:\n${pushed.stderr}`);
      const pg = await viaPaas(paas, app, 'postgresql', '/query', 'GET', (b) => b.includes('"one":1'));
      rows.pg.paas.push(pg.ms);
      rows.pg.command.push(pg.command);
      const redis = await viaPaas(paas, app, 'redis', '/counter', 'GET', (b) => b.includes('"counter":0'));
      rows.redis.paas.push(redis.ms);
      rows.redis.command.push(redis.command);
      const pgFloor = await pgByHand();
      rows.pg.floor.push(pgFloor.ms);
      const redisFloor = await redisByHand();
      rows.redis.floor.push(redisFloor.ms);
      if (round === ROUNDS - 1) {
        // Idle: a few seconds after the last query, as a small app's database spends most of its life.
        await new Promise((r) => setTimeout(r, 3000));
        memory.pg = { paas: pssMiB(await addonPids(pg.name)), floor: pssMiB(pgFloor.pids()) };
        memory.redis = { paas: pssMiB(await addonPids(redis.name)), floor: pssMiB(redisFloor.pids()) };
      }
      await pgFloor.stop();
      await redisFloor.stop();
    }
  } finally {
    await paas.stop();
    if (DOCKER) await removeInstance(await connectDocker(), instanceId(paas.dataDir));
  }
  console.log(`bench:addons: ${ROUNDS} rounds, runtime ${DOCKER ? 'docker' : 'process'}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString()}\n`);
  console.log('| add-on | paas: addons:create → first query through the router (median) | addons:create returns (median) | floor by hand (median) | ratio | idle PSS: paas | idle PSS: by hand, Debian defaults |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const line = (label: string, key: 'pg' | 'redis', floor: string) => {
    const p = median(rows[key].paas);
    const f = median(rows[key].floor);
    console.log(`| ${label} | ${(p / 1000).toFixed(2)} s | ${(median(rows[key].command) / 1000).toFixed(2)} s | ${(f / 1000).toFixed(2)} s (${floor}) | ${(p / f).toFixed(2)}× | ${memory[key].paas.toFixed(1)} MiB | ${memory[key].floor.toFixed(1)} MiB |`);
    return p / f;
  };
  const pgRatio = line('PostgreSQL', 'pg', 'initdb + pg_ctl start -w');
  const redisRatio = line('Redis', 'redis', 'redis-server until PING');
  console.log('\nGoals (issue 14):');
  console.log(`- PostgreSQL within 1.5× the floor: ${pgRatio.toFixed(2)}× ${pgRatio <= 1.5 ? 'met' : 'MISSED'}`);
  console.log(`- PostgreSQL under 2 s: ${(median(rows.pg.paas) / 1000).toFixed(2)} s ${median(rows.pg.paas) < 2000 ? 'met' : 'MISSED'}`);
  console.log(`- Redis within 1.5× the floor: ${redisRatio.toFixed(2)}× ${redisRatio <= 1.5 ? 'met' : 'MISSED'}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
