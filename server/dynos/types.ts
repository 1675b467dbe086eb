// The reconciler's model: a release to run, its dynos, and the state it keeps per app.
import type { Slug } from '../../builder/index.js';
import type { AppLogs } from '../logs/pipeline.js';
import type { DynoLimits } from '../../lib/dyno-limits.js';
import type { DynoSpec, PrestartedDyno, RunningDyno, Runtime, TtySize } from '../runtime/types.js';
import type { AppUser } from '../sandbox/spawn.js';
import type { Db } from '../store/db.js';
import type { DynoState } from '../store/dynos.js';
import type { OutputTail } from './boot-report.js';
import type { Routes } from './routes.js';
/** A release the reconciler can bring up: the slug plus the environment its dynos get. */
export interface ReleaseToRun {
  app: string;
  appId: number;
  releaseId: number;
  /** The release's version (7 for v7). */
  version: number;
  slug: Slug;
  /** App config and dyno metadata; PORT and DYNO are added per dyno. */
  env: Record<string, string>;
  /** The app's own uid and gid, when paas runs as root. */
  user?: AppUser;
}

/** A one-off run (`paas run`): its command, the env it adds, and how it is attached. */
export interface OneOffRun {
  /** N of run.N. */
  index: number;
  command: string;
  env: Record<string, string>;
  stdin?: boolean;
  tty?: TtySize;
  /** Attached: the output goes here, raw, and not to the logs. Detached (undefined): lines go to the logs. */
  onOutput?: DynoSpec['onOutput'];
}

export interface ReconcilerDeps {
  runtime: Runtime;
  db: Db;
  routes: Routes;
  logs: AppLogs;
  bootTimeoutMs: number;
  stopGraceMs: number;
  /** How long new web dynos must stay up after the route switch before the release is kept (its trial). */
  settleMs: number;
  /** Host variables every dyno gets (LANG, TZ): never a paas setting or secret. */
  baseEnv: Record<string, string>;
  /** The server's dyno limits (PAAS_DYNO_*), which an app's config vars of the same names override. */
  dynoLimits?: DynoLimits;
  /**
   * The router's drain (router/router.ts): for a web dyno out of the routes, waits for the requests
   * sent to it to finish (at most `timeoutMs`) and closes the router's connections to it. Resolves
   * with the number still in flight when the time ran out.
   */
  drain?: (target: { host: string; port: number }, timeoutMs: number) => Promise<number>;
}

/** One dyno the reconciler runs: a slot of the formation (`web.2`) on a release. */
export interface Dyno {
  type: string;
  index: number;
  name: string;
  release: ReleaseToRun;
  running: RunningDyno;
  state: DynoState;
  /** Web dynos only: whether the router sends it traffic. */
  routed: boolean;
  /** Set once nothing may restart it: replaced, scaled away, or being stopped on purpose. */
  retired: boolean;
  restarts: number;
  /** Crashes in a row of this slot, for the restart backoff. */
  streak: number;
  startedAt: number;
  /** Its last lines of output, quoted when it fails. */
  tail: OutputTail;
  /** Set by the first stop; later ones wait on it. */
  stopped?: Promise<void>;
  /** The pending restart of a crashed dyno. */
  reviveTimer?: ReturnType<typeof setTimeout>;
}

export interface AppState {
  /** The release the app's dynos should run: the last one rolled out. */
  release?: ReleaseToRun;
  dynos: Dyno[];
  /** The release in its settle window, whose old web dynos still run (trial.ts). */
  trial?: Trial;
  /** The drain of the old web dynos of the last trial kept (awaited when the app is destroyed). */
  draining?: Promise<void>;
  /** Every change to one app runs after the one before it (serial); apps run in parallel. */
  queue: Promise<unknown>;
}

/** Hears that a release on trial was put back: why (the dyno that died, how, its last output), and what serves again. */
export type RevertHandler = (why: string, back: ReleaseToRun) => void;

/** A release on trial (trial.ts): what to hand the traffic back to, and to whom to say so. */
export interface Trial {
  release: ReleaseToRun;
  /** The release that serves again if a new dyno dies. */
  previous: ReleaseToRun;
  fresh: Dyno[];
  old: Dyno[];
  onRevert?: RevertHandler;
  /** The new dyno whose end put the release back, once one has. */
  fallen?: Dyno;
  /** After a revert: brings the other process types back onto `previous` (rollout.ts knows how). */
  restoreOthers: () => Promise<void>;
  timer?: ReturnType<typeof setTimeout>;
}

/** The whole numbers from `from` to `to`: the indices of a formation's slots. */
export const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * What the reconciler's parts share: its dependencies and its bookkeeping. The Reconciler owns it;
 * rollout, revive, one-offs and the dyno functions get it as their first argument.
 */
export interface Ctx {
  readonly deps: ReconcilerDeps;
  readonly apps: Map<string, AppState>;
  /** Every dyno started and not yet exited, whatever it is for, so shutdown leaves none behind. */
  readonly started: Set<RunningDyno>;
  /** Stops under way, so shutdown waits for them. */
  readonly stops: Set<Promise<void>>;
  /** Dynos booting or running once (a release phase): on a persistent runtime, what shutdown stops. */
  readonly unsettled: Set<RunningDyno>;
  /** Per app, the web dyno its deploy prestarted while the slug builds (prestart.ts), until its rollout takes it. */
  readonly warm: Map<string, Promise<PrestartedDyno | undefined>>;
  /** One-off dynos (`paas run`) by id, with their commands, for ps. */
  readonly oneOffs: Map<string, string>;
  /** Set by close(): no dyno starts after it. */
  closed: boolean;
  /** The app's state, made on first use. */
  state(app: string): AppState;
  /** Runs `fn` after every change to the app queued before it (apps run in parallel), ending its trial first. */
  serial<T>(app: string, fn: () => Promise<T>): Promise<T>;
}

/** The formation types of a release: its process types but the release phase. */
export function formationTypes(release: ReleaseToRun): string[] {
  return Object.keys(release.slug.processTypes).filter((t) => t !== 'release');
}
