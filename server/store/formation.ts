import type { Db } from './db.js';

/** Process type → how many dynos of it should run. */
export type Formation = Record<string, number>;

/** The app's formation; types with quantity 0 are included. */
export function getFormation(db: Db, appId: number): Formation {
  const rows = db.prepare('SELECT type, quantity FROM formation WHERE app_id = ? ORDER BY type').all(appId) as { type: string; quantity: number }[];
  return Object.fromEntries(rows.map((r) => [r.type, r.quantity]));
}

/** Sets the quantities in `changes`, each type already known to the app, in one transaction. */
export function setQuantities(db: Db, appId: number, changes: Formation): void {
  const update = db.prepare('UPDATE formation SET quantity = ? WHERE app_id = ? AND type = ?');
  db.transaction(() => {
    for (const [type, quantity] of Object.entries(changes)) update.run(quantity, appId, type);
  })();
}

/**
 * The formation an app gets with a release of these process types, as on Heroku: a new type gets 0
 * dynos (web gets 1), a type the release no longer has is dropped, and quantities of types that
 * stay are kept. `release` is a phase, never a formation type.
 */
export function formationFor(db: Db, appId: number, processTypes: Record<string, string>): Formation {
  const current = getFormation(db, appId);
  const types = Object.keys(processTypes).filter((t) => t !== 'release');
  return Object.fromEntries(types.map((t) => [t, current[t] ?? (t === 'web' ? 1 : 0)]));
}

/** Stores the formation of a release that went live (formationFor): its types, with their quantities. */
export function followProcessTypes(db: Db, appId: number, processTypes: Record<string, string>): void {
  setFormation(db, appId, formationFor(db, appId, processTypes));
}

/** Replaces the app's formation with `formation` (a release put back gets the one it had). */
export function setFormation(db: Db, appId: number, formation: Formation): void {
  db.transaction(() => {
    db.prepare('DELETE FROM formation WHERE app_id = ?').run(appId);
    const insert = db.prepare('INSERT INTO formation (app_id, type, quantity) VALUES (?, ?, ?)');
    for (const [type, quantity] of Object.entries(formation)) insert.run(appId, type, quantity);
  })();
}
