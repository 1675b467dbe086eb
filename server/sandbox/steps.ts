import type { StepRunner } from '../../builder/exec.js';
import { superviseStep } from '../../builder/exec.js';
import { signalGroup } from '../runtime/process-groups.js';
import type { SandboxHost } from './host.js';
import { APP_ROOT, type AppUser, startSandboxed } from './spawn.js';

/**
 * Build steps (npm ci, npm run build, pip install) of one app: each runs in the app's sandbox under
 * its uid, with the tree being built at /app. What a step leaves running dies with it.
 */
export function sandboxedSteps(host: SandboxHost, params: { tree: string; user?: AppUser; env: Record<string, string> }): { runStep: StepRunner; appRoot: string } {
  const runStep: StepRunner = async (argv, opts) => {
    const { child } = await startSandboxed(host, {
      appDir: params.tree,
      writes: 'direct',
      user: params.user,
      argv,
      // Tool caches go to the step's private /tmp, not into the slug.
      env: { ...params.env, npm_config_cache: '/tmp/.npm', XDG_CACHE_HOME: '/tmp/.cache' },
      pathPrepend: ['node_modules/.bin'],
    });
    const kill = () => child.pid && signalGroup(child.pid, 'SIGKILL');
    try {
      await superviseStep(child, argv, { ...opts, kill });
    } finally {
      // Without namespaces, a step's background processes would outlive it in its process group.
      kill();
    }
  };
  return { runStep, appRoot: host.kind === 'bwrap' ? APP_ROOT : params.tree };
}
