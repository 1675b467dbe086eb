import type { Db } from './db.js';

export interface DrainRow {
  id: string;
  app_id: number;
  url: string;
  token: string;
  created_at: string;
}

/** A drain with its app's name, as the delivery side needs it at start-up. */
export interface AppDrainRow extends DrainRow {
  app: string;
}

/** The app's drains, in the order they were added. */
export function listDrains(db: Db, appId: number): DrainRow[] {
  return db.prepare('SELECT * FROM drains WHERE app_id = ? ORDER BY rowid').all(appId) as DrainRow[];
}

/** Every app's drains: what the server starts senders for. */
export function listAllDrains(db: Db): AppDrainRow[] {
  return db.prepare('SELECT drains.*, apps.name AS app FROM drains JOIN apps ON apps.id = drains.app_id ORDER BY drains.rowid').all() as AppDrainRow[];
}

/**
 * Adds the drain unless the app has that URL already; returns the row the app has now and whether
 * this call made it. One statement under the UNIQUE constraint, so two concurrent adds make one drain.
 */
export function insertDrain(db: Db, row: DrainRow): { row: DrainRow; created: boolean } {
  return db.transaction(() => {
    const info = db
      .prepare('INSERT INTO drains (id, app_id, url, token, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(app_id, url) DO NOTHING')
      .run(row.id, row.app_id, row.url, row.token, row.created_at);
    const now = db.prepare('SELECT * FROM drains WHERE app_id = ? AND url = ?').get(row.app_id, row.url) as DrainRow;
    return { row: now, created: info.changes === 1 };
  })();
}

/** The app's drain named by its id, URL or token (as Heroku's API accepts any of the three). */
export function findDrain(db: Db, appId: number, ref: string): DrainRow | undefined {
  return db.prepare('SELECT * FROM drains WHERE app_id = ? AND (id = ? OR url = ? OR token = ?)').get(appId, ref, ref, ref) as DrainRow | undefined;
}

export function deleteDrain(db: Db, id: string): boolean {
  return db.prepare('DELETE FROM drains WHERE id = ?').run(id).changes === 1;
}
