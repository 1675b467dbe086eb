import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { BuildError, type BuildSteps, nodeHomeSeen } from '../../builder/index.js';
import { superviseStep } from '../../builder/exec.js';
import { signalGroup } from '../runtime/process-groups.js';
import type { SandboxHost } from './host.js';
import { APP_ROOT, type AppUser, removeScratch, startSandboxed } from './spawn.js';

/**
 * Build steps (npm ci, npm run build, pip install) of one app: each runs in the app's sandbox under
 * its uid, with the tree being built at /app. What a step leaves running dies with it, and a step
 * still running when `signal` aborts (shutdown, the pusher gone) is killed and fails with its reason.
 */
export function sandboxedSteps(
  host: SandboxHost,
  params: { user?: AppUser; env: Record<string, string>; scratchRoot: string; toolsRoot?: string; signal?: AbortSignal },
): BuildSteps {
  const { signal } = params;
  return {
    owner: params.user,
    pathOf: (tree) => (host.kind === 'bwrap' ? APP_ROOT : tree),
    async run(argv, opts) {
      if (signal?.aborted) throw new BuildError(String(signal.reason));
      const scratchDir = path.join(params.scratchRoot, `build-${randomUUID()}`);
      const nodedir = opts.node ? nodeHomeSeen(opts.node, host.kind === 'bwrap') : host.nodeDir;
      const { child } = await startSandboxed(host, {
        appDir: opts.tree,
        writes: 'direct',
        scratchDir,
        user: params.user,
        argv,
        // Tool caches go to the step's private /tmp, not into the slug, unless the plan names the
        // build's own cache. node-gyp takes the headers' location under its own prefix: as
        // npm_config_nodedir, npm would warn on every build. An engines.node version brings its
        // own headers, which its native modules must be built against.
        env: {
          ...params.env,
          npm_config_cache: '/tmp/.npm',
          XDG_CACHE_HOME: '/tmp/.cache',
          ...opts.env,
          ...(nodedir ? { npm_package_config_node_gyp_nodedir: nodedir } : {}),
        },
        pathPrepend: ['node_modules/.bin'],
        node: opts.node,
        tools: opts.tools?.length && params.toolsRoot ? { root: params.toolsRoot, dirs: opts.tools.map((t) => t.dir) } : undefined,
      });
      const kill = () => child.pid && signalGroup(child.pid, 'SIGKILL');
      signal?.addEventListener('abort', kill);
      // Shutdown may have come while the sandbox was starting: the listener above came too late for it.
      if (signal?.aborted) kill();
      try {
        await superviseStep(child, argv, { ...opts, kill });
      } catch (err) {
        throw signal?.aborted ? new BuildError(String(signal.reason)) : err;
      } finally {
        signal?.removeEventListener('abort', kill);
        // Without namespaces, a step's background processes would outlive it in its process group.
        kill();
        await removeScratch(scratchDir);
      }
    },
  };
}
