/**
 * Add-ons (issue 14): PostgreSQL and Redis servers paas runs for apps, found through a URL in their
 * config (twelve-factor IV). The control plane (store, API, config and releases) talks to the
 * servers only through `AddonServices`; each runtime has its own implementation (`process`: a
 * sandboxed child process under the add-on's own uid; `docker`: a labelled container with a
 * labelled volume), and one contract test suite runs against each.
 */

export type AddonService = 'postgresql' | 'redis';
export const ADDON_SERVICES: readonly AddonService[] = ['postgresql', 'redis'];

export type AddonState = 'provisioning' | 'running' | 'crashed' | 'stopped';

/** What the store keeps of an add-on's server: enough to start it again and to build its URL. */
export interface AddonInstance {
  /** The add-on's name (`postgresql-shiny-12345`): validated like an app name. */
  name: string;
  service: AddonService;
  /** The server's version (`15.18`, `7.0.15`). */
  version: string;
  /** Its own unprivileged uid (and gid), never an app's. */
  uid: number;
  /** The role / user the apps log in as, and (PostgreSQL) the database. */
  user: string;
  database: string;
  /** Secret: never in logs, `addons --json` or an error message. */
  password: string;
  /** Where it listens: a loopback port on the process runtime, the container's port on Docker. */
  port: number;
  /** The runtime's handle (the container id on Docker); empty on the process runtime. */
  handle: string;
}

/** What provisioning gives back: the instance to record (the caller stores it). */
export type ProvisionSpec = Pick<AddonInstance, 'name' | 'service' | 'uid'>;

/** A server paas runs and watches. */
export interface RunningAddon {
  readonly name: string;
  /** Resolves when it has stopped, cleanly or not. */
  readonly stopped: Promise<void>;
}

/** What paas found holding an add-on's port before a start (process runtime; see process/squatters.ts). */
export interface SquatReport {
  addon: string;
  port: number;
  /** The uid that owns the listening socket, and the app that uid is, if any. */
  uid: number;
  app: string | undefined;
  /** The processes that held it, and whether paas stopped them (only an app's). */
  pids: number[];
  stopped: boolean;
}

export interface AddonEvents {
  /** A line about the add-on for the server's log (never holding its password). */
  log(name: string, line: string): void;
  /** The supervisor's view changed: crashed (restarting with backoff), running again, stopped. */
  state(name: string, state: AddonState): void;
  /** Another program held the add-on's port when it was to start again: who, and what paas did. */
  squatted?(report: SquatReport): void;
  /**
   * The add-on's password was replaced (after a squat: the attached apps' clients may have sent
   * the old one to the squatter). The old one no longer works; the attached apps need the new URL.
   */
  rotated?(name: string, password: string): void;
}

export interface AddonServices {
  /**
   * Makes a new server: its data directory (or volume) owned by its uid, a random strong password,
   * a role and a database of its own, tuned for a small host; starts it and resolves once it
   * answers queries. Leaves nothing behind if it fails.
   */
  provision(spec: ProvisionSpec): Promise<AddonInstance>;
  /** Starts (or, on Docker, adopts) a provisioned server and supervises it: restarted on crash with backoff. */
  start(instance: AddonInstance): Promise<void>;
  /** Stops it cleanly (PostgreSQL `fast`, Redis `SHUTDOWN SAVE`) and stops supervising it. */
  stop(name: string): Promise<void>;
  /** Stops it and deletes its data for good. */
  destroy(instance: AddonInstance): Promise<void>;
  /**
   * Makes the add-on reachable from the dynos of exactly these apps, the ones it is attached to
   * (Docker: the app networks it is on); idempotent. Runtimes whose add-ons every app reaches leave it out.
   */
  reach?(instance: AddonInstance, apps: string[]): Promise<void>;
  /** The URL an app's dynos use to reach it, on this runtime (holds the password). */
  url(instance: AddonInstance): string;
  /** Stops every add-on cleanly (server shutdown). */
  stopAll(): Promise<void>;
  /** PostgreSQL only: a logical backup (`pg_dump -Fc`) written to `file`. */
  capture(instance: AddonInstance, file: string): Promise<void>;
  /** PostgreSQL only: `pg_restore --clean --if-exists` of `file` into the add-on's database. */
  restore(instance: AddonInstance, file: string): Promise<void>;
}
