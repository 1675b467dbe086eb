import type { Db } from './db.js';

export interface DomainRow {
  hostname: string;
  app_id: number;
  created_at: string;
}

/** The app's custom domains, in the order they were added. */
export function listDomains(db: Db, appId: number): DomainRow[] {
  return db.prepare('SELECT * FROM domains WHERE app_id = ? ORDER BY rowid').all(appId) as DomainRow[];
}

export function findDomain(db: Db, hostname: string): DomainRow | undefined {
  return db.prepare('SELECT * FROM domains WHERE hostname = ?').get(hostname) as DomainRow | undefined;
}

/**
 * Claims `hostname` for the app unless any app holds it already; returns the row that holds it now
 * (the caller compares its app) and whether this call made it. One transaction, so the primary key
 * decides between two apps adding the same name.
 */
export function claimDomain(db: Db, appId: number, hostname: string, now: string): { row: DomainRow; created: boolean } {
  return db.transaction(() => {
    const info = db.prepare('INSERT INTO domains (hostname, app_id, created_at) VALUES (?, ?, ?) ON CONFLICT(hostname) DO NOTHING').run(hostname, appId, now);
    return { row: findDomain(db, hostname)!, created: info.changes === 1 };
  })();
}

/** Removes the app's `hostname`; false when the app does not have it. */
export function deleteDomain(db: Db, appId: number, hostname: string): boolean {
  return db.prepare('DELETE FROM domains WHERE app_id = ? AND hostname = ?').run(appId, hostname).changes === 1;
}
