/**
 * Schema migrations, applied in order. The store's `PRAGMA user_version` is the number of migrations
 * applied. Never edit a migration that has shipped: add a new one.
 */
export const migrations: readonly string[] = [
  // 1: apps, builds, releases and dynos for the walking skeleton.
  `
  CREATE TABLE apps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    -- The release live now; no foreign key so that deleting an app's releases stays a plain cascade.
    current_release_id INTEGER
  );
  CREATE TABLE builds (
    id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    commit_sha TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    buildpack TEXT,
    process_types TEXT NOT NULL DEFAULT '{}',
    slug_dir TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX builds_app ON builds(app_id);
  CREATE TABLE releases (
    id INTEGER PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    build_id TEXT REFERENCES builds(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (app_id, version)
  );
  CREATE TABLE dynos (
    id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    process_type TEXT NOT NULL,
    number INTEGER NOT NULL,
    host TEXT NOT NULL,
    port INTEGER,
    state TEXT NOT NULL CHECK (state IN ('starting', 'up', 'stopping')),
    started_at TEXT NOT NULL
  );
  CREATE INDEX dynos_app ON dynos(app_id);
  `,
  // 2: releases carry their config snapshot and who or what made them.
  `
  ALTER TABLE releases ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE releases ADD COLUMN created_by TEXT NOT NULL DEFAULT 'paas';
  `,
  // 3: the runtime's handle on a dyno (a process group id), so leftovers of a crashed server can be stopped.
  `
  ALTER TABLE dynos ADD COLUMN handle TEXT;
  `,
  // 4: each app's own uid (also its gid) for its processes when paas runs as root. The counter only
  // goes up, so a uid is never handed out twice, not even after its app is destroyed.
  `
  ALTER TABLE apps ADD COLUMN uid INTEGER;
  CREATE UNIQUE INDEX apps_uid ON apps(uid);
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  `,
  // 5: the formation (process type → quantity) of each app, and dyno rows for every kind of dyno with
  // their restarts and a `crashed` state. SQLite cannot change a CHECK, so the dynos table is made
  // anew, its rows copied: those of a server killed before the upgrade must still be reaped. Apps
  // that exist get the formation Heroku would give them: web=1 if their current release has a web
  // process, every other type 0.
  `
  CREATE TABLE formation (
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity >= 0),
    PRIMARY KEY (app_id, type)
  );
  INSERT INTO formation (app_id, type, quantity)
    SELECT apps.id, t.key, CASE t.key WHEN 'web' THEN 1 ELSE 0 END
    FROM apps JOIN releases ON releases.id = apps.current_release_id JOIN builds ON builds.id = releases.build_id, json_each(builds.process_types) AS t
    WHERE t.key <> 'release';
  CREATE TABLE dynos_5 (
    id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    process_type TEXT NOT NULL,
    number INTEGER NOT NULL,
    host TEXT NOT NULL,
    port INTEGER,
    state TEXT NOT NULL CHECK (state IN ('starting', 'up', 'crashed', 'stopping')),
    started_at TEXT NOT NULL,
    handle TEXT,
    restarts INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO dynos_5 (id, app_id, release_id, process_type, number, host, port, state, started_at, handle)
    SELECT id, app_id, release_id, process_type, number, host, port, state, started_at, handle FROM dynos;
  DROP TABLE dynos;
  ALTER TABLE dynos_5 RENAME TO dynos;
  CREATE INDEX dynos_app ON dynos(app_id);
  `,
  // 6: custom domains and maintenance mode. The hostname is the key, so of two apps adding one name
  // exactly one gets it, and destroying an app frees its names with the cascade.
  `
  CREATE TABLE domains (
    hostname TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
  );
  CREATE INDEX domains_app ON domains(app_id);
  ALTER TABLE apps ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
  `,
  // 7: log drains. One row per (app, URL), so adding a URL twice is one drain; the token (Heroku's
  // `d.<uuid>`) tells a receiver's drains apart; destroying an app removes its drains with the cascade.
  `
  CREATE TABLE drains (
    id TEXT PRIMARY KEY,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (app_id, url)
  );
  `,
  // 8: add-ons (issue 14): PostgreSQL and Redis servers paas runs, attached to apps under a var
  // prefix (`DATABASE` → DATABASE_URL), and PostgreSQL backups. An add-on's uid comes from the apps'
  // never-reused counter. An attachment goes with its app or its add-on; the add-on itself (its data)
  // outlives its apps. Backups are numbered per add-on (`b001`) and go with it.
  `
  CREATE TABLE addons (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL CHECK (service IN ('postgresql', 'redis')),
    version TEXT NOT NULL DEFAULT '',
    uid INTEGER NOT NULL UNIQUE,
    "user" TEXT NOT NULL DEFAULT '',
    "database" TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL DEFAULT '',
    port INTEGER NOT NULL DEFAULT 0,
    handle TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('provisioning', 'running', 'crashed', 'stopped')),
    created_at TEXT NOT NULL
  );
  CREATE TABLE addon_attachments (
    addon_id INTEGER NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
    app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    as_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (app_id, as_name),
    UNIQUE (addon_id, app_id)
  );
  CREATE INDEX addon_attachments_addon ON addon_attachments(addon_id);
  CREATE TABLE pg_backups (
    id TEXT NOT NULL,
    addon_id INTEGER NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    size INTEGER,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    file TEXT NOT NULL,
    PRIMARY KEY (addon_id, id)
  );
  `,
  // 9: app networks (issue 22): on the process runtime as root, each app and each add-on server has a
  // network namespace of its own on a /30 of PAAS_APP_NETWORK_CIDR, numbered by `slot`. Kept so a
  // restarted server claims the same one again (add-on URLs name its address); `owner` is
  // `app:<name>` or `addon:<name>`. Removed with the app or add-on.
  `
  CREATE TABLE networks (
    owner TEXT PRIMARY KEY,
    slot INTEGER NOT NULL UNIQUE
  );
  `,
  // 10: HTTPS (issue 25). Certificates routers serve, uploaded or from ACME; their PEM files live in
  // <data>/certs/<id>/ (0600), never here. app_id NULL is the operator's default (PAAS_TLS_CERT_FILE).
  // Per-app TLS settings: automatic certificates (NULL: the server's PAAS_ACME_DEFAULT), redirect to
  // HTTPS (on), HSTS max-age (0: off).
  `
  CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    app_id INTEGER REFERENCES apps(id) ON DELETE CASCADE,
    hostnames TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL CHECK (source IN ('user', 'acme')),
    not_before TEXT,
    not_after TEXT,
    issuer TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'issued', 'failed')),
    last_error TEXT,
    renew_at TEXT,
    -- Failed ACME orders in a row: the next retry waits PAAS_ACME_RETRY × 2^attempts (a day at most).
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  );
  CREATE INDEX certificates_app ON certificates(app_id);
  CREATE TABLE app_tls (
    app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    auto INTEGER,
    redirect INTEGER NOT NULL DEFAULT 1,
    hsts_max_age INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 11: dashboard sessions (issue 27). Only a SHA-256 of the session id is kept (the id is in the
  // browser's cookie alone), with an HMAC of the API token keyed by that id, so a changed token ends
  // every session and the row tells nothing without the cookie. The CSRF value is derived from the id.
  `
  CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    token_fingerprint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  );
  CREATE INDEX sessions_expires ON sessions(expires_at);
  `,
];
