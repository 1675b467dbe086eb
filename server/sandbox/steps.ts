import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError, type BuildSteps, nodeHomeSeen } from '../../builder/index.js';
import { superviseStep } from '../../builder/exec.js';
import { registryMounts, type RegistrySettings } from '../../builder/registry.js';
import type { BuildLimits } from '../../lib/dyno-limits.js';
import type { ToolRef } from '../../lib/tool-ref.js';
import type { Cgroups } from './cgroups.js';
import { signalGroup } from './process-groups.js';
import type { SandboxHost } from './host.js';
import { APP_ROOT, type AppUser, removeScratch, startSandboxed } from './spawn.js';

/** Where a build step's sandbox shows the operator's registry settings (and nothing else does). */
const REGISTRY_DIR = '/opt/paas/registry';
/** yarn berry reads the .yarnrc.yml of every directory from /app up: this one counts after the app's own. */
const ROOT_YARNRC = '/.yarnrc.yml';

/**
 * The registry settings for one step: in bubblewrap, files shown from pipes at REGISTRY_DIR (and
 * berry's at /); without it, files in the step's scratch dir that only the app's uid reads, and
 * berry's settings as env, since the step sees the host's / .
 */
async function registryFor(host: SandboxHost, settings: RegistrySettings, scratchDir: string, user: AppUser | undefined): Promise<{ env: Record<string, string>; files?: Record<string, string> }> {
  if (host.kind === 'bwrap') {
    const mounts = registryMounts(settings, REGISTRY_DIR);
    const files = Object.fromEntries(Object.entries(mounts.files).map(([name, text]) => [path.posix.join(REGISTRY_DIR, name), text]));
    return { env: mounts.env, files: { ...files, ...(mounts.yarnrc ? { [ROOT_YARNRC]: mounts.yarnrc } : {}) } };
  }
  const dir = path.join(scratchDir, 'registry');
  const mounts = registryMounts(settings, dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(scratchDir, 0o711); // the app's uid passes through to its own directory
  for (const [name, text] of Object.entries(mounts.files)) {
    await fs.writeFile(path.join(dir, name), text, { mode: 0o400 });
    if (user) await fs.chown(path.join(dir, name), user.uid, user.gid);
  }
  if (user) await fs.chown(dir, user.uid, user.gid);
  return { env: { ...mounts.env, ...mounts.yarnEnv } };
}

/**
 * Where node-gyp finds the headers, so native modules build offline. npm and yarn hand
 * npm_package_config_node_gyp_nodedir on to install scripts (as npm_config_nodedir, some npm 11
 * releases warn on every build). pnpm drops every npm_* variable from its scripts' env and sets
 * its own config there instead: it gets the directory as that config, npm_config_nodedir.
 */
function nodeGypDir(dir: string, tools: ToolRef[] | undefined): Record<string, string> {
  return { npm_package_config_node_gyp_nodedir: dir, ...(tools?.some((t) => t.name === 'pnpm') ? { npm_config_nodedir: dir } : {}) };
}

/** What each build step may use (PAAS_BUILD_MEMORY, PAAS_BUILD_PIDS), and where its cgroup is made (as root, with cgroups). */
export type StepLimits = BuildLimits & { cgroups?: Cgroups };

/**
 * Build steps (npm ci, npm run build, pip install) of one app: each runs in the app's sandbox under
 * its uid, with the tree being built at /app. What a step leaves running dies with it, and a step
 * still running when `signal` aborts (shutdown, the pusher gone) is killed and fails with its reason.
 */
export function sandboxedSteps(
  host: SandboxHost,
  params: { user?: AppUser; env: Record<string, string>; scratchRoot: string; toolsRoot?: string; signal?: AbortSignal; registry?: RegistrySettings; netns?: string; limits?: StepLimits },
): BuildSteps {
  const { signal } = params;
  return {
    owner: params.user,
    pathOf: (tree) => (host.kind === 'bwrap' ? APP_ROOT : tree),
    async run(argv, opts) {
      if (signal?.aborted) throw new BuildError(String(signal.reason));
      const id = randomUUID();
      const scratchDir = path.join(params.scratchRoot, `build-${id}`);
      const nodedir = opts.node ? nodeHomeSeen(opts.node, host.kind === 'bwrap') : host.nodeDir;
      const limits = params.limits;
      const group = limits?.cgroups?.create(`build-${id}`, { memoryBytes: limits.memoryBytes, pids: limits.pids });
      const start = async () => {
        const registry = params.registry ? await registryFor(host, params.registry, scratchDir, params.user) : undefined;
        return startSandboxed(host, {
          appDir: opts.tree,
          writes: 'direct',
          scratchDir,
          user: params.user,
          argv,
          // Tool caches go to the step's private /tmp, not into the slug, unless the plan names the
          // build's own cache. An engines.node version brings its own headers, which its native
          // modules must be built against (see nodeGypDir).
          env: {
            ...params.env,
            npm_config_cache: '/tmp/.npm',
            XDG_CACHE_HOME: '/tmp/.cache',
            ...opts.env,
            ...(nodedir ? nodeGypDir(nodedir, opts.tools) : {}),
            // The operator's registry, CA and proxy: every step (install, build script) on any Node.
            ...registry?.env,
          },
          pathPrepend: ['node_modules/.bin'],
          node: opts.node,
          tools: opts.tools?.length && params.toolsRoot ? { root: params.toolsRoot, dirs: opts.tools.map((t) => t.dir) } : undefined,
          files: registry?.files,
          // The app's own network: a build reaches the registry and the world, not the host.
          netns: params.netns,
          limits: group && { cgroupProcs: group.procsFiles },
        });
      };
      // A sandbox that could not start leaves no settings behind.
      const { child } = await start().catch(async (err: unknown) => {
        await removeScratch(scratchDir);
        await group?.remove();
        throw err;
      });
      const kill = () => child.pid && signalGroup(child.pid, 'SIGKILL');
      signal?.addEventListener('abort', kill);
      // Shutdown may have come while the sandbox was starting: the listener above came too late for it.
      if (signal?.aborted) kill();
      try {
        await superviseStep(child, argv, { ...opts, kill });
      } catch (err) {
        if (signal?.aborted) throw new BuildError(String(signal.reason));
        if (group?.outOfMemory()) throw new BuildError(`\`${argv.join(' ')}\` went over the build's memory limit (PAAS_BUILD_MEMORY, ${Math.round(limits!.memoryBytes / 1024 ** 2)} MB) and was killed.`);
        throw err;
      } finally {
        signal?.removeEventListener('abort', kill);
        // Without namespaces, a step's background processes would outlive it in its process group.
        kill();
        await removeScratch(scratchDir);
        await group?.remove().catch(() => undefined);
      }
    },
  };
}
