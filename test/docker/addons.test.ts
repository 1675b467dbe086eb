// PostgreSQL and Redis add-ons on the docker runtime, against the real engine: labelled containers
// of images built from Debian's packages, a labelled volume each, reachable by the URL's host from
// a dyno on the network of an app it is attached to (and from no other) and from paas on a loopback port; supervised, adopted, backed
// up and restored, and destroyed with their data.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, expect, it, vi } from 'vitest';
import { DockerAddons } from '../../server/addons/docker/addons.js';
import { DockerNetworks } from '../../server/docker/networks.js';
import { createServer, objectName, publishedPort } from '../../server/addons/docker/containers.js';
import type { AddonInstance, AddonState } from '../../server/addons/types.js';
import { onCleanup } from '../helpers/cleanup.js';
import { demux } from '../../lib/docker/run-in-image.js';
import { dockerSuite, dockerTestEnv, removeInstance, STACK_IMAGE, testDocker } from '../helpers/docker.js';
import { BIN, sh, tempDir } from '../helpers/paas.js';

const INSTANCE = `t${randomBytes(5).toString('hex')}`;

/** Every object the suite made: containers, volumes and networks labelled with its instance. */
async function removeAll(docker: Docker): Promise<void> {
  await removeInstance(docker, INSTANCE);
}

function addons(docker: Docker, seen: { states: [string, AddonState][]; logs: string[] }): DockerAddons {
  return new DockerAddons({
    docker,
    instance: INSTANCE,
    networks: new DockerNetworks({ docker, instance: INSTANCE, prefix: 'paas-test' }),
    images: { stackImage: STACK_IMAGE, caFile: dockerTestEnv().PAAS_BUILD_CA_FILE, log: () => undefined },
    events: { log: (name, line) => seen.logs.push(`${name}: ${line}`), state: (name, state) => seen.states.push([name, state]) },
  });
}

async function loopbackPort(docker: Docker, addon: AddonInstance): Promise<number> {
  const port = publishedPort(await docker.getContainer(objectName(addon.name, INSTANCE)).inspect(), addon.service);
  expect(port).toBeGreaterThan(0);
  return port!;
}

/** psql on the host through the loopback port, the password in the environment. */
async function psql(docker: Docker, pg: AddonInstance, sql: string): Promise<string> {
  const port = await loopbackPort(docker, pg);
  const r = await sh('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', pg.user, '-d', pg.database, '-Atqc', sql], { env: { ...process.env, PGPASSWORD: pg.password } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

async function redis(docker: Docker, r: AddonInstance, ...args: string[]): Promise<string> {
  const port = await loopbackPort(docker, r);
  const out = await sh('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { env: { ...process.env, REDISCLI_AUTH: r.password } });
  expect(out.code, out.stderr).toBe(0);
  return out.stdout.trim();
}

dockerSuite('add-ons (docker runtime)', () => {
  let docker: Docker;
  const seen = { states: [] as [string, AddonState][], logs: [] as string[] };
  let services: DockerAddons;
  let pg: AddonInstance;
  let cache: AddonInstance;

  beforeAll(async () => {
    docker = await testDocker();
    onCleanup(() => removeAll(docker));
    services = addons(docker, seen);
    onCleanup(() => services.detach());
    // The images are built once per recipe (`paas stack:build` makes them in CI); timed apart from provisioning.
    const { ensureAddonImage } = await import('../../server/addons/docker/images.js');
    for (const service of ['postgresql', 'redis'] as const) {
      const image = await ensureAddonImage(docker, service, { stackImage: STACK_IMAGE, caFile: dockerTestEnv().PAAS_BUILD_CA_FILE, log: () => undefined });
      console.log(`${image.image}: ${image.built ? `built in ${image.ms} ms` : 'reused'}`);
    }
  }, 600_000);

  it('provisions PostgreSQL and Redis that answer on the loopback port, with their own role, database and password', async () => {
    let t = Date.now();
    pg = await services.provision({ name: 'pg-one', service: 'postgresql', uid: 350_001 });
    const pgMs = Date.now() - t;
    t = Date.now();
    cache = await services.provision({ name: 'cache-one', service: 'redis', uid: 350_002 });
    const redisMs = Date.now() - t;
    console.log(`provisioned PostgreSQL in ${pgMs} ms, Redis in ${redisMs} ms`);
    expect(pg.version).toMatch(/^15\.\d+$/);
    expect(cache.version).toMatch(/^7\.\d+\.\d+$/);
    expect(pg.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(services.url(pg)).toBe(`postgres://${pg.user}:${pg.password}@paas-addon-pg-one-${INSTANCE}:5432/${pg.database}`);
    expect(services.url(cache)).toBe(`redis://default:${cache.password}@paas-addon-cache-one-${INSTANCE}:6379`);

    expect(await psql(docker, pg, 'CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2); SELECT count(*) FROM t')).toBe('2');
    expect(await psql(docker, pg, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toBe('f');
    expect(await psql(docker, pg, 'SHOW shared_buffers')).toBe('16MB');
    expect(await psql(docker, pg, 'SHOW max_connections')).toBe('20');
    expect(await psql(docker, pg, 'SHOW password_encryption')).toBe('scram-sha-256');
    expect(await redis(docker, cache, 'INCR', 'counter')).toBe('1');
    expect(await redis(docker, cache, 'CONFIG', 'GET', 'appendfsync')).toBe('appendfsync\neverysec');
    // A wrong password is refused.
    const port = await loopbackPort(docker, pg);
    const wrong = await sh('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', pg.user, '-d', pg.database, '-c', 'SELECT 1'], { env: { ...process.env, PGPASSWORD: 'nope' } });
    expect(wrong.code).not.toBe(0);
  });

  it('runs labelled containers as the add-on uid, loopback-published, with no password in docker inspect', async () => {
    for (const addon of [pg, cache]) {
      const info = await docker.getContainer(objectName(addon.name, INSTANCE)).inspect();
      expect(info.Config.Labels).toMatchObject({ 'paas.managed': 'true', 'paas.instance': INSTANCE, 'paas.kind': 'addon', 'paas.addon': addon.name });
      expect(info.Config.User).toBe(`${addon.uid}:${addon.uid}`);
      const bindings = Object.values(info.NetworkSettings.Ports ?? {}).flat() as { HostIp: string }[];
      expect(bindings.map((b) => b.HostIp)).toEqual(['127.0.0.1']);
      // Its home network only, until it is attached to an app.
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`paas-test-${INSTANCE}`]);
      const visible = JSON.stringify([info.Config.Cmd, info.Args, info.Path, info.Config.Env, info.Config.Entrypoint, info.HostConfig]);
      expect(visible).not.toContain(addon.password);
      const volume = await docker.getVolume(objectName(addon.name, INSTANCE)).inspect();
      expect(volume.Labels).toMatchObject({ 'paas.managed': 'true', 'paas.instance': INSTANCE, 'paas.addon': addon.name });
    }
    // The server processes run as that uid too, and the data dir is theirs alone.
    const top = await docker.getContainer(objectName(pg.name, INSTANCE)).top({ ps_args: '-o pid,uid,comm' });
    expect(new Set(top.Processes.filter((p: string[]) => p[2] !== 'docker-init').map((p: string[]) => p[1]))).toEqual(new Set(['350001']));
  });

  it('is reached by the URL host from a dyno of an app it is attached to, and from no other app', async () => {
    const probe = `
      const net = require('node:net');
      const u = new URL(process.env.URL);
      const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => s.write(Buffer.from(process.env.SEND, 'base64')));
      s.on('data', (d) => { process.stdout.write(d.toString('latin1').slice(0, 20)); s.destroy(); });
      s.on('error', (e) => { console.error(e.message); process.exit(1); });
      s.setTimeout(5000, () => { console.error('no answer'); process.exit(2); });`;
    const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join('')}`;
    const run = async (url: string, send: string, app = 'one') => {
      const container = await docker.createContainer({
        Image: STACK_IMAGE,
        Entrypoint: ['node', '-e', probe],
        Env: [`URL=${url}`, `SEND=${Buffer.from(send, 'latin1').toString('base64')}`],
        User: '1000:1000',
        Labels: { 'paas.managed': 'true', 'paas.instance': INSTANCE, 'paas.kind': 'test' },
        HostConfig: { NetworkMode: `paas-test-${INSTANCE}-${app}` },
      });
      onCleanup(() => container.remove({ force: true }).catch(() => undefined));
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const { stdout, stderr } = demux(await container.logs({ stdout: true, stderr: true }));
      return { code: StatusCode, out: stdout + stderr };
    };
    await services.reach(cache, ['one']);
    await services.reach(pg, ['one', 'two']);
    const r = await run(services.url(cache), resp('AUTH', 'default', cache.password) + resp('GET', 'counter'));
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('+OK\r\n$1\r\n1');
    // PostgreSQL answers a startup message for the add-on's role with an authentication request.
    const user = Buffer.from(`user\0${pg.user}\0database\0${pg.database}\0\0`);
    const head = Buffer.alloc(8);
    head.writeInt32BE(8 + user.length, 0);
    head.writeInt32BE(196608, 4);
    const p = await run(services.url(pg), Buffer.concat([head, user]).toString('latin1'));
    expect(p.code, p.out).toBe(0);
    expect(p.out).toMatch(/R/);
    expect((await run(services.url(pg), Buffer.concat([head, user]).toString('latin1'), 'two')).code).toBe(0);
    // Redis is not attached to app two: neither its name nor its address answers there.
    const redisIp = (await docker.getContainer(objectName(cache.name, INSTANCE)).inspect()).NetworkSettings.Networks[`paas-test-${INSTANCE}-one`].IPAddress;
    const byName = await run(services.url(cache), resp('PING'), 'two');
    expect(byName.code).not.toBe(0);
    expect(byName.out).toMatch(/ENOTFOUND|EAI_AGAIN/);
    const byIp = await run(`redis://${redisIp}:6379`, resp('PING'), 'two');
    expect(byIp.code, byIp.out).not.toBe(0);
    // Detached from app one: gone from its network too.
    await services.reach(cache, []);
    expect((await run(services.url(cache), resp('PING'))).out).toMatch(/ENOTFOUND|EAI_AGAIN/);
    expect(Object.keys((await docker.getContainer(objectName(cache.name, INSTANCE)).inspect()).NetworkSettings.Networks)).toEqual([`paas-test-${INSTANCE}`]);
  });

  it('keeps its data through a stop and start, and comes back when killed from outside', async () => {
    await services.stop(pg.name);
    await services.stop(cache.name);
    const pgStopped = docker.getContainer(objectName(pg.name, INSTANCE));
    expect((await pgStopped.inspect()).State).toMatchObject({ Running: false, ExitCode: 0 });
    const pgLog = (await pgStopped.logs({ stdout: true, stderr: true })).toString();
    expect(pgLog).toContain('received fast shutdown request');
    // Its readiness was read from postmaster.pid: no probe connection for it to refuse at each start.
    expect(pgLog).not.toMatch(/no pg_hba\.conf entry|database system is starting up/);
    const redisStopped = await docker.getContainer(objectName(cache.name, INSTANCE)).inspect();
    expect(redisStopped.State.ExitCode).toBe(0);
    const redisLog = (await docker.getContainer(objectName(cache.name, INSTANCE)).logs({ stdout: true, stderr: true })).toString();
    expect(redisLog).toMatch(/Saving the final RDB snapshot|DB saved on disk/);
    await services.start(pg);
    await services.start(cache);
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('2');
    expect(await redis(docker, cache, 'GET', 'counter')).toBe('1');

    seen.states.length = 0;
    const t = Date.now();
    await docker.getContainer(objectName(pg.name, INSTANCE)).kill({ signal: 'SIGKILL' });
    await vi.waitFor(() => expect(seen.states).toEqual([[pg.name, 'crashed'], [pg.name, 'running']]), { timeout: 30_000, interval: 50 });
    console.log(`PostgreSQL back ${Date.now() - t} ms after a SIGKILL`);
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('2');
    expect(seen.logs.join('\n')).toContain('pg-one: crashed');

    // A second crash soon after the first waits for the backoff (1 s) before the restart.
    const redisContainer = docker.getContainer(objectName(cache.name, INSTANCE));
    for (const [n, wait] of [[1, 0], [2, 1000]] as const) {
      seen.states.length = 0;
      const killed = Date.now();
      await redisContainer.kill({ signal: 'SIGKILL' });
      await vi.waitFor(() => expect(seen.states).toEqual([[cache.name, 'crashed'], [cache.name, 'running']]), { timeout: 30_000, interval: 50 });
      expect(Date.now() - killed, `crash ${n}`).toBeGreaterThanOrEqual(wait);
    }
    expect(seen.logs.join('\n')).toContain('cache-one: crashed (exit code 137); starting it again in 1 s');
    // appendfsync everysec: the counter written before the kills is there.
    expect(await redis(docker, cache, 'GET', 'counter')).toBe('1');
  });

  it('is adopted, not started again, by a new DockerAddons of the same instance', async () => {
    const before = await docker.getContainer(objectName(pg.name, INSTANCE)).inspect();
    services.detach();
    const next = addons(docker, seen);
    onCleanup(() => next.detach());
    await next.start(pg);
    await next.start(cache);
    const after = await docker.getContainer(objectName(pg.name, INSTANCE)).inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    services = next;
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('2');
  });

  it('makes again, on the same volume, the container a paas from before per-app networks put on the network all shared', async () => {
    const legacy = `paas-test-legacy-${INSTANCE}`;
    await docker.createNetwork({ Name: legacy, Labels: { 'paas.managed': 'true', 'paas.instance': INSTANCE } });
    services.detach();
    const name = objectName(pg.name, INSTANCE);
    await docker.getContainer(name).remove({ force: true });
    await (await createServer(docker, { instance: pg, server: INSTANCE, network: legacy })).start();
    const next = addons(docker, seen);
    onCleanup(() => next.detach());
    await next.start(pg);
    services = next;
    const info = await docker.getContainer(name).inspect();
    expect(info.HostConfig.NetworkMode).toBe(`paas-test-${INSTANCE}`);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([`paas-test-${INSTANCE}`]);
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('2');
    expect(seen.logs.join('\n')).toContain(`${pg.name}: moving it off the network every app shared`);
  });

  it('captures a pg_dump and restores it', async () => {
    const file = path.join(tempDir('paas-addon-backup-'), 'b001.dump');
    await services.capture(pg, file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file).subarray(0, 5).toString()).toBe('PGDMP');
    await psql(docker, pg, 'INSERT INTO t VALUES (3), (4), (5); CREATE TABLE later (x int)');
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('5');
    await services.restore(pg, file);
    expect(await psql(docker, pg, 'SELECT count(*) FROM t')).toBe('2');
    // Objects the app (not the superuser) owns stay its own.
    expect(await psql(docker, pg, "SELECT tableowner FROM pg_tables WHERE tablename = 't'")).toBe(pg.user);
    await expect(services.capture(cache, file)).rejects.toThrow(/PostgreSQL/);
  });

  it('never takes over or removes a volume that is not its own', async () => {
    const name = objectName('taken', INSTANCE);
    await docker.createVolume({ Name: name });
    onCleanup(() => docker.getVolume(name).remove().catch(() => undefined));
    await expect(services.provision({ name: 'taken', service: 'redis', uid: 350_003 })).rejects.toThrow(/exists already/);
    const volume = await docker.getVolume(name).inspect();
    expect(volume.Labels ?? {}).toEqual({});
    await expect(services.start({ ...cache, name: 'taken' })).rejects.toThrow(/gone/);

    // A container of the name that is not ours fails the provisioning, which leaves nothing behind
    // and that container alone.
    const clash = objectName('clash', INSTANCE);
    const foreign = await docker.createContainer({ name: clash, Image: STACK_IMAGE, Cmd: ['true'], Labels: { 'paas.instance': INSTANCE } });
    onCleanup(() => foreign.remove({ force: true }).catch(() => undefined));
    await expect(services.provision({ name: 'clash', service: 'redis', uid: 350_004 })).rejects.toThrow(/Conflict|in use/i);
    expect((await foreign.inspect()).Id).toBe(foreign.id);
    await expect(docker.getVolume(clash).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('destroy removes the container and the volume', async () => {
    for (const addon of [pg, cache]) {
      await services.destroy(addon);
      const name = objectName(addon.name, INSTANCE);
      await expect(docker.getContainer(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
      await expect(docker.getVolume(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    }
  });

  it('paas stack:build makes (or finds up to date) the add-on images too', async () => {
    const r = await sh(process.execPath, [BIN, 'stack:build'], { env: { ...process.env, ...dockerTestEnv() } as Record<string, string> });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^paas\/addon-postgresql:15 sha256:[0-9a-f]{64}$/m);
    expect(r.stdout).toMatch(/^paas\/addon-redis:7 sha256:[0-9a-f]{64}$/m);
    const image = await docker.getImage('paas/addon-postgresql:15').inspect();
    expect(image.Config.Labels).toMatchObject({ 'paas.managed': 'true', 'paas.kind': 'addon-image', 'paas.addon.service': 'postgresql' });
  });
});
