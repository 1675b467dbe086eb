/**
 * The API's JSON shapes, as its clients read them: the CLI and the dashboard know the server only
 * through HTTP. Types only: nothing here runs, so the dashboard's bundle takes them as they are.
 */
export interface App {
  name: string;
  created_at: string;
  git_url: string;
  web_url: string;
  /** Maintenance mode: the router answers the app's requests with a 503 maintenance page; dynos keep running. */
  maintenance: boolean;
  /** The live release; null before the first. */
  release: { version: number; description: string; created_at: string } | null;
  dynos: { name: string; state: string; port: number | null }[];
  /** A build or release is pending: a push or a change is under way. */
  deploying: boolean;
}

/** A domain an app answers at: its default `<app>.<PAAS_DOMAIN>` or a custom one. */
export interface Domain {
  hostname: string;
  kind: 'default' | 'custom';
  created_at: string;
}

/** A log drain; `id`, `url`, `token` and `created_at` are pinned for scripts (`paas drains --json`). */
export interface Drain {
  id: string;
  url: string;
  token: string;
  created_at: string;
}

export interface LogLine {
  time: string;
  source: string;
  line: string;
}

/** A release; `version`, `description`, `status`, `current` and `created_at` are pinned for scripts. */
export interface Release {
  version: number;
  description: string;
  status: 'pending' | 'succeeded' | 'failed';
  current: boolean;
  created_at: string;
  created_by: string;
  commit: string | null;
  output_stream_url: string;
}

/** A build; every field is pinned for scripts. `duration` is in seconds, null while pending. */
export interface Build {
  id: string;
  status: 'pending' | 'succeeded' | 'failed';
  commit: string;
  buildpack: string | null;
  created_at: string;
  duration: number | null;
}

/** A dyno; `name`, `type`, `state`, `release`, `started_at` and `restarts` are pinned for scripts. */
export interface Dyno {
  name: string;
  type: string;
  /** standby: a previous release's web dyno, out of the routes, that serves again should the new one die in its settle window. */
  state: 'starting' | 'up' | 'standby' | 'crashed' | 'stopping';
  release: number;
  started_at: string;
  restarts: number;
  command: string;
}

export interface FormationEntry {
  type: string;
  quantity: number;
  command: string;
}

/** An add-on; every field is pinned for scripts (`paas addons --json`). It never holds a password or URL. */
export interface Addon {
  name: string;
  service: 'postgresql' | 'redis';
  version: string;
  state: 'provisioning' | 'running' | 'crashed' | 'stopped';
  attachments: { app: string; as: string }[];
  created_at: string;
}

/** A PostgreSQL backup; every field is pinned for scripts (`paas pg:backups --json`). */
export interface Backup {
  id: string;
  addon: string;
  status: 'pending' | 'succeeded' | 'failed';
  size: number | null;
  created_at: string;
}

/** An HTTPS certificate of an app (`paas certs --json`). */
export interface Cert {
  id: string;
  hostnames: string[];
  source: 'user' | 'acme';
  status: 'pending' | 'issued' | 'failed';
  issuer: string;
  not_before: string | null;
  not_after: string | null;
  /** ACME: when it renews (or the next try after a failure). */
  renew_at: string | null;
  fingerprint: string;
  /** The CA's reason when the last order failed. */
  last_error: string | null;
}

/** An app's HTTPS settings and certificates (`paas certs --json`). */
export interface Certs {
  auto: boolean;
  redirect: boolean;
  hsts_max_age: number;
  certificates: Cert[];
}

/** A dashboard session (`POST` and `GET /v1/session`); the session id itself is an HttpOnly cookie. */
export interface Session {
  csrf: string;
  expires_at: string;
}

/** A message of the `/v1/events` websocket: an app was made, changed (`reason`, a platform log line, says how) or destroyed. */
export interface AppEvent {
  type: 'app';
  app: string;
  action: 'created' | 'changed' | 'destroyed';
  reason: string;
  time: string;
}
