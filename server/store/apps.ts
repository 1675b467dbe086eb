import { ConflictError } from '../../lib/errors.js';
import type { Db } from './db.js';

export interface AppRow {
  id: number;
  name: string;
  created_at: string;
  current_release_id: number | null;
  /** The app's own uid and gid for its processes (from the range in PAAS_APP_UIDS). */
  uid: number | null;
  /** 1 while the app is in maintenance mode (the router answers 503 with a maintenance page). */
  maintenance: number;
}

export interface UidRange {
  first: number;
  last: number;
}

/** The next never-used uid of the range (apps' and add-ons' alike); call inside a transaction. */
export function takeUid(db: Db, range: UidRange): number {
  const row = db.prepare("SELECT value FROM counters WHERE name = 'app_uid'").get() as { value: number } | undefined;
  const uid = Math.max(row?.value ?? 0, range.first - 1) + 1;
  if (uid > range.last) {
    throw new ConflictError('uids_exhausted', `Every app uid from ${range.first} to ${range.last} has been used. Widen PAAS_APP_UIDS and restart paas.`);
  }
  db.prepare("INSERT INTO counters (name, value) VALUES ('app_uid', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value").run(uid);
  return uid;
}

/** Inserts an app with a uid of its own; the uid and the row are taken in one transaction. */
export function insertApp(db: Db, name: string, now: string, uids: UidRange): AppRow {
  return db.transaction(() => {
    const uid = takeUid(db, uids);
    const info = db.prepare('INSERT INTO apps (name, created_at, uid) VALUES (?, ?, ?)').run(name, now, uid);
    return { id: Number(info.lastInsertRowid), name, created_at: now, current_release_id: null, uid, maintenance: 0 };
  })();
}

/** Gives a uid to apps made before apps had their own (store migration 4); returns those apps. */
export function assignMissingUids(db: Db, uids: UidRange): AppRow[] {
  return db.transaction(() => {
    const apps = db.prepare('SELECT * FROM apps WHERE uid IS NULL ORDER BY id').all() as AppRow[];
    for (const app of apps) {
      app.uid = takeUid(db, uids);
      db.prepare('UPDATE apps SET uid = ? WHERE id = ?').run(app.uid, app.id);
    }
    return apps;
  })();
}

export function findApp(db: Db, name: string): AppRow | undefined {
  return db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as AppRow | undefined;
}

/** The app whose processes run as `uid`, if any. */
export function findAppByUid(db: Db, uid: number): AppRow | undefined {
  return db.prepare('SELECT * FROM apps WHERE uid = ?').get(uid) as AppRow | undefined;
}

export function findAppById(db: Db, id: number): AppRow | undefined {
  return db.prepare('SELECT * FROM apps WHERE id = ?').get(id) as AppRow | undefined;
}

export function listApps(db: Db): AppRow[] {
  return db.prepare('SELECT * FROM apps ORDER BY name').all() as AppRow[];
}

export function deleteApp(db: Db, id: number): void {
  db.prepare('DELETE FROM apps WHERE id = ?').run(id);
}

export function setMaintenance(db: Db, appId: number, on: boolean): void {
  db.prepare('UPDATE apps SET maintenance = ? WHERE id = ?').run(on ? 1 : 0, appId);
}

/** Makes `to` current again if `from` still is (a release put back after its trial); false if not. */
export function revertCurrentRelease(db: Db, appId: number, from: number, to: number): boolean {
  return db.prepare('UPDATE apps SET current_release_id = ? WHERE id = ? AND current_release_id = ?').run(to, appId, from).changes > 0;
}

export function setCurrentRelease(db: Db, appId: number, releaseId: number): void {
  db.prepare('UPDATE apps SET current_release_id = ? WHERE id = ?').run(releaseId, appId);
}
