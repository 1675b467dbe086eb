import fs from 'node:fs';
import path from 'node:path';
import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, NotFoundError, PaasError } from '../../lib/errors.js';
import { type AddonRow, appAttachments, type BackupRow, findAddonById, findBackup, finishBackup, insertBackup, listBackups as listBackupRows } from '../store/addons.js';
import { scrub } from '../addons/scrub.js';
import { backupsDir, instanceOf, parseAs, requireApp } from './queries.js';

/** A backup as the API shows it (`paas pg:backups --json`); every field is pinned. */
export interface BackupView {
  id: string;
  addon: string;
  status: BackupRow['status'];
  /** Bytes of the dump; null until it has succeeded. */
  size: number | null;
  created_at: string;
}

function view(row: BackupRow, addon: AddonRow): BackupView {
  return { id: row.id, addon: addon.name, status: row.status, size: row.size, created_at: row.created_at };
}

/** The app's PostgreSQL add-on: the one attached as `as`, else its only one. */
function appDatabase(params: { app: string; as?: unknown }, deps: Pick<Deps, 'db'>): AddonRow {
  const app = requireApp(deps, params.app);
  const attached = appAttachments(deps.db, app.id)
    .map((a) => ({ as: a.as_name, row: findAddonById(deps.db, a.addon_id)! }))
    .filter((a) => a.row.service === 'postgresql');
  if (params.as !== undefined && params.as !== '') {
    const as = parseAs(params.as, 'postgresql');
    const found = attached.find((a) => a.as === as);
    if (!found) throw new NotFoundError(`${app.name} has no PostgreSQL add-on attached as ${as}. Run \`paas addons -a ${app.name}\` to list its add-ons.`);
    return found.row;
  }
  if (!attached.length) throw new NotFoundError(`${app.name} has no PostgreSQL add-on. Create one with \`paas addons:create postgresql -a ${app.name}\`.`);
  if (attached.length > 1) {
    throw new InvalidParamsError(`${app.name} has ${attached.length} PostgreSQL add-ons (${attached.map((a) => a.as).join(', ')}). Pick one with --as NAME.`);
  }
  return attached[0].row;
}

/** The backups of the app's PostgreSQL add-on, oldest first. */
export function listBackups(params: { app: string; as?: unknown }, deps: Pick<Deps, 'db'>): BackupView[] {
  const addon = appDatabase(params, deps);
  return listBackupRows(deps.db, addon.id).map((b) => view(b, addon));
}

/** Captures a logical backup (`pg_dump -Fc`) of the app's PostgreSQL add-on into `<data>/backups/<addon>/<id>.dump`. */
export async function captureBackup(params: { app: string; as?: unknown }, deps: Pick<Deps, 'db' | 'addons' | 'paths' | 'logs'>): Promise<BackupView> {
  const addon = appDatabase(params, deps);
  const dir = backupsDir(deps, addon.name);
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const row = insertBackup(deps.db, { addonId: addon.id, now: new Date().toISOString(), file: (id) => path.join(dir, `${id}.dump`) });
  try {
    await deps.addons.capture(instanceOf(addon), row.file);
    const { size } = await fs.promises.stat(row.file);
    finishBackup(deps.db, addon.id, row.id, { status: 'succeeded', size });
    deps.logs.append(params.app, 'paas[api]', `Captured backup ${row.id} of ${addon.name}`);
    return view({ ...row, status: 'succeeded', size }, addon);
  } catch (err) {
    finishBackup(deps.db, addon.id, row.id, { status: 'failed', size: null });
    deps.logs.append(params.app, 'paas[api]', `Backup ${row.id} of ${addon.name} failed`);
    await fs.promises.rm(row.file, { force: true });
    if (err instanceof PaasError) throw err;
    console.error(`paas: backup ${row.id} of ${addon.name} failed: ${scrub(String((err as Error).stack ?? err), addon.password)}`);
    throw new PaasError('backup_failed', 500, `Backup ${row.id} of ${addon.name} failed: ${scrub((err as Error).message.split('\n')[0], addon.password)}. The paas server log has the details.`);
  }
}

/** Restores a succeeded backup into the app's PostgreSQL add-on (`pg_restore --clean --if-exists`). */
export async function restoreBackup(params: { app: string; as?: unknown; id: string }, deps: Pick<Deps, 'db' | 'addons' | 'logs'>): Promise<BackupView> {
  const addon = appDatabase(params, deps);
  const row = /^b\d{3,9}$/.test(params.id) ? findBackup(deps.db, addon.id, params.id) : undefined;
  if (!row) throw new NotFoundError(`${addon.name} has no backup ${JSON.stringify(params.id)}. Run \`paas pg:backups -a ${params.app}\` to list its backups.`);
  if (row.status !== 'succeeded') throw new ConflictError('backup_unusable', `Backup ${row.id} of ${addon.name} ${row.status === 'failed' ? 'failed' : 'is not finished'}, so it cannot be restored. Pick a succeeded one from \`paas pg:backups -a ${params.app}\`.`);
  try {
    await deps.addons.restore(instanceOf(addon), row.file);
  } catch (err) {
    if (err instanceof PaasError) throw err;
    console.error(`paas: restoring ${row.id} into ${addon.name} failed: ${scrub(String((err as Error).stack ?? err), addon.password)}`);
    throw new PaasError('restore_failed', 500, `Restoring ${row.id} into ${addon.name} failed: ${scrub((err as Error).message.split('\n')[0], addon.password)}. The paas server log has the details.`);
  }
  deps.logs.append(params.app, 'paas[api]', `Restored backup ${row.id} into ${addon.name}`);
  return view(row, addon);
}
