import { buildImage } from '../../builder/docker/index.js';
import { ensureStack, type StackImage } from '../../builder/docker/stack.js';
import type { Slug } from '../../builder/index.js';
import { resolveNodeVersion } from '../../builder/node-versions.js';
import type { RegistrySettings } from '../../builder/registry.js';
import type { BuildLimits } from '../../lib/dyno-limits.js';
import type { BuildCgroups } from '../docker/build-cgroup.js';
import { type DockerHost, LABELS } from '../docker/engine.js';
import { imagesBytes, pruneAppImages, removeAppObjects } from '../docker/images.js';
import type { AppUser } from '../sandbox/spawn.js';
import type { DataPaths } from '../store/paths.js';
import { hostRegistryEnv } from './registry.js';
import type { SlugApp, SlugBuilder, SlugRequest } from './types.js';

/**
 * The Docker runtime's slugs: images FROM the stack image (built first, with its progress in the
 * push, when this host has none), owned by the app's own uid, labelled as this server's.
 */
export class SlugImageBuilder implements SlugBuilder {
  constructor(private readonly opts: { docker: DockerHost; paths: DataPaths; stackImage: string; caFile?: string; registry: RegistrySettings; limits?: BuildLimits; cgroups?: BuildCgroups }) {}

  async build(req: SlugRequest): Promise<Slug> {
    const { app, log } = req;
    const { docker, stackImage, caFile } = this.opts;
    const user = this.dynoUser(app);
    if (!user) throw new Error(`${app.name} has no uid; restart the server to assign one`);
    const stack = await ensureStack(docker.engine, { image: stackImage, caFile, log });
    // The build's process limit: a cgroup of its own the step containers go under, removed after.
    const cgroup = this.opts.limits && (await this.opts.cgroups?.make(`paas-build-${docker.instance}-${req.buildId}`, this.opts.limits.pids));
    try {
      return await this.buildIn(req, user, stack, cgroup?.parent);
    } finally {
      await cgroup?.remove();
    }
  }

  private buildIn(req: SlugRequest, user: AppUser, stack: StackImage, cgroupParent: string | undefined): Promise<Slug> {
    const { app, log } = req;
    const { docker, paths, stackImage, registry } = this.opts;
    const npmEnv = hostRegistryEnv(registry, paths.registry);
    return buildImage({
      docker: docker.engine,
      appName: app.name,
      buildId: req.buildId,
      commit: req.commit,
      source: req.source,
      slugsDir: paths.slugs,
      cacheDir: paths.cache,
      stackImage,
      stackNode: stack.node,
      registry,
      hostNpmEnv: npmEnv,
      stackNpm: stack.npm || undefined,
      user,
      config: req.config,
      labels: { [LABELS.instance]: docker.instance },
      signal: req.signal,
      limits: this.opts.limits,
      cgroupParent,
      // engines.node as on the process runtime; a range the stack's Node meets keeps it.
      nodeVersion: (range) => resolveNodeVersion(range, { platform: stack.node || undefined, npmEnv }),
      log,
      onDetected: req.onDetected,
    });
  }

  /** Always the app's own uid in a container, never root. */
  dynoUser(app: SlugApp): AppUser | undefined {
    return app.uid !== null ? { uid: app.uid, gid: app.uid } : undefined;
  }

  prune(app: SlugApp, keep: Set<string>, opts: { dryRun?: boolean } = {}): Promise<number> {
    return pruneAppImages(this.opts.docker.engine, { instance: this.opts.docker.instance, app: app.name }, keep, opts);
  }

  storedBytes(): Promise<number> {
    return imagesBytes(this.opts.docker.engine, this.opts.docker.instance);
  }

  removeApp(app: SlugApp): Promise<void> {
    return removeAppObjects(this.opts.docker.engine, { instance: this.opts.docker.instance, app: app.name });
  }
}
