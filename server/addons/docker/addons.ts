// Add-ons on the Docker runtime: each a labelled container of its service's image, with a labelled
// named volume for its data, on the networks of the apps it is attached to (its container name is
// its host name there) and on this server's add-on home network (no traffic between containers).
// paas's own checks and backups run inside the container. paas supervises them itself:
// Docker's restart policy is off, so the backoff and the state are paas's, as for dynos.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { demux } from '../../../lib/docker/run-in-image.js';
import { restartDelay, STABLE_AFTER_MS } from '../../../lib/backoff.js';
import type { DockerNetworks } from '../../docker/networks.js';
import { idempotent, statusOf } from '../../docker/streams.js';
import type { AddonEvents, AddonInstance, AddonServices, ProvisionSpec } from '../types.js';
import { capture, restore } from './backup.js';
import { addonLabels, createServer, inspectContainer, isOurs, objectName, runInit, SERVICE_PORTS, STOP_TIMEOUT_S } from './containers.js';
import { type AddonImageOptions, ensureAddonImage } from './images.js';
import { serverAnswers } from './ready.js';
import { Supervisor } from './supervisor.js';

export interface DockerAddonsOptions {
  docker: Docker;
  /** This server's `paas.instance` label: it touches only its own add-ons' containers and volumes. */
  instance: string;
  /** The app networks: an add-on joins those of the apps it is attached to. */
  networks: DockerNetworks;
  /** What the images are built from: the stack, the build CA, the Debian mirror. */
  images: Omit<AddonImageOptions, 'force'>;
  events: AddonEvents;
  /** How long a server may take to answer after it starts. */
  readyTimeoutMs?: number;
}

const NAME_RULE = /^[a-z][a-z0-9-]{1,29}$/;
const READY_POLL_MS = 25;

/** PostgreSQL and Redis add-ons as labelled containers (server/addons/types.ts). */
export class DockerAddons implements AddonServices {
  private readonly supervisors = new Map<string, Supervisor>();

  constructor(private readonly opts: DockerAddonsOptions) {}

  async provision(spec: ProvisionSpec): Promise<AddonInstance> {
    const { docker, instance: server } = this.opts;
    if (!NAME_RULE.test(spec.name)) throw new Error(`Invalid add-on name ${JSON.stringify(spec.name)}`);
    if (!Number.isInteger(spec.uid) || spec.uid <= 0) throw new Error(`${spec.name}: an add-on runs as its own uid, never root`);
    await ensureAddonImage(docker, spec.service, this.opts.images);
    const network = await this.opts.networks.ensure();
    const name = objectName(spec.name, server);
    const labels = addonLabels(spec.name, server);
    const user = `u${randomBytes(6).toString('hex')}`;
    const database = spec.service === 'postgresql' ? `d${randomBytes(6).toString('hex')}` : '';
    const password = randomBytes(24).toString('base64url');
    // An existing volume of that name is someone's data: never reused, never removed here.
    const existing = await docker.getVolume(name).inspect().catch((err: unknown) => (statusOf(err) === 404 ? undefined : Promise.reject(err)));
    if (existing) throw new Error(`${spec.name}: a Docker volume named ${name} exists already`);
    await docker.createVolume({ Name: name, Labels: labels });
    try {
      const argv = spec.service === 'postgresql' ? [String(spec.uid), user, database] : [String(spec.uid)];
      const output = await runInit(docker, spec.service, name, labels, argv, password);
      const version = /(\d+\.\d+(\.\d+)?)/.exec(output.split('\n').filter(Boolean).pop() ?? '')?.[1] ?? '';
      const addon: AddonInstance = { name: spec.name, service: spec.service, version, uid: spec.uid, user, database, password, port: SERVICE_PORTS[spec.service], handle: '' };
      const container = await createServer(docker, { instance: addon, server, network });
      addon.handle = container.id;
      await this.startSupervised(addon, container.id);
      return addon;
    } catch (err) {
      // The volume is the one made above; a container of that name is removed only if it is ours.
      const info = await inspectContainer(docker, name).catch(() => undefined);
      if (info && isOurs(info.Config.Labels, spec.name, server)) await idempotent(() => docker.getContainer(info.Id).remove({ force: true }));
      await idempotent(() => docker.getVolume(name).remove());
      throw err;
    }
  }

  async start(addon: AddonInstance): Promise<void> {
    if (this.supervisors.has(addon.name)) return;
    const { docker, instance: server } = this.opts;
    const name = objectName(addon.name, server);
    let info = await inspectContainer(docker, name);
    if (info && !isOurs(info.Config.Labels, addon.name, server)) throw new Error(`${addon.name}: the container ${name} is not this paas server's`);
    const home = await this.opts.networks.ensure();
    if (info && info.HostConfig.NetworkMode !== home) {
      // Made by a paas whose dynos and add-ons all shared one network: made again on its own (same volume, same data).
      this.opts.events.log(addon.name, 'moving it off the network every app shared: its container is made again');
      await idempotent(() => docker.getContainer(info!.Id).stop({ t: STOP_TIMEOUT_S }));
      await idempotent(() => docker.getContainer(info!.Id).remove({ force: true }));
      info = undefined;
    }
    if (!info) {
      // Its container is gone (removed by hand): a new one on the same volume has the same data.
      const volume = await docker.getVolume(name).inspect().catch(() => undefined);
      if (!volume || !isOurs(volume.Labels, addon.name, server)) throw new Error(`${addon.name}: its data volume ${name} is gone`);
      const created = await createServer(docker, { instance: addon, server, network: home });
      info = await created.inspect();
    }
    if (info.State.Running) this.opts.events.log(addon.name, `adopting its running container ${info.Id.slice(0, 12)}`);
    await this.startSupervised(addon, info.Id);
  }

  async stop(name: string): Promise<void> {
    const supervisor = this.supervisors.get(name);
    if (supervisor) {
      await supervisor.stop();
      this.supervisors.delete(name);
      return;
    }
    // Not watched by this server (yet): its container, if ours, still gets the clean stop.
    const info = await inspectContainer(this.opts.docker, objectName(name, this.opts.instance));
    if (info?.State.Running && isOurs(info.Config.Labels, name, this.opts.instance)) {
      await idempotent(() => this.opts.docker.getContainer(info.Id).stop({ t: STOP_TIMEOUT_S }));
      this.opts.events.state(name, 'stopped');
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.supervisors.keys()].map((name) => this.stop(name)));
  }

  async destroy(addon: AddonInstance): Promise<void> {
    const { docker, instance: server } = this.opts;
    const name = objectName(addon.name, server);
    this.supervisors.get(addon.name)?.abandon();
    this.supervisors.delete(addon.name);
    const info = await inspectContainer(docker, name);
    if (info && isOurs(info.Config.Labels, addon.name, server)) await idempotent(() => docker.getContainer(info.Id).remove({ force: true }));
    const volume = await docker.getVolume(name).inspect().catch(() => undefined);
    if (volume && isOurs(volume.Labels, addon.name, server)) await idempotent(() => docker.getVolume(name).remove());
    this.opts.events.state(addon.name, 'stopped');
  }

  /**
   * Puts the add-on on the networks of exactly `apps` (and its home network): connected to the new
   * ones, disconnected from the others of this server.
   */
  async reach(addon: AddonInstance, apps: string[]): Promise<void> {
    const { docker, instance: server, networks } = this.opts;
    const name = objectName(addon.name, server);
    const info = await inspectContainer(docker, name);
    if (!info || !isOurs(info.Config.Labels, addon.name, server)) return;
    const wanted = new Set([networks.name(), ...apps.map((app) => networks.name(app))]);
    const current = networks.ourNetworksOf(info);
    for (const app of apps) if (!current.includes(networks.name(app))) await networks.connect(info.Id, app, [name]);
    for (const network of current) if (!wanted.has(network)) await networks.disconnect(info.Id, network);
  }

  url(addon: AddonInstance): string {
    const host = objectName(addon.name, this.opts.instance);
    const password = encodeURIComponent(addon.password);
    return addon.service === 'postgresql' ? `postgres://${addon.user}:${password}@${host}:${addon.port}/${addon.database}` : `redis://default:${password}@${host}:${addon.port}`;
  }

  async capture(addon: AddonInstance, file: string): Promise<void> {
    await capture(this.opts.docker, await this.runningContainer(addon), addon, file);
  }

  async restore(addon: AddonInstance, file: string): Promise<void> {
    await restore(this.opts.docker, await this.runningContainer(addon), addon, file);
  }

  /** Lets go of the add-ons without stopping them (Docker's containers outlive the server; the next one adopts them). */
  detach(): void {
    for (const supervisor of this.supervisors.values()) supervisor.abandon();
    this.supervisors.clear();
  }

  private async runningContainer(addon: AddonInstance): Promise<string> {
    if (addon.service !== 'postgresql') throw new Error(`${addon.name}: backups are for PostgreSQL add-ons`);
    const info = await inspectContainer(this.opts.docker, objectName(addon.name, this.opts.instance));
    if (!info?.State.Running || !isOurs(info.Config.Labels, addon.name, this.opts.instance)) throw new Error(`${addon.name} is not running`);
    return info.Id;
  }

  private async startSupervised(addon: AddonInstance, id: string): Promise<void> {
    const supervisor = new Supervisor({
      name: addon.name,
      container: this.opts.docker.getContainer(id),
      events: this.opts.events,
      start: () => this.startAndWait(addon, id),
      stopTimeoutS: STOP_TIMEOUT_S,
      delay: restartDelay,
      stableAfterMs: STABLE_AFTER_MS,
    });
    this.supervisors.set(addon.name, supervisor);
    try {
      await supervisor.begin();
    } catch (err) {
      // Not started: a later start() tries again from the beginning.
      supervisor.abandon();
      this.supervisors.delete(addon.name);
      throw err;
    }
  }

  /** Starts the container unless it runs, and resolves once the server answers (or fails if it exits first). */
  private async startAndWait(addon: AddonInstance, id: string): Promise<void> {
    const container = this.opts.docker.getContainer(id);
    await idempotent(() => container.start());
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 60_000);
    for (;;) {
      const info = await container.inspect();
      if (!info.State.Running) throw new Error(`${addon.name} exited while starting (code ${info.State.ExitCode}): ${await lastLines(container)}`);
      if (await serverAnswers(this.opts.docker, id, addon)) return;
      if (Date.now() > deadline) throw new Error(`${addon.name} did not answer within ${Math.round((this.opts.readyTimeoutMs ?? 60_000) / 1000)} s: ${await lastLines(container)}`);
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }
}

async function lastLines(container: Docker.Container): Promise<string> {
  const raw = await container.logs({ stdout: true, stderr: true, tail: 5 }).catch(() => Buffer.alloc(0));
  const { stdout, stderr } = demux(raw);
  return `${stdout}${stderr}`.trim().split('\n').join(' | ');
}
