import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type Docker from 'dockerode';
import { atMost, DRAIN_MS, exitStatus } from '../exit-status.js';
import { freePort } from '../free-port.js';
import { listenerUids, namespaceListenPorts } from '../listeners.js';
import type { DynoSpec, ExitStatus, RecordedDyno, Runtime, RunningDyno } from '../types.js';
import { runInImage } from '../../../lib/docker/run-in-image.js';
import { LABELS, ourFilter } from '../../docker/engine.js';
import type { DockerNetworks } from '../../docker/networks.js';
import type { DynoLimits } from '../../../lib/dyno-limits.js';
import { entrypoint, oneOffInput, oneOffOptions } from './one-off.js';
import { exitCause, limitOptions, storageQuota, watchDisk } from './limits.js';
import { followOutput, idempotent, rawOutput, statusOf } from '../../docker/streams.js';
import { isRoot, numericIds } from './image-user.js';

export interface DockerRuntimeOptions {
  docker: Docker;
  /** The app networks: a dyno joins its app's, and no other. */
  networks: DockerNetworks;
  /** The dyno limits of a spec that brings none (the reconciler gives each its app's). */
  limits: DynoLimits;
  /** Where dyno ports are published on the host: 127.0.0.1 unless set otherwise. */
  bindAddress: string;
  /** This server's `paas.instance` label (engine.ts instanceId): it adopts and sweeps only its own dynos. */
  instance: string;
}

/** What the runtime needs to know of an image to run it: its PATH and the USER its Dockerfile set. */
interface ImageFacts {
  path: string;
  user: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** How often a dyno whose port was taken by something else at start is retried on another. */
const PORT_TRIES = 3;

/**
 * Dynos as containers of the slug image. Each is labelled as ours, runs as the app's uid with an
 * init (signals, zombies), its limits (limits.ts) and no capability, joins its app's network only, and has its
 * PORT published on the bind address (loopback) at the same number, so the app's own "listening
 * on" line names the port the router uses. Containers outlive paas: a restarted server adopts them.
 * paas restarts crashed dynos itself (no Docker restart policy), so it owns the backoff.
 */
export class DockerRuntime implements Runtime {
  readonly name = 'docker';
  readonly persistent = true;
  private readonly images = new Map<string, Promise<ImageFacts>>();
  /** Whether the storage driver caps a container's writes (else they are watched). */
  private quota?: Promise<boolean>;
  /** Set by detach(): engine calls that fail from now on are the server letting go, not dyno exits. */
  private detached = false;
  private readonly streams = new Set<NodeJS.ReadableStream>();

  constructor(private readonly opts: DockerRuntimeOptions) {}

  async start(spec: DynoSpec): Promise<RunningDyno> {
    if (!spec.image) throw new Error(`${spec.app} ${spec.name}: the docker runtime runs slug images, and this release has none; push again to build one`);
    const network = await this.opts.networks.ensure(spec.app);
    const image = await this.imageFacts(spec.image);
    const limits = spec.limits ?? this.opts.limits;
    const quota = await (this.quota ??= storageQuota(this.opts.docker, spec.image, { [LABELS.managed]: 'true', [LABELS.instance]: this.opts.instance }));
    for (let attempt = 1; ; attempt++) {
      const port = await freePort(this.opts.bindAddress === '0.0.0.0' ? '127.0.0.1' : this.opts.bindAddress);
      const container = await this.create(spec, image, port, { network, limits, quota });
      // Attached before start, so not even the first line is missed.
      const input = spec.stdin || spec.tty !== undefined;
      // With stdin, the attach is hijacked: one raw connection carries input one way and output the other.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, ...(input ? { stdin: true, hijack: true } : {}) });
      const output = this.follow(stream, spec, spec.tty !== undefined);
      try {
        await container.start();
      } catch (err) {
        (stream as NodeJS.ReadWriteStream & { destroy?: () => void }).destroy?.();
        await idempotent(() => container.remove({ force: true }));
        // Another program took the port between our probe and Docker's bind: try another.
        if (attempt < PORT_TRIES && /port is already allocated|address already in use/i.test((err as Error).message)) continue;
        throw err;
      }
      // Output held for a slow reader (flow) is read once the container exits: then it is all there.
      const running = await this.running(container, spec.name, port, { ...output, atExit: () => void stream.resume() }, { diskBytes: quota ? undefined : limits.diskBytes });
      return input ? { ...running, ...oneOffInput(container, stream, spec) } : running;
    }
  }

  async stop(dyno: RunningDyno, graceMs: number): Promise<void> {
    const container = this.opts.docker.getContainer(dyno.handle);
    // Our own SIGTERM, grace and SIGKILL, to the millisecond (Docker's stop counts whole seconds).
    if (graceMs > 0) {
      await idempotent(() => container.kill({ signal: 'SIGTERM' }));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      const outcome = await Promise.race([dyno.exited.then(() => 'gone' as const), graceOver]);
      clearTimeout(timer);
      if (outcome === 'gone') return this.remove(dyno);
    }
    await idempotent(() => container.kill({ signal: 'SIGKILL' }));
    await dyno.exited;
    await this.remove(dyno);
  }

  async reap(stale: { app: string; handle: string | null }[], graceMs: number): Promise<number> {
    let stopped = 0;
    for (const { app, handle } of stale) {
      if (!handle || !(await this.isOurs(handle, app))) continue;
      await this.stopContainer(handle, graceMs);
      stopped++;
    }
    return stopped;
  }

  async adopt(dyno: RecordedDyno, onLine: DynoSpec['onLine']): Promise<RunningDyno | undefined> {
    if (!dyno.handle) return undefined;
    const container = this.opts.docker.getContainer(dyno.handle);
    const info = await container.inspect().catch(() => undefined);
    if (!info?.State.Running || !this.owns(info.Config.Labels, dyno.app)) return undefined;
    // A dyno on any other network than its app's alone (a paas before per-app networks) is replaced, not kept.
    const networks = Object.keys(info.NetworkSettings.Networks ?? {});
    if (networks.length !== 1 || networks[0] !== this.opts.networks.name(dyno.app)) return undefined;
    const binding = Object.values(info.HostConfig.PortBindings ?? {})[0] as { HostPort?: string }[] | undefined;
    const port = Number(binding?.[0]?.HostPort);
    if (!Number.isInteger(port) || port <= 0) return undefined;
    // Only what it prints from now on: the lines before were logged by the server that started it.
    const stream = await container.logs({ follow: true, stdout: true, stderr: true, since: Math.floor(Date.now() / 1000) });
    // Its limits are the ones it was started with; the disk watch needs only the size.
    const quota = Boolean(info.HostConfig.StorageOpt?.size);
    const disk = Number(/size=(\d+)/.exec(info.HostConfig.Tmpfs?.['/tmp'] ?? '')?.[1]);
    return this.running(container, dyno.name, port, this.follow(stream, { onLine }), { pid: info.State.Pid, diskBytes: quota || !disk ? undefined : disk });
  }

  async sweep(keep: Set<string>, graceMs: number): Promise<number> {
    const all = await this.opts.docker.listContainers({ all: true, filters: ourFilter({ instance: this.opts.instance }, [`${LABELS.kind}=dyno`]) });
    const gone = all.filter((c) => !keep.has(c.Id));
    await Promise.all(gone.map((c) => this.stopContainer(c.Id, graceMs)));
    return gone.length;
  }

  removeApp(app: string): Promise<void> {
    return this.opts.networks.remove(app);
  }

  detach(): void {
    this.detached = true;
    for (const stream of this.streams) (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }

  private async create(spec: DynoSpec, image: ImageFacts, port: number, on: { network: string; limits: DynoLimits; quota: boolean }): Promise<Docker.Container> {
    const suffix = randomBytes(3).toString('hex');
    const version = spec.release === undefined ? '' : `-v${spec.release}`;
    const prepend = spec.pathPrepend.map((p) => `/app/${p}`);
    const env = { ...spec.env, PORT: String(port), PATH: [...prepend, image.path].join(':') };
    // The image's own USER (a Dockerfile's), when it is a real user other than root; else the app's.
    const user = image.user === '' && spec.user ? `${spec.user.uid}:${spec.user.gid}` : image.user;
    if (isRoot(user)) throw new Error(`${spec.app} ${spec.name}: paas has no uid for this app, and dynos never run as root`);
    return this.opts.docker.createContainer({
      name: `paas-${spec.app}-${spec.name}${version}-${suffix}`,
      Image: spec.image,
      // A Procfile command runs in the image's bash, which execs its last command; none runs the
      // image's own ENTRYPOINT and CMD (an app built from its own Dockerfile).
      ...entrypoint(spec),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      User: user,
      Labels: {
        [LABELS.managed]: 'true',
        [LABELS.instance]: this.opts.instance,
        [LABELS.kind]: 'dyno',
        [LABELS.app]: spec.app,
        [LABELS.type]: spec.name.split('.')[0],
        [LABELS.dyno]: spec.name,
        ...(spec.release === undefined ? {} : { [LABELS.release]: String(spec.release) }),
      },
      ExposedPorts: { [`${port}/tcp`]: {} },
      AttachStdout: true,
      AttachStderr: true,
      ...oneOffOptions(spec),
      HostConfig: {
        Init: true,
        ...limitOptions(on.limits, on.quota),
        NetworkMode: on.network,
        PortBindings: { [`${port}/tcp`]: [{ HostIp: this.opts.bindAddress, HostPort: String(port) }] },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        RestartPolicy: { Name: 'no' },
      },
    });
  }

  /** The RunningDyno of a started (or adopted) container. */
  private async running(container: Docker.Container, name: string, port: number, output: { ended: Promise<void>; atExit?: () => void }, known: { pid?: number; diskBytes?: number }): Promise<RunningDyno> {
    const pid = known.pid ?? (await container.inspect()).State.Pid;
    // Writes the storage driver does not cap are measured, and stop the dyno past its limit.
    const disk = known.diskBytes === undefined ? undefined : watchDisk(container, known.diskBytes);
    const exited = this.waitExit(container).then(async (status) => {
      disk?.stop();
      const cause = status.code !== 0 ? await exitCause(container, disk?.reason) : {};
      output.atExit?.();
      // The lines printed before the exit are often what it died of: deliver them first.
      await atMost(output.ended, DRAIN_MS);
      return { ...status, ...cause };
    });
    const host = this.opts.bindAddress === '0.0.0.0' ? '127.0.0.1' : this.opts.bindAddress;
    // Docker's proxy accepts on the published port before the app listens: look inside the
    // container's network namespace for the app's own listener.
    // Where paas cannot see the container's processes (its own PID namespace), the connect alone counts.
    const netDir = `/proc/${pid}/net`;
    const visible = pid > 0 && fs.existsSync(netDir);
    const listening = () => !visible || listenerUids(port, netDir).length > 0;
    // The container's network namespace is its own: what listens there is the dyno (but Docker's DNS).
    const listenPorts = visible ? () => namespaceListenPorts(netDir) : undefined;
    return { id: randomUUID(), name, host, port, handle: container.id, exited, listening, listenPorts };
  }

  /** Settles with the container's exit; never while the server merely lets go of it (detach). */
  private async waitExit(container: Docker.Container): Promise<ExitStatus> {
    for (;;) {
      try {
        const { StatusCode } = (await container.wait()) as { StatusCode: number };
        return exitStatus(StatusCode, null, true);
      } catch (err) {
        if (this.detached) return new Promise<never>(() => undefined);
        if (statusOf(err) === 404) return { code: null, signal: 'SIGKILL' };
        // The engine's connection dropped (dockerd restarting): look again in a moment.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private follow(stream: NodeJS.ReadableStream, spec: Pick<DynoSpec, 'onLine' | 'onOutput'>, tty = false): { ended: Promise<void> } {
    this.streams.add(stream);
    const output = spec.onOutput ? rawOutput(this.opts.docker, stream, tty, spec.onOutput) : followOutput(this.opts.docker, stream, spec.onLine);
    void output.ended.then(() => this.streams.delete(stream));
    return output;
  }

  private async remove(dyno: RunningDyno): Promise<void> {
    await idempotent(() => this.opts.docker.getContainer(dyno.handle).remove({ force: true }));
  }

  /** Stops and removes a container found by id (reap, sweep), with the grace period. */
  private async stopContainer(id: string, graceMs: number): Promise<void> {
    const container = this.opts.docker.getContainer(id);
    await idempotent(() => container.stop({ t: Math.ceil(graceMs / 1000) }));
    await idempotent(() => container.remove({ force: true }));
  }

  private async isOurs(id: string, app: string): Promise<boolean> {
    const info = await this.opts.docker.getContainer(id).inspect().catch(() => undefined);
    return this.owns(info?.Config.Labels, app);
  }

  /** A container is this server's dyno of `app` only by its labels. */
  private owns(labels: Record<string, string> | undefined, app: string): boolean {
    return labels?.[LABELS.managed] === 'true' && labels[LABELS.instance] === this.opts.instance && labels[LABELS.app] === app;
  }

  private imageFacts(image: string): Promise<ImageFacts> {
    let facts = this.images.get(image);
    if (!facts) {
      facts = this.readImage(image);
      // A failed look-up is not cached: the image may be built in a moment.
      facts.catch(() => this.images.delete(image));
      this.images.set(image, facts);
    }
    return facts;
  }

  private async readImage(image: string): Promise<ImageFacts> {
    const info = await this.opts.docker
      .getImage(image)
      .inspect()
      .catch((err: unknown) => {
        if (statusOf(err) !== 404) throw err;
        throw new Error(`its image ${image} is no longer on this host (paas keeps the images of each app's last 10 releases). Push that commit again to rebuild it.`);
      });
    const path = info.Config.Env?.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
    const user = info.Config.User ?? '';
    // A generated image's USER is numeric already: no probe container (a third of a second of
    // every deploy, measured under load) is needed to know its ids.
    if (numericIds(user)) return { path, user };
    return { path, user: isRoot(user) ? '' : await this.numericUser(image, user) };
  }

  /**
   * The uid:gid a Dockerfile's USER stands for, as numbers; '' (run as the app) when it is root by
   * any name (`00`, a passwd alias of 0) or leaves the group 0, or cannot be read.
   */
  private async numericUser(image: string, user: string): Promise<string> {
    const labels = { [LABELS.managed]: 'true', [LABELS.instance]: this.opts.instance, [LABELS.kind]: 'probe' };
    const result = await runInImage(this.opts.docker, image, ['/bin/sh', '-c', 'id -u; id -g'], { user, labels }).catch(() => undefined);
    const [uid, gid] = (result?.stdout ?? '').split('\n').filter(Boolean).map(Number);
    return result?.code === 0 && uid > 0 && gid > 0 ? `${uid}:${gid}` : '';
  }
}
