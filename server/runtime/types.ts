/**
 * The runtime runs dynos. Two implementations share this interface: `process` (child processes in
 * sandboxes) and `docker` (containers). The reconciler never knows which one it has; one contract
 * test suite (test/runtime/contract.ts) runs against each.
 */
export interface DynoSpec {
  app: string;
  /** e.g. "web.1": also the DYNO env var. */
  name: string;
  /** The slug directory; the process runtime shows it to the dyno at /app, its working directory and HOME. */
  slugDir: string;
  /** The slug image, which the docker runtime runs (it has the tree at /app, or where its Dockerfile put it). */
  image?: string;
  /** Shell command from the Procfile; undefined runs the image's own ENTRYPOINT/CMD (docker only). */
  command: string | undefined;
  /** The exact Node.js version the slug was built for, when not the stack's (the process runtime puts it first on PATH). */
  node?: string;
  /** The app's config and dyno variables; the runtime adds PORT, PATH and HOME. */
  env: Record<string, string>;
  /** Slug directories, relative to its root, that go first on PATH. */
  pathPrepend: string[];
  /** The app's own uid and gid, when paas can switch to it (runs as root). */
  user?: { uid: number; gid: number };
  /** Each line the dyno prints. */
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
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
   * True when what listens on `port` is this dyno. Runtimes whose dynos share a network with other
   * apps' (the process runtime) must give it, so a squatter on a dyno's port never gets its traffic.
   */
  ownsPort?: () => boolean;
}

export interface Runtime {
  readonly name: string;
  start(spec: DynoSpec): Promise<RunningDyno>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the dyno is gone. */
  stop(dyno: RunningDyno, graceMs: number): Promise<void>;
  /**
   * Stops dynos left running by a previous paas that died without stopping them, found by the
   * handles it stored. Only dynos that are provably ours (and of that app) are touched.
   */
  reap(stale: { app: string; handle: string | null }[], graceMs: number): Promise<number>;
}
