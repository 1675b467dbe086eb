import type { Config } from '../config.js';
import type { Drains } from '../drains/manager.js';
import type { Lifecycle } from './lifecycle.js';
import type { AppLocks } from './locks.js';
import type { AppLogs } from '../logs/pipeline.js';
import type { DataPaths } from '../store/paths.js';
import type { ReleaseOutputs } from './release-output.js';
import type { Routes } from '../dynos/routes.js';
import type { Reconciler } from '../dynos/reconciler.js';
import type { Db } from '../store/db.js';
import type { AddonServices } from '../addons/types.js';
import type { SlugBuilder } from '../slug-builder/types.js';
import type { Notices } from './notices.js';
import type { Issuer } from '../tls/acme.js';
import type { AppEvents } from './app-events.js';

/** Everything the control plane's plain functions need, passed explicitly (no singletons). */
export interface Deps {
  config: Config;
  paths: DataPaths;
  db: Db;
  routes: Routes;
  runner: Reconciler;
  /** The add-ons' servers (PostgreSQL, Redis) on this runtime: the control plane reaches them only through this. */
  addons: AddonServices;
  logs: AppLogs;
  /** Delivery to the apps' log drains: started and stopped as drains and apps come and go. */
  drains: Drains;
  locks: AppLocks;
  /** Draining and stopping on shutdown: refuses new work, aborts work that outlives the timeout. */
  lifecycle: Lifecycle;
  /** Builds and keeps slugs as the runtime runs them (directories or images), and says whose uid dynos run as. */
  builder: SlugBuilder;
  /** Output of releases made through the API, for their output_stream_url. */
  outputs: ReleaseOutputs;
  /** What happened to an app while no one watched (a release put back), told in its next command. */
  notices: Notices;
  /** The dashboard's feed (`GET /v1/events`): apps created and destroyed here; changes come from platform log lines. */
  events: AppEvents;
  /** Orders certificates from the ACME CA (PAAS_ACME_DIRECTORY). */
  issuer: Issuer;
  /** Automatic certificates: `wake` checks every app's soon (auto turned on, a domain added). */
  certOrders: { wake(): void };
  /** The URL an app answers at, from the router's actual port. */
  webUrl(app: string): string;
}
