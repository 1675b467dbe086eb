import type { Db } from './db.js';

export type Status = 'pending' | 'succeeded' | 'failed';

export interface BuildRow {
  id: string;
  app_id: number;
  commit_sha: string;
  status: Status;
  buildpack: string | null;
  process_types: string;
  slug_dir: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface ReleaseRow {
  id: number;
  app_id: number;
  version: number;
  build_id: string | null;
  status: Status;
  description: string;
  created_at: string;
  /** JSON object of the config vars this release runs with. */
  config: string;
  created_by: string;
}

export function insertBuild(db: Db, b: Pick<BuildRow, 'id' | 'app_id' | 'commit_sha' | 'created_at'>): void {
  db.prepare(
    `INSERT INTO builds (id, app_id, commit_sha, status, created_at) VALUES (@id, @app_id, @commit_sha, 'pending', @created_at)`,
  ).run(b);
}

export function finishBuild(
  db: Db,
  id: string,
  result: { status: Status; buildpack?: string; processTypes?: Record<string, string>; slugDir?: string; now: string },
): void {
  db.prepare(
    `UPDATE builds SET status = ?, buildpack = ?, process_types = ?, slug_dir = ?, finished_at = ? WHERE id = ?`,
  ).run(result.status, result.buildpack ?? null, JSON.stringify(result.processTypes ?? {}), result.slugDir ?? null, result.now, id);
}

export function findBuild(db: Db, id: string): BuildRow | undefined {
  return db.prepare('SELECT * FROM builds WHERE id = ?').get(id) as BuildRow | undefined;
}

/** The app's newest `limit` builds, newest first. */
export function listBuilds(db: Db, appId: number, limit: number): BuildRow[] {
  return db.prepare('SELECT * FROM builds WHERE app_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(appId, limit) as BuildRow[];
}

/** The app's builds whose slug is still on disk (or, on Docker, in an image): what `paas gc` may collect. */
export function slugBuilds(db: Db, appId: number): { id: string; slug_dir: string }[] {
  return db.prepare('SELECT id, slug_dir FROM builds WHERE app_id = ? AND slug_dir IS NOT NULL').all(appId) as { id: string; slug_dir: string }[];
}

/** Every build's id with whether its slug is kept or still being built: the slug dirs that are not orphans. */
export function liveSlugIds(db: Db): Set<string> {
  const rows = db.prepare(`SELECT id FROM builds WHERE slug_dir IS NOT NULL OR status = 'pending'`).all() as { id: string }[];
  return new Set(rows.map((r) => r.id));
}

/** The build's slug was collected (paas gc): a rollback to its releases is refused rather than started with nothing to run. */
export function forgetSlug(db: Db, id: string): void {
  db.prepare('UPDATE builds SET slug_dir = NULL WHERE id = ?').run(id);
}

export function listSlugDirs(db: Db, appId: number): string[] {
  const rows = db.prepare('SELECT slug_dir FROM builds WHERE app_id = ? AND slug_dir IS NOT NULL').all(appId) as { slug_dir: string }[];
  return rows.map((r) => r.slug_dir);
}

/**
 * Creates the next release of an app. The version is allocated inside the same transaction as the
 * insert, so concurrent callers get consecutive, distinct versions.
 */
export function insertRelease(
  db: Db,
  r: Pick<ReleaseRow, 'app_id' | 'build_id' | 'status' | 'description' | 'created_at' | 'config' | 'created_by'>,
): ReleaseRow {
  return db.transaction(() => {
    const { next } = db
      .prepare('SELECT COALESCE(MAX(version), 0) + 1 AS next FROM releases WHERE app_id = ?')
      .get(r.app_id) as { next: number };
    const info = db
      .prepare(
        `INSERT INTO releases (app_id, version, build_id, status, description, created_at, config, created_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.app_id, next, r.build_id, r.status, r.description, r.created_at, r.config, r.created_by);
    return { ...r, id: Number(info.lastInsertRowid), version: next };
  })();
}

export function setReleaseStatus(db: Db, id: number, status: Status): void {
  db.prepare('UPDATE releases SET status = ? WHERE id = ?').run(status, id);
}

export function findReleaseById(db: Db, id: number): ReleaseRow | undefined {
  return db.prepare('SELECT * FROM releases WHERE id = ?').get(id) as ReleaseRow | undefined;
}

export function findRelease(db: Db, appId: number, version: number): ReleaseRow | undefined {
  return db.prepare('SELECT * FROM releases WHERE app_id = ? AND version = ?').get(appId, version) as ReleaseRow | undefined;
}

/** The newest succeeded release with code, older than `version`: what a rollback without a target goes back to. */
export function previousSucceeded(db: Db, appId: number, version: number): ReleaseRow | undefined {
  return db
    .prepare(
      `SELECT * FROM releases WHERE app_id = ? AND version < ? AND status = 'succeeded' AND build_id IS NOT NULL
       ORDER BY version DESC LIMIT 1`,
    )
    .get(appId, version) as ReleaseRow | undefined;
}

/** Whether the app has a build or release still pending: a push or a change under way. */
export function hasPending(db: Db, appId: number): boolean {
  const pending = `SELECT 1 FROM builds WHERE app_id = ? AND status = 'pending' UNION ALL SELECT 1 FROM releases WHERE app_id = ? AND status = 'pending' LIMIT 1`;
  return db.prepare(pending).get(appId, appId) !== undefined;
}

export function listReleases(db: Db, appId: number, limit: number): ReleaseRow[] {
  return db
    .prepare('SELECT * FROM releases WHERE app_id = ? ORDER BY version DESC LIMIT ?')
    .all(appId, limit) as ReleaseRow[];
}

/** The builds of the app's newest `limit` succeeded releases (the current one among them). */
export function succeededBuilds(db: Db, appId: number, limit: number): string[] {
  const rows = db
    .prepare(`SELECT build_id FROM releases WHERE app_id = ? AND status = 'succeeded' AND build_id IS NOT NULL ORDER BY version DESC LIMIT ?`)
    .all(appId, limit) as { build_id: string }[];
  return rows.map((r) => r.build_id);
}

/**
 * Marks builds and releases a previous server left pending (it was killed mid-deploy) as failed:
 * nothing will ever finish them. Returns how many of each it marked.
 */
export function failAbandoned(db: Db): { builds: number; releases: number } {
  return db.transaction(() => ({
    builds: db.prepare(`UPDATE builds SET status = 'failed' WHERE status = 'pending'`).run().changes,
    releases: db.prepare(`UPDATE releases SET status = 'failed' WHERE status = 'pending'`).run().changes,
  }))();
}
