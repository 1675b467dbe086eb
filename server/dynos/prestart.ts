// A push's first web dyno, started while its slug builds (Runtime.prestart): the deploy asks for it
// before the build, the rollout hands it to the runtime's start, and whatever did not take it (a
// failed build, a cancelled push, a release without web, shutdown) cancels it.
import { dynoLimitsFor } from '../../lib/dyno-limits.js';
import type { PrestartedDyno } from '../runtime/types.js';
import type { AppUser } from '../sandbox/spawn.js';
import { getFormation } from '../store/formation.js';
import type { Ctx } from './types.js';

/** What a deploy knows of its release before the build: the app, its config (which the app's lock keeps) and its dynos' uid. */
export interface PrestartTarget {
  app: string;
  appId: number;
  /** The config the release will get: what decides the dyno's limits. */
  env: Record<string, string>;
  user?: AppUser;
}

const none = async () => undefined;

/**
 * Prestarts web.1 of the app's next release where the runtime can and the formation runs a web
 * dyno (or has none yet). Returns what the deploy calls once it is over, whatever happened: it
 * cancels the dyno unless the rollout took it, and resolves once nothing of it is left.
 */
export function prestartWeb(ctx: Ctx, target: PrestartTarget): () => Promise<void> {
  const { runtime, dynoLimits, db } = ctx.deps;
  if (!runtime.prestart || ctx.closed || (getFormation(db, target.appId).web ?? 1) < 1) return none;
  const limits = dynoLimits && dynoLimitsFor(dynoLimits, target.env);
  // Dockerfile slugs run on docker, which has no prestart: a process runtime's slug is a buildpack's.
  const pending = runtime.prestart({ app: target.app, name: 'web.1', user: target.user, limits, profile: true }).catch((err: unknown) => {
    // Only a head start lost: the dyno starts at once at its turn.
    console.error(`paas: could not prestart web.1 of ${target.app}:`, err);
    return undefined;
  });
  void ctx.warm.get(target.app)?.then((w) => w?.cancel());
  ctx.warm.set(target.app, pending);
  return async () => {
    if (ctx.warm.get(target.app) === pending) ctx.warm.delete(target.app);
    await (await pending)?.cancel();
  };
}

/** The app's prestarted web dyno, for its rollout to start (the runtime cancels it if it does not fit). */
export async function takePrestarted(ctx: Ctx, app: string): Promise<PrestartedDyno | undefined> {
  const pending = ctx.warm.get(app);
  ctx.warm.delete(app);
  return pending;
}

/** Cancels every prestarted dyno (shutdown): none may outlive the server. */
export async function cancelPrestarted(ctx: Ctx): Promise<void> {
  const all = [...ctx.warm.values()];
  ctx.warm.clear();
  await Promise.allSettled(all.map(async (p) => (await p)?.cancel()));
}
