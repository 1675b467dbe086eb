import type { DynoLimits } from '../../lib/dyno-limits.js';
import type { ToolRef } from '../../lib/tool-ref.js';
/**
 * The runtime runs dynos. Two implementations share this interface: `process` (child processes in
 * sandboxes) and `docker` (containers). The reconciler never knows which one it has; one contract
 * test suite (test/runtime/contract.ts) runs against each.
 */
export interface DynoSpec {
  app: string;
  /** e.g. "web.1": also the DYNO env var. */
  name: string;
  /** The release's version (7 for v7), which the docker runtime puts in the container's name and labels. */
  release?: number;
  /** The slug directory; the process runtime shows it to the dyno at /app, its working directory and HOME. */
  slugDir: string;
  /** The slug image, which the docker runtime runs (it has the tree at /app, or where its Dockerfile put it). */
  image?: string;
  /** Shell command from the Procfile; undefined runs the image's own ENTRYPOINT/CMD (docker only). */
  command: string | undefined;
  /**
   * Source the app's `.profile.d/*.sh` and `.profile` before the command, as Heroku does
   * (`launcher.ts`): true for buildpack slugs, false for an app's own Dockerfile.
   */
  profile?: boolean;
  /** The exact Node.js version the slug was built for, when not the stack's (the process runtime puts it first on PATH). */
  node?: string;
  /** The package managers the slug was built with (the process runtime puts them first on PATH; an image has them). */
  tools?: ToolRef[];
  /** The app's config and dyno variables; the runtime adds PORT, PATH and HOME. */
  env: Record<string, string>;
  /** Slug directories, relative to its root, that go first on PATH. */
  pathPrepend: string[];
  /** The app's own uid and gid, when paas can switch to it (runs as root). */
  user?: { uid: number; gid: number };
  /** Each line the dyno prints (unless `onOutput` takes its output). */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** A one-off run's output as it comes, bytes unsplit (binary, a terminal's escapes), instead of lines. */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** A one-off run that reads input: the dyno's stdin is `RunningDyno.stdin` (else it has none). */
  stdin?: boolean;
  /** A one-off run on a pseudo-terminal of this size; its output (stdout only) is the terminal's. */
  tty?: TtySize;
  /** What the dyno may use (the server's defaults and the app's overrides); none: what the host has. */
  limits?: DynoLimits;
}

export interface TtySize {
  rows: number;
  cols: number;
}

/** A one-off dyno's input: bytes, then end-of-file. */
export interface DynoInput {
  /** False when the dyno is not keeping up: wait for `drained` before writing more. */
  write(chunk: Buffer): boolean;
  end(): void;
  /** Calls `fn` once, when the dyno has taken in what was written. */
  drained(fn: () => void): void;
}

export interface ExitStatus {
  /**
   * The platform's line saying which limit of the runtime's own stopped the dyno (Docker's watch on
   * its writes), when one did; the crash path logs it.
   */
  reason?: string;
  code: number | null;
  signal: string | null;
  /** The kernel killed it for going over its memory limit (Heroku's R15). */
  outOfMemory?: boolean;
}

export interface RunningDyno {
  id: string;
  name: string;
  /** Where the dyno's PORT is reachable from this host. */
  host: string;
  port: number;
  /** What the runtime needs to find this dyno again after a restart of paas (kept in the store). */
  handle: string;
  /**
   * Settles when the dyno has exited, for whatever reason, and the lines it printed before have
   * reached `onLine` (a boot failure report quotes the last of them). A runtime may stop waiting for
   * output held open by something the dyno left running.
   */
  exited: Promise<ExitStatus>;
  /**
   * Settles as soon as the dyno's process has exited, before `exited` (which waits for its last
   * output and cleans up): its port is free for anyone to bind from then on, so its route must go now.
   */
  ended?: Promise<void>;
  /**
   * True when what listens on `port` is this dyno. Runtimes whose dynos share a network with other
   * apps' (the process runtime) must give it, so a squatter on a dyno's port never gets its traffic.
   */
  ownsPort?: () => boolean;
  /**
   * True once the dyno itself listens on its port. Runtimes whose published port accepts
   * connections before the app does (Docker's proxy) give it, so a dyno is not up before its app.
   */
  listening?: () => boolean;
  /**
   * The TCP ports the dyno's own processes listen on, where the runtime can see them, so a web dyno
   * that listens on another port than $PORT is told so at once rather than at the boot timeout.
   */
  listenPorts?: () => number[];
  /** Given when the spec asked for `stdin`. */
  stdin?: DynoInput;
  /** Given when the spec asked for a `tty`: the terminal takes a new size (the app gets SIGWINCH); settles once it has. */
  resize?: (size: TtySize) => Promise<void>;
  /**
   * Given with `onOutput`: stops (false) and resumes (true) reading the dyno's output, so a client
   * that reads slowly slows the dyno, as a terminal does, instead of filling memory.
   */
  flow?: (on: boolean) => void;
}

/** A dyno a previous paas server started, as its store row recorded it. */
export interface RecordedDyno {
  app: string;
  name: string;
  handle: string | null;
}

/**
 * What a dyno can be started with before its release's slug is built (Runtime.prestart): its app,
 * name, identity and limits, which the app's lock keeps from changing while the build runs, and
 * whether its slug is a buildpack's (`profile`), as most are. The rest (slug, command, env, port)
 * comes at start.
 */
export type PrestartSpec = Pick<DynoSpec, 'app' | 'name' | 'user' | 'limits' | 'profile'>;

/** A dyno started ahead of its slug (Runtime.prestart), waiting: `start(spec, it)` takes it. */
export interface PrestartedDyno {
  readonly app: string;
  /**
   * Ends it and removes what it made (scratch, cgroup); resolves once nothing of it is left. A no-op
   * once `start` has taken it: the dyno is then stopped as any other.
   */
  cancel(): Promise<void>;
}

export interface Runtime {
  readonly name: string;
  /**
   * True when dynos outlive the control plane (docker): closing paas leaves them running, and the
   * next server adopts them. False (process): they stop with the server, and the next one reaps.
   */
  readonly persistent: boolean;
  /**
   * Starts a dyno. With `prestarted` (from this runtime's prestart) it goes on from where that one
   * waits, when `spec` agrees with what it was started for; otherwise that one is cancelled and the
   * dyno starts afresh. Either way `prestarted` is the runtime's to end from here.
   */
  start(spec: DynoSpec, prestarted?: PrestartedDyno): Promise<RunningDyno>;
  /**
   * Optional: starts the part of a dyno that needs no slug (its sandbox, namespaces, cgroup), so a
   * deploy can do it while the build runs; undefined where the runtime cannot. Nothing of the app
   * runs before `start`. The caller cancels it unless it hands it to `start`.
   */
  prestart?(spec: PrestartSpec): Promise<PrestartedDyno | undefined>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the dyno is gone. */
  stop(dyno: RunningDyno, graceMs: number): Promise<void>;
  /**
   * Stops dynos left running by a previous paas that died without stopping them, found by the
   * handles it stored. Only dynos that are provably ours (and of that app) are touched.
   */
  reap(stale: { app: string; handle: string | null }[], graceMs: number): Promise<number>;
  /**
   * Re-attaches to a dyno a previous server started and left running (output, exit, endpoint), when
   * it is still running and provably ours; undefined otherwise. Only persistent runtimes adopt.
   */
  adopt?(dyno: RecordedDyno, onLine: DynoSpec['onLine']): Promise<RunningDyno | undefined>;
  /** Stops every dyno of ours that is not in `keep` (handles), rows or not: what no release wants. */
  sweep?(keep: Set<string>, graceMs: number): Promise<number>;
  /**
   * Removes what the runtime keeps for an app besides its dynos (Docker: its network), once they are
   * all gone (apps:destroy).
   */
  removeApp?(app: string): Promise<void>;
  /** The names of the scratch layers (under the data dir's dynos/) its running dynos use now; `paas gc` spares them. */
  scratchInUse?(): ReadonlySet<string>;
  /** Lets go of running dynos without stopping them (persistent runtimes), so the server can exit. */
  detach?(): void;
}
