import type { Db } from './db.js';

export interface AppRow {
  id: number;
  name: string;
  created_at: string;
  current_release_id: number | null;
}

export function insertApp(db: Db, name: string, now: string): AppRow {
  const info = db.prepare('INSERT INTO apps (name, created_at) VALUES (?, ?)').run(name, now);
  return { id: Number(info.lastInsertRowid), name, created_at: now, current_release_id: null };
}

export function findApp(db: Db, name: string): AppRow | undefined {
  return db.prepare('SELECT * FROM apps WHERE name = ?').get(name) as AppRow | undefined;
}

export function listApps(db: Db): AppRow[] {
  return db.prepare('SELECT * FROM apps ORDER BY name').all() as AppRow[];
}

export function deleteApp(db: Db, id: number): void {
  db.prepare('DELETE FROM apps WHERE id = ?').run(id);
}

export function setCurrentRelease(db: Db, appId: number, releaseId: number): void {
  db.prepare('UPDATE apps SET current_release_id = ? WHERE id = ?').run(releaseId, appId);
}
