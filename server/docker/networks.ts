// A Docker network per app: its dynos, release phase and one-off runs join only it, and the add-ons
// attached to it join it too, so an app reaches its own containers and nothing of another app's
// (Docker's isolation rules drop traffic between two bridges). Add-ons also sit on one home network
// of this server, whose containers cannot talk to each other (no inter-container traffic), for the
// loopback port paas's own checks use. Every network is labelled as ours and named with the
// server's instance, so two paas servers on one engine never share or remove each other's.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import { LABELS, ourFilter } from './engine.js';
import { idempotent, statusOf } from './streams.js';

export interface DockerNetworksOptions {
  docker: Docker;
  /** This server's `paas.instance` label. */
  instance: string;
  /** PAAS_DOCKER_NETWORK: the first part of every network's name (`paas-<instance>-<app>`). */
  prefix: string;
}

const KIND = 'network';
/** What Docker says when its address pools are used up (each network takes a subnet of them). */
const NO_POOL = /non-overlapping|available.*address pool|no available network/i;

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** The networks of one paas server: one per app, plus the add-ons' home network. */
export class DockerNetworks {
  private readonly made = new Map<string, Promise<string>>();

  constructor(private readonly opts: DockerNetworksOptions) {}

  /**
   * The first characters of every bridge interface of this server's networks (Linux allows 15 in
   * all): one firewall rule names them all (host-guard.ts).
   */
  get bridgePrefix(): string {
    return `pa${hex(this.opts.instance, 6)}`;
  }

  /** The network of `app` (of the add-ons' home when `app` is undefined). */
  name(app?: string): string {
    return app === undefined ? `${this.opts.prefix}-${this.opts.instance}` : `${this.opts.prefix}-${this.opts.instance}-${app}`;
  }

  /** Makes the app's network unless it exists (ours), once per server; resolves with its name. */
  ensure(app?: string): Promise<string> {
    const key = app ?? '';
    let made = this.made.get(key);
    if (!made) {
      made = this.create(app);
      made.catch(() => this.made.delete(key));
      this.made.set(key, made);
    }
    return made;
  }

  /** Whether a network's labels make it this server's (and, given `app`, that app's). */
  isOurs(labels: Record<string, string> | undefined | null, app?: string): boolean {
    return labels?.[LABELS.managed] === 'true' && labels[LABELS.instance] === this.opts.instance && labels[LABELS.kind] === KIND && (app === undefined || labels[LABELS.app] === app);
  }

  /** Connects a container to the app's network (made if need be) under `aliases`; nothing when it is on it already. */
  async connect(container: string, app: string, aliases: string[] = []): Promise<void> {
    const network = await this.ensure(app);
    await this.opts.docker
      .getNetwork(network)
      .connect({ Container: container, EndpointConfig: { Aliases: aliases } })
      .catch((err: unknown) => {
        if (/already exists|already attached/i.test((err as Error).message)) return;
        throw err;
      });
  }

  /** Disconnects a container from a network (by name); nothing when it is not on it, or either is gone. */
  async disconnect(container: string, network: string): Promise<void> {
    await idempotent(() => this.opts.docker.getNetwork(network).disconnect({ Container: container, Force: true })).catch((err: unknown) => {
      if (/is not connected|not found|no such/i.test((err as Error).message)) return;
      throw err;
    });
  }

  /**
   * Removes the app's network (apps:destroy, once its dynos are gone): first every container of this
   * server still on it (its add-ons) is disconnected. A container that is not ours keeps it there.
   */
  async remove(app: string): Promise<void> {
    this.made.delete(app);
    const info = await this.opts.docker
      .getNetwork(this.name(app))
      .inspect()
      .catch((err: unknown) => (statusOf(err) === 404 ? undefined : Promise.reject(err)));
    if (!info || !this.isOurs(info.Labels, app)) return;
    const attached = Object.keys(info.Containers ?? {});
    for (const id of attached) {
      const labels = (await this.opts.docker.getContainer(id).inspect().catch(() => undefined))?.Config.Labels;
      if (labels?.[LABELS.managed] === 'true' && labels[LABELS.instance] === this.opts.instance) await this.disconnect(id, info.Name);
    }
    await idempotent(() => this.opts.docker.getNetwork(info.Id).remove());
  }

  /** At start: removes the networks of this server's apps that are no more (destroyed while it was down). */
  async prune(apps: Set<string>): Promise<number> {
    const networks = await this.opts.docker.listNetworks({ filters: ourFilter({ instance: this.opts.instance }, [`${LABELS.kind}=${KIND}`]) });
    const gone = networks.map((n) => n.Labels?.[LABELS.app]).filter((app): app is string => app !== undefined && !apps.has(app));
    for (const app of gone) await this.remove(app).catch(() => undefined);
    return gone.length;
  }

  /** The networks of ours a container is on, by name (from its inspect). */
  ourNetworksOf(info: Docker.ContainerInspectInfo): string[] {
    const mine = `${this.opts.prefix}-${this.opts.instance}`;
    return Object.keys(info.NetworkSettings.Networks ?? {}).filter((n) => n === mine || n.startsWith(`${mine}-`));
  }

  private async create(app?: string): Promise<string> {
    const name = this.name(app);
    const { docker } = this.opts;
    const found = await docker.getNetwork(name).inspect().catch((err: unknown) => (statusOf(err) === 404 ? undefined : Promise.reject(err)));
    if (found) {
      if (!this.isOurs(found.Labels, app)) throw new Error(`A Docker network named ${name} exists and is not this paas server's (labels). Remove it, or set PAAS_DOCKER_NETWORK to another prefix.`);
      return name;
    }
    const labels = { [LABELS.managed]: 'true', [LABELS.instance]: this.opts.instance, [LABELS.kind]: KIND, ...(app === undefined ? {} : { [LABELS.app]: app }) };
    // A bridge name of ours (15 characters at most), so host-guard.ts's one rule covers every network.
    const bridge = `${this.bridgePrefix}${app === undefined ? 'addons' : hex(app, 7)}`;
    // On the add-ons' home network they never talk to each other: it exists for their published port.
    const options: Record<string, string> = { 'com.docker.network.bridge.name': bridge, ...(app === undefined ? { 'com.docker.network.bridge.enable_icc': 'false' } : {}) };
    await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels, Options: options }).catch((err: unknown) => {
      if (statusOf(err) === 409) return; // made meanwhile (a parallel start of the same app)
      if (NO_POOL.test((err as Error).message)) {
        throw new Error(
          `Docker has no address range left for another network (paas makes one per app): add a pool to "default-address-pools" in /etc/docker/daemon.json, for example {"base": "10.201.0.0/16", "size": 24}, restart dockerd and try again. Docker said: ${(err as Error).message}`,
        );
      }
      throw err;
    });
    return name;
  }
}
