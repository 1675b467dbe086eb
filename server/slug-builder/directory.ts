import { build, type Slug } from '../../builder/index.js';
import type { RegistrySettings } from '../../builder/registry.js';
import type { SandboxHost } from '../sandbox/host.js';
import { appUser, type AppUser } from '../sandbox/spawn.js';
import { sandboxedSteps, type StepLimits } from '../sandbox/steps.js';
import type { DataPaths } from '../store/paths.js';
import type { AppNetworks } from '../netns/networks.js';
import { hostRegistryEnv } from './registry.js';
import type { SlugApp, SlugBuilder, SlugRequest } from './types.js';

/**
 * The process runtime's slugs: directories under the data dir, built by steps in the app's sandbox
 * under its uid (when paas runs as root). Nothing of an app lives outside the data dir.
 */
export class SlugDirBuilder implements SlugBuilder {
  constructor(private readonly opts: { sandbox: SandboxHost; paths: DataPaths; appEnv: Record<string, string>; registry: RegistrySettings; networks?: AppNetworks; limits?: StepLimits }) {}

  async build(req: SlugRequest): Promise<Slug> {
    const { paths, sandbox, registry } = this.opts;
    const netns = (await this.opts.networks?.forApp(req.app.name))?.netns;
    const steps = sandboxedSteps(sandbox, { user: this.dynoUser(req.app), env: this.opts.appEnv, scratchRoot: paths.scratch, toolsRoot: paths.tools, signal: req.signal, registry, netns, limits: this.opts.limits });
    const hostNpmEnv = hostRegistryEnv(registry, paths.registry);
    return build({ appName: req.app.name, buildId: req.buildId, source: req.source, slugsDir: paths.slugs, cacheDir: paths.cache, nodeCacheDir: paths.node, toolsDir: paths.tools, steps, hostNpmEnv, config: req.config, log: req.log, onDetected: req.onDetected });
  }

  dynoUser(app: SlugApp): AppUser | undefined {
    return appUser(app, this.opts.sandbox);
  }

  /** Slug directories are in the data dir: `paas gc` removes them itself. */
  async prune(): Promise<number> {
    return 0;
  }

  /** The app's network goes with it (its dynos are stopped by now). */
  async removeApp(app: SlugApp): Promise<void> {
    await this.opts.networks?.remove('app', app.name);
  }
}
