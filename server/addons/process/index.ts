import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SandboxHost } from '../../sandbox/host.js';
import { freePort } from '../../runtime/free-port.js';
import type { AddonEvents, AddonInstance, AddonServices, ProvisionSpec } from '../types.js';
import type { AppNetworks } from '../../netns/networks.js';
import { capture, initCluster, launchPostgres, pgBin, pgVersion, restore, rotatePostgres, stalePidFile, waitPostgres, writeHba } from './postgres.js';
import type { PgTarget } from './pg-client.js';
import { launchRedis, redisConfig, redisVersion, rotateRedis, shutdownRedis, waitRedis } from './redis.js';
import { accountFiles, type AddonBox, serverPid } from './sandbox.js';
import { clearSquatters } from './squatters.js';
import { type ServerControl, Supervised } from './supervisor.js';

export interface ProcessAddonsOptions {
  /** `<data>/addons`: one directory per add-on, each owned by the add-on's uid. */
  dir: string;
  sandbox: SandboxHost;
  events: AddonEvents;
  /** A network namespace per server (as root, PAAS_APP_NETWORKS=auto), which only its attached apps reach. */
  networks?: AppNetworks;
  /** The app whose uid `uid` is, if any: a squatter of an add-on's port is stopped only if it is an app's. */
  appOf?: (uid: number) => string | undefined;
}

async function hasAccount(uid: number): Promise<boolean> {
  const passwd = await fs.readFile('/etc/passwd', 'utf8').catch(() => '');
  return passwd.split('\n').some((line) => line.split(':')[2] === String(uid));
}

/** A random strong password: 32 bytes, URL-safe, so it needs no escaping in a URL or in SQL. */
function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Add-ons on the process runtime: each PostgreSQL or Redis server is a child process of paas, in a
 * bubblewrap sandbox under the add-on's own uid, seeing only its own directory, listening on a port
 * of its own network namespace's address (or, without app networks, of loopback), supervised like a
 * dyno. `<dir>/<name>/` (the add-on's uid, 0700) holds `data/`
 * (the cluster, or Redis's AOF and RDB), `run/` (the servers' unix sockets, the only way paas itself talks to them), `etc/` (the sandbox's
 * passwd and group) and, for Redis, `redis.conf` (0600, with the password). `<dir>/.pg-template-<major>`
 * is paas's own (a fresh cluster to copy). The PostgreSQL superuser has no password: it is reached
 * only by peer auth on the socket in `run/`, which no one but the add-on's uid can enter.
 */
export class ProcessAddons implements AddonServices {
  private readonly running = new Map<string, Supervised>();
  /** The instances started, kept current: a password replaced after a squat is the one to use next. */
  private readonly instances = new Map<string, AddonInstance>();
  private bin: string | undefined;

  constructor(private readonly opts: ProcessAddonsOptions) {}

  private box(instance: Pick<AddonInstance, 'name' | 'uid'>): AddonBox {
    const { sandbox } = this.opts;
    return { host: sandbox, dir: path.join(this.opts.dir, instance.name), uid: sandbox.asRoot ? instance.uid : undefined };
  }

  private async pgBin(): Promise<string> {
    return (this.bin ??= await pgBin());
  }

  async provision(spec: ProvisionSpec): Promise<AddonInstance> {
    const box = this.box(spec);
    const owner = box.uid;
    const chown = async (file: string) => {
      if (owner !== undefined) await fs.chown(file, owner, owner);
    };
    // initdb and postgres look their uid up in /etc/passwd: a sandbox shows them one of its own,
    // the host's has no account for an add-on's uid.
    if (spec.service === 'postgresql' && this.opts.sandbox.kind === 'none' && owner !== undefined && !(await hasAccount(owner))) {
      throw new Error(`PostgreSQL add-ons need bubblewrap when paas runs as root (uid ${owner} has no account on this host): install bubblewrap and let it make namespaces, then restart paas`);
    }
    // Without bwrap, the add-on's uid reaches its directory through ours: enter, not list.
    await fs.mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    if (this.opts.sandbox.kind === 'none' && owner !== undefined) await fs.chmod(this.opts.dir, 0o711);
    try {
      await fs.mkdir(box.dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`an add-on named ${spec.name} already has data here: destroy it first`, { cause: err });
      throw err;
    }
    try {
      // The port is chosen only now, just before the first start: no port is kept in the files.
      const instance = { ...(await this.create(spec, box, chown)), port: await freePort() };
      try {
        await this.start(instance);
      } catch (err) {
        // The port was free when chosen, but something may have taken it since (the log says
        // so): one more try on another.
        this.opts.events.log(spec.name, `${(err as Error).message}; trying once more on another port`);
        const retry = { ...instance, port: await freePort() };
        await this.start(retry);
        return retry;
      }
      return instance;
    } catch (err) {
      await this.stop(spec.name).catch(() => undefined);
      await this.opts.networks?.remove('addon', spec.name).catch(() => undefined);
      await fs.rm(box.dir, { recursive: true, force: true });
      throw err;
    }
  }

  private async create(spec: ProvisionSpec, box: AddonBox, chown: (file: string) => Promise<void>): Promise<AddonInstance> {
    const password = newPassword();
    const account = spec.service === 'postgresql' ? 'postgres' : 'redis';
    const { passwd, group } = accountFiles(account, box.uid ?? process.getuid?.() ?? 0, '/addon');
    for (const d of ['etc', 'data', 'run']) {
      await fs.mkdir(path.join(box.dir, d), { mode: d === 'etc' ? 0o755 : 0o700 });
    }
    await fs.writeFile(path.join(box.dir, 'etc', 'passwd'), passwd, { mode: 0o644 });
    await fs.writeFile(path.join(box.dir, 'etc', 'group'), group, { mode: 0o644 });
    // The paas server runs with umask 077, which the modes above pass through: the add-on's uid must
    // read its account (initdb refuses a uid it cannot look up).
    for (const [file, mode] of [['', 0o755], ['passwd', 0o644], ['group', 0o644]] as const) await fs.chmod(path.join(box.dir, 'etc', file), mode);
    // initdb makes the data directory itself (and wants it empty or absent).
    if (spec.service === 'postgresql') await fs.rmdir(path.join(box.dir, 'data'));
    for (const d of spec.service === 'postgresql' ? ['', 'run'] : ['', 'data', 'run']) await chown(path.join(box.dir, d));
    const base = { name: spec.name, service: spec.service, uid: spec.uid, password, port: 0, handle: '' };
    if (spec.service === 'postgresql') {
      const bin = await this.pgBin();
      // Random names, as Heroku's: an add-on's name may start with `pg_`, which PostgreSQL reserves.
      const user = `u${randomBytes(7).toString('hex')}`;
      const database = `d${randomBytes(7).toString('hex')}`;
      await initCluster(box, { bin, user, database, password }, path.join(this.opts.dir, `.pg-template-${path.basename(path.dirname(bin))}`), chown);
      return { ...base, version: await pgVersion(bin), user, database };
    }
    const version = await redisVersion();
    const conf = path.join(box.dir, 'redis.conf');
    await fs.writeFile(conf, redisConfig(box, password), { mode: 0o600 });
    await chown(conf);
    return { ...base, version, user: 'default', database: '' };
  }

  /** Where the add-on listens: its network's address once that is up, else loopback. */
  private address(name: string): string {
    return this.opts.networks?.addonAddress(name) ?? '127.0.0.1';
  }

  private async control(instance: AddonInstance): Promise<ServerControl> {
    const network = await this.opts.networks?.forAddon(instance.name);
    const box = { ...this.box(instance), netns: network?.netns };
    const { port, name } = instance;
    const address = network?.address ?? '127.0.0.1';
    const current = () => this.instances.get(name) ?? instance;
    let squatted = false;
    const guard: Pick<ServerControl, 'beforeLaunch' | 'afterRestart'> = {
      beforeLaunch: async (again) => {
        // In a network of its own nothing else can hold its port; a listener on the same number in
        // the host's namespace is no squatter (and renewing the password for it would be a false alarm).
        if (network) return;
        const reports = await clearSquatters(name, port, box.uid ?? process.getuid?.() ?? 0, (uid) => this.opts.appOf?.(uid));
        for (const report of reports) this.opts.events.squatted?.(report);
        // Only a server that had been up (so its apps had its URL) has a password to replace.
        if (reports.length && again) squatted = true;
      },
      afterRestart: async () => {
        if (!squatted) return;
        // A server just up may refuse a first client for a moment (recovery after a crash): a few tries
        // before the failure is told; the password stays marked for renewal at the next restart.
        for (let attempt = 1; ; attempt++) {
          try {
            await this.rotate(current());
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 500 * attempt));
          }
        }
        squatted = false;
      },
    };
    if (instance.service === 'postgresql') {
      const bin = await this.pgBin();
      await writeHba(box, instance, async (file) => {
        if (box.uid !== undefined) await fs.chown(file, box.uid, box.uid);
      });
      let stale: string | undefined;
      return {
        ...guard,
        launch: () => {
          stale = stalePidFile(box);
          return launchPostgres(box, bin, port, address);
        },
        ready: (exited, deadline) => waitPostgres(box, port, exited, deadline, stale),
        // SIGINT to the postmaster: PostgreSQL's `fast` shutdown (a checkpoint, no recovery next time).
        shutdown: (child) => {
          const pid = serverPid(child, box.host);
          if (pid === undefined) throw new Error('its postmaster is not there');
          process.kill(pid, 'SIGINT');
        },
      };
    }
    return {
      ...guard,
      launch: () => launchRedis(box, port, address),
      ready: (exited, deadline) => waitRedis(box, port, current().password, exited, deadline),
      shutdown: () => shutdownRedis(box, current().password),
    };
  }

  /** A new password for the add-on, in the running server; the store and the apps hear of it through `rotated`. */
  private async rotate(instance: AddonInstance): Promise<void> {
    const password = newPassword();
    if (instance.service === 'postgresql') await rotatePostgres({ ...(await this.target(instance)) }, password);
    else await rotateRedis(this.box(instance), instance.password, password);
    this.instances.set(instance.name, { ...instance, password });
    this.opts.events.log(instance.name, 'its password was replaced: the attached apps get the new URL in a new release');
    this.opts.events.rotated?.(instance.name, password);
  }

  async start(instance: AddonInstance): Promise<void> {
    if (this.running.has(instance.name)) return;
    this.instances.set(instance.name, instance);
    const server = new Supervised(instance.name, await this.control(instance), this.opts.events);
    this.running.set(instance.name, server);
    void server.stopped.then(() => {
      if (this.running.get(instance.name) === server) this.running.delete(instance.name);
    });
    try {
      await server.start();
    } catch (err) {
      this.running.delete(instance.name);
      throw err;
    }
  }

  async stop(name: string): Promise<void> {
    const server = this.running.get(name);
    if (!server) return;
    await server.stop();
    this.running.delete(name);
  }

  async destroy(instance: AddonInstance): Promise<void> {
    await this.stop(instance.name);
    await this.opts.networks?.remove('addon', instance.name);
    this.instances.delete(instance.name);
    await fs.rm(this.box(instance).dir, { recursive: true, force: true });
  }

  url(instance: AddonInstance): string {
    const pw = encodeURIComponent(instance.password);
    const host = this.address(instance.name);
    if (instance.service === 'postgresql') return `postgres://${instance.user}:${pw}@${host}:${instance.port}/${instance.database}`;
    return `redis://default:${pw}@${host}:${instance.port}`;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.stop(name)));
  }

  private async target(instance: AddonInstance): Promise<PgTarget> {
    if (instance.service !== 'postgresql') throw new Error(`${instance.name} is a ${instance.service} add-on: backups are for PostgreSQL add-ons only`);
    const { port, user, database, password, name } = instance;
    return { box: this.box(instance), bin: await this.pgBin(), address: this.address(name), port, user, database, password, name };
  }

  async capture(instance: AddonInstance, file: string): Promise<void> {
    await capture(await this.target(instance), file);
  }

  async restore(instance: AddonInstance, file: string): Promise<void> {
    await restore(await this.target(instance), file);
  }
}
