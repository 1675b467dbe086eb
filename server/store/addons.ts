import type { AddonInstance, AddonService, AddonState } from '../addons/types.js';
import { takeUid, type UidRange } from './apps.js';
import type { Db } from './db.js';

export interface AddonRow extends AddonInstance {
  id: number;
  state: AddonState;
  created_at: string;
}

/** An attachment with the names of both ends, as views and releases need it. */
export interface AttachmentRow {
  addon_id: number;
  app_id: number;
  /** The var prefix, upper-cased: `DATABASE` for DATABASE_URL. */
  as_name: string;
  created_at: string;
  app: string;
  addon: string;
}

export interface BackupRow {
  /** `b001`, numbered per add-on. */
  id: string;
  addon_id: number;
  created_at: string;
  size: number | null;
  status: 'pending' | 'succeeded' | 'failed';
  file: string;
}

const SELECT_ATTACHMENTS = `SELECT addon_attachments.*, apps.name AS app, addons.name AS addon FROM addon_attachments
  JOIN apps ON apps.id = addon_attachments.app_id JOIN addons ON addons.id = addon_attachments.addon_id`;

/**
 * Inserts an add-on as `provisioning` with a uid from the apps' never-reused counter, both in one
 * transaction; the server's details are recorded once it is provisioned (`recordInstance`).
 */
export function insertAddon(db: Db, params: { name: string; service: AddonService; now: string; uids: UidRange }): AddonRow {
  return db.transaction(() => {
    const uid = takeUid(db, params.uids);
    const info = db.prepare("INSERT INTO addons (name, service, uid, state, created_at) VALUES (?, ?, ?, 'provisioning', ?)").run(params.name, params.service, uid, params.now);
    return findAddonById(db, Number(info.lastInsertRowid))!;
  })();
}

/** Records what provisioning made (version, role, password, port, handle) and marks it running. */
export function recordInstance(db: Db, id: number, instance: AddonInstance): void {
  db.prepare(`UPDATE addons SET version = ?, "user" = ?, "database" = ?, password = ?, port = ?, handle = ?, state = 'running' WHERE id = ?`).run(
    instance.version,
    instance.user,
    instance.database,
    instance.password,
    instance.port,
    instance.handle,
    id,
  );
}

/** Records a replaced password (after a squat); the apps' releases read it from here. */
export function setAddonPassword(db: Db, name: string, password: string): void {
  db.prepare('UPDATE addons SET password = ? WHERE name = ?').run(password, name);
}

export function setAddonState(db: Db, name: string, state: AddonState): void {
  db.prepare("UPDATE addons SET state = ? WHERE name = ? AND state <> 'provisioning'").run(state, name);
}

export function findAddon(db: Db, name: string): AddonRow | undefined {
  return db.prepare('SELECT * FROM addons WHERE name = ?').get(name) as AddonRow | undefined;
}

export function findAddonById(db: Db, id: number): AddonRow | undefined {
  return db.prepare('SELECT * FROM addons WHERE id = ?').get(id) as AddonRow | undefined;
}

export function listAddons(db: Db): AddonRow[] {
  return db.prepare('SELECT * FROM addons ORDER BY name').all() as AddonRow[];
}

export function deleteAddon(db: Db, id: number): void {
  db.prepare('DELETE FROM addons WHERE id = ?').run(id);
}

/** The add-on's attachments, oldest first. */
export function attachmentsOf(db: Db, addonId: number): AttachmentRow[] {
  return db.prepare(`${SELECT_ATTACHMENTS} WHERE addon_attachments.addon_id = ? ORDER BY addon_attachments.rowid`).all(addonId) as AttachmentRow[];
}

/** The app's attachments, oldest first. */
export function appAttachments(db: Db, appId: number): AttachmentRow[] {
  return db.prepare(`${SELECT_ATTACHMENTS} WHERE addon_attachments.app_id = ? ORDER BY addon_attachments.rowid`).all(appId) as AttachmentRow[];
}

/** Attaches; a taken (app, as) or (add-on, app) pair throws SQLITE_CONSTRAINT_UNIQUE. */
export function insertAttachment(db: Db, params: { addonId: number; appId: number; as: string; now: string }): void {
  db.prepare('INSERT INTO addon_attachments (addon_id, app_id, as_name, created_at) VALUES (?, ?, ?, ?)').run(params.addonId, params.appId, params.as, params.now);
}

export function deleteAttachment(db: Db, addonId: number, appId: number): boolean {
  return db.prepare('DELETE FROM addon_attachments WHERE addon_id = ? AND app_id = ?').run(addonId, appId).changes === 1;
}

/** The add-on's backups, oldest first. */
export function listBackups(db: Db, addonId: number): BackupRow[] {
  return db.prepare('SELECT * FROM pg_backups WHERE addon_id = ? ORDER BY id').all(addonId) as BackupRow[];
}

export function findBackup(db: Db, addonId: number, id: string): BackupRow | undefined {
  return db.prepare('SELECT * FROM pg_backups WHERE addon_id = ? AND id = ?').get(addonId, id) as BackupRow | undefined;
}

/** Numbers the add-on's next backup (`b001`, `b002`, …) and records it as pending, in one transaction. */
export function insertBackup(db: Db, params: { addonId: number; now: string; file: (id: string) => string }): BackupRow {
  return db.transaction(() => {
    const last = db.prepare("SELECT MAX(CAST(substr(id, 2) AS INTEGER)) AS n FROM pg_backups WHERE addon_id = ?").get(params.addonId) as { n: number | null };
    const id = `b${String((last.n ?? 0) + 1).padStart(3, '0')}`;
    const row: BackupRow = { id, addon_id: params.addonId, created_at: params.now, size: null, status: 'pending', file: params.file(id) };
    db.prepare('INSERT INTO pg_backups (id, addon_id, created_at, size, status, file) VALUES (?, ?, ?, ?, ?, ?)').run(row.id, row.addon_id, row.created_at, row.size, row.status, row.file);
    return row;
  })();
}

/** Forgets a backup whose file `paas gc` removed. */
export function deleteBackup(db: Db, addonId: number, id: string): void {
  db.prepare('DELETE FROM pg_backups WHERE addon_id = ? AND id = ?').run(addonId, id);
}

export function finishBackup(db: Db, addonId: number, id: string, result: { status: 'succeeded' | 'failed'; size: number | null }): void {
  db.prepare('UPDATE pg_backups SET status = ?, size = ? WHERE addon_id = ? AND id = ?').run(result.status, result.size, addonId, id);
}

/** Backups a killed server left pending are failed: their capture stopped with it. */
export function failPendingBackups(db: Db): number {
  return db.prepare("UPDATE pg_backups SET status = 'failed' WHERE status = 'pending'").run().changes;
}
