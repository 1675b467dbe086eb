import type { Db } from './db.js';

/** The slot of an app's or add-on's network (`app:<name>`, `addon:<name>`) the last server claimed. */
export function recordedSlot(db: Db, owner: string): number | undefined {
  const row = db.prepare('SELECT slot FROM networks WHERE owner = ?').get(owner) as { slot: number } | undefined;
  return row?.slot;
}

/** Records the slot `owner` holds now; a row of another owner for that slot is stale (it let go of it). */
export function recordSlot(db: Db, owner: string, slot: number): void {
  db.transaction(() => {
    db.prepare('DELETE FROM networks WHERE owner = ? OR slot = ?').run(owner, slot);
    db.prepare('INSERT INTO networks (owner, slot) VALUES (?, ?)').run(owner, slot);
  })();
}

export function forgetSlot(db: Db, owner: string): void {
  db.prepare('DELETE FROM networks WHERE owner = ?').run(owner);
}

/** The names of the add-ons attached to the app now: the only servers its network may reach. */
export function attachedAddonNames(db: Db, app: string): string[] {
  const rows = db
    .prepare('SELECT addons.name FROM addon_attachments JOIN apps ON apps.id = addon_attachments.app_id JOIN addons ON addons.id = addon_attachments.addon_id WHERE apps.name = ?')
    .all(app) as { name: string }[];
  return rows.map((r) => r.name);
}
