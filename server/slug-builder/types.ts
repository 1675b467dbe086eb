import type { Slug } from '../../builder/index.js';
import type { AppUser } from '../sandbox/spawn.js';
import type { AppRow } from '../store/apps.js';

/** What a slug builder knows of an app: its name and its own uid (null until one is assigned). */
export type SlugApp = Pick<AppRow, 'name' | 'uid'>;

/** One build of a pushed commit, as the deploy asks for it. */
export interface SlugRequest {
  app: SlugApp;
  buildId: string;
  commit: string;
  /** Told the buildpack's name once detected (BuildRequest.onDetected). */
  onDetected?: (buildpack: string) => void;
  /** A tar stream of the commit's tree (as `git archive` writes it). */
  source: NodeJS.ReadableStream;
  /** The config the release will get; buildpacks honour the few vars that steer a build. */
  config: Record<string, string>;
  log: (line: string) => void;
  /** Stops the build where it is (the pusher hung up, shutdown). */
  signal: AbortSignal;
}

/**
 * How slugs are made and kept on this host's runtime, chosen once in main.ts beside the `Runtime`:
 * slug directories built by sandboxed steps for the process runtime (`directory.ts`), slug images
 * for Docker (`image.ts`). The control plane builds, releases and destroys through it and never
 * asks which runtime it runs on.
 */
export interface SlugBuilder {
  /** Builds the pushed tree into the slug `<slugs>/<buildId>`; throws BuildError for what the pusher can fix. */
  build(req: SlugRequest): Promise<Slug>;
  /** The uid and gid the app's builds and dynos run as; undefined: paas's own (not root, no uid to switch to). */
  dynoUser(app: SlugApp): AppUser | undefined;
  /**
   * After a release went live: removes what builds not in `keep` (build ids) left outside the data
   * dir, such as slug images; `paas gc` too. Returns the bytes it freed (with `dryRun`, would free).
   * Throws what failed; the release is live either way.
   */
  prune(app: SlugApp, keep: Set<string>, opts?: { dryRun?: boolean }): Promise<number>;
  /** What it keeps outside the data dir (images), in bytes, for `paas status`; absent when nothing. */
  storedBytes?(): Promise<number>;
  /** On apps:destroy, its dynos stopped: removes what is left of the app outside the data dir. */
  removeApp(app: SlugApp): Promise<void>;
}
