// Rollouts and scaling: new web dynos boot beside the old, the routes switch in one step, other
// types are replaced after; the old web dynos drain, once the release's trial (trial.ts) is over.
import { DeployError } from '../../lib/errors.js';
import { formationFor } from '../store/formation.js';
import { noWebNotice } from './boot-report.js';
import { bootMany, publish, stopMany, stopOne } from './dyno.js';
import { takePrestarted } from './prestart.js';
import { scheduleRevive, watch } from './revive.js';
import { type RevertHandler, startTrial } from './trial.js';
import { type AppState, type Ctx, type Dyno, formationTypes, range, type ReleaseToRun } from './types.js';

/**
 * Rolls the app onto `release` (Reconciler.deploy): the new web dynos boot and pass their checks, the
 * routes switch in one step, other process types are replaced, and it returns. With `settle` (and a
 * release before it) the release then goes on trial for the settle window (trial.ts): the old web
 * dynos keep running out of the routes, and `onRevert` hears if a new one dies and they take over.
 */
export async function rollout(ctx: Ctx, release: ReleaseToRun, log: (line: string) => void, signal: AbortSignal | undefined, settle: boolean, onRevert?: RevertHandler): Promise<void> {
  if (signal?.aborted) throw new DeployError(String(signal.reason));
  const s = ctx.state(release.app);
  const previous = s.release;
  // A restore (no settle) brings back the release that is current whatever happens: should its boot
  // fail, scale and restart still know what to run.
  if (!settle) s.release = release;
  // The formation this release will have: it is stored only once the release succeeds.
  const formation = formationFor(ctx.deps.db, release.appId, release.slug.processTypes);
  const webWanted = release.slug.processTypes.web ? (formation.web ?? 0) : 0;
  if (!release.slug.processTypes.web) for (const line of noWebNotice(release.slug.processTypes, formation)) log(line);
  if (webWanted > 0) log(`-----> Launching ${range(1, webWanted).map((i) => `web.${i}`).join(', ')}`);
  // web.1 may have been prestarted while the slug built: the runtime goes on from it, or cancels it.
  const prestarted = await takePrestarted(ctx, release.app);
  if (webWanted === 0) await prestarted?.cancel();
  const fresh = await bootMany(ctx, release, 'web', range(1, webWanted), log, prestarted);
  const old = s.dynos.filter((d) => d.type === 'web');
  if (signal?.aborted) {
    await stopMany(ctx, fresh);
    throw new DeployError(String(signal.reason));
  }
  // The switch: one route table update, from all old web dynos to all new ones.
  for (const d of old) d.routed = false;
  for (const d of fresh) d.routed = true;
  s.dynos = [...s.dynos.filter((d) => d.type !== 'web'), ...fresh];
  s.release = release;
  publish(ctx, release.app);
  if (settle && previous && fresh.length > 0 && ctx.deps.settleMs > 0) {
    startTrial(ctx, s, { release, previous, fresh, old, onRevert, restoreOthers: () => replaceOtherTypes(ctx, s, previous, appLog(ctx, release.app)) });
  } else {
    for (const d of fresh) watch(ctx, d);
    // The release is live: the old web dynos drain in the background (tracked for shutdown), so the
    // next push need not wait for their grace periods.
    stopMany(ctx, old).catch((err: unknown) => console.error(`paas: draining the old web dynos of ${release.app} failed:`, err));
  }
  // Nothing below may fail the release.
  await replaceOtherTypes(ctx, s, release, log);
}

/** Other types: the dynos not on `release` go, the formation's quantity of `release` starts. */
async function replaceOtherTypes(ctx: Ctx, s: AppState, release: ReleaseToRun, log: (line: string) => void): Promise<void> {
  const formation = formationFor(ctx.deps.db, release.appId, release.slug.processTypes);
  for (const type of new Set([...s.dynos.map((d) => d.type), ...formationTypes(release)])) {
    if (type === 'web') continue;
    await stopMany(ctx, s.dynos.filter((d) => d.type === type && d.release !== release));
    s.dynos = s.dynos.filter((d) => d.type !== type || d.release === release);
    if (!release.slug.processTypes[type]) continue;
    await scaleType(ctx, s, release, type, formation[type] ?? 0, log).catch((err: unknown) => {
      log(`-----> ${type} dynos did not start: ${(err as Error).message.split('\n')[0]}`);
    });
  }
}

/** Where what happens after the pusher has gone is said: the app's log. */
function appLog(ctx: Ctx, app: string): (line: string) => void {
  return (line) => ctx.deps.logs.append(app, 'paas[api]', line.replace(/^-----> /, '').trim());
}

/** Starts or stops dynos of one type until `want` of the release run; web dynos boot before they are routed. */
export async function scaleType(ctx: Ctx, s: AppState, release: ReleaseToRun, type: string, want: number, log: (line: string) => void): Promise<void> {
  const have = s.dynos.filter((d) => d.type === type && !d.retired).sort((a, b) => a.index - b.index);
  // A scale starts every crash streak over: a crashed dyno waiting out its backoff is tried now.
  for (const d of have) {
    d.streak = 0;
    if (d.state === 'crashed' && d.reviveTimer) {
      clearTimeout(d.reviveTimer);
      scheduleRevive(ctx, d, 1);
    }
  }
  if (have.length > want) {
    const surplus = have.slice(want);
    for (const d of surplus) d.routed = false;
    s.dynos = s.dynos.filter((d) => !surplus.includes(d));
    publish(ctx, release.app);
    await stopMany(ctx, surplus);
    return;
  }
  const used = new Set(have.map((d) => d.index));
  const missing = range(1, want).filter((i) => !used.has(i));
  if (missing.length === 0) return;
  log(`-----> Starting ${missing.map((i) => `${type}.${i}`).join(', ')}`);
  const fresh = await bootMany(ctx, release, type, missing, log);
  for (const d of fresh) d.routed = type === 'web';
  s.dynos.push(...fresh);
  publish(ctx, release.app);
  for (const d of fresh) watch(ctx, d);
}

/**
 * Replaces one dyno. `rolling` (web) boots the successor first, routes it, then drains the old one,
 * so the app keeps its capacity; if the successor fails, the old one stays. `stop-first` (other
 * types, ps:stop) stops the old one, then starts its successor.
 */
export async function replace(ctx: Ctx, s: AppState, old: Dyno, how: 'rolling' | 'stop-first'): Promise<void> {
  const app = old.release.app;
  const release = s.release ?? old.release;
  if (how === 'stop-first' || old.type !== 'web') {
    s.dynos = s.dynos.filter((d) => d !== old);
    publish(ctx, app);
    await stopOne(ctx, old);
    let fresh: Dyno;
    try {
      [fresh] = await bootMany(ctx, release, old.type, [old.index], () => undefined);
    } catch (err) {
      // The formation still wants this slot: it comes back like a crashed dyno, with backoff.
      placeholder(ctx, s, old, release);
      throw err;
    }
    fresh.routed = fresh.type === 'web';
    s.dynos.push(fresh);
    publish(ctx, app);
    return watch(ctx, fresh);
  }
  const [fresh] = await bootMany(ctx, release, old.type, [old.index], () => undefined);
  fresh.routed = true;
  old.routed = false;
  s.dynos = [...s.dynos.filter((d) => d !== old), fresh];
  publish(ctx, app);
  watch(ctx, fresh);
  await stopOne(ctx, old);
}

/** Keeps an empty slot of the formation as a crashed dyno, so the crash restarts bring it back. */
export function placeholder(ctx: Ctx, s: AppState, gone: Dyno, release: ReleaseToRun): void {
  const slot: Dyno = { ...gone, release, state: 'crashed', routed: false, retired: false, stopped: undefined, reviveTimer: undefined, restarts: gone.restarts + 1 };
  s.dynos.push(slot);
  scheduleRevive(ctx, slot, 2);
}
