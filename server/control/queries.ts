// What the control functions read and check in common: the app, its live release and config, an
// add-on and its attachments. It imports no other control file (but the Deps type), so every use
// case can build on it without import loops.
import path from 'node:path';
import { ConflictError, InvalidParamsError, NotFoundError } from '../../lib/errors.js';
import type { AddonInstance, AddonService } from '../addons/types.js';
import { type AddonRow, appAttachments, findAddon, findAddonById } from '../store/addons.js';
import { type AppRow, findApp } from '../store/apps.js';
import { findReleaseById, type ReleaseRow } from '../store/releases.js';
import type { ConfigChange, ConfigVars } from './config-vars.js';
import type { Deps } from './deps.js';

export const APP_NAME_RULE = /^[a-z][a-z0-9-]{1,29}$/;

export function requireApp(deps: Pick<Deps, 'db'>, name: string): AppRow {
  const app = APP_NAME_RULE.test(name) ? findApp(deps.db, name) : undefined;
  if (!app) throw new NotFoundError(`Couldn't find that app: ${JSON.stringify(name)}. Run \`paas apps\` to list your apps.`);
  return app;
}

/** The config of the release that is live now (empty before the first release). */
export function currentConfig(app: AppRow, deps: Pick<Deps, 'db'>): ConfigVars {
  const current = currentRelease(app, deps);
  return current ? (JSON.parse(current.config) as ConfigVars) : {};
}

export function currentRelease(app: AppRow, deps: Pick<Deps, 'db'>): ReleaseRow | undefined {
  return app.current_release_id ? findReleaseById(deps.db, app.current_release_id) : undefined;
}

/** The var prefix an attachment uses: `--as`, upper-cased and checked, else the service's default. */
export const AS_RULE = /^[A-Z][A-Z0-9_]{0,29}$/;
const DEFAULT_AS: Record<AddonService, string> = { postgresql: 'DATABASE', redis: 'REDIS' };

/** What the runtime needs of a row (the store keeps the instance's fields as its columns). */
export function instanceOf(row: AddonRow): AddonInstance {
  const { name, service, version, uid, user, database, password, port, handle } = row;
  return { name, service, version, uid, user, database, password, port, handle };
}

/** The attachment's var prefix: `as` upper-cased (a 422 stating the rule if it breaks it), else the service's default. */
export function parseAs(raw: unknown, service: AddonService): string {
  if (raw === undefined || raw === null || raw === '') return DEFAULT_AS[service];
  const as = typeof raw === 'string' ? raw.toUpperCase() : raw;
  if (typeof as !== 'string' || !AS_RULE.test(as)) {
    throw new InvalidParamsError(`Invalid attachment name ${JSON.stringify(raw)}: use letters, digits and underscores, starting with a letter, at most 30 (the var is NAME_URL).`);
  }
  return as;
}

export function requireAddon(deps: Pick<Deps, 'db'>, name: string): AddonRow {
  const row = APP_NAME_RULE.test(name) ? findAddon(deps.db, name) : undefined;
  if (!row) throw new NotFoundError(`Couldn't find that add-on: ${JSON.stringify(name)}. Run \`paas addons --all\` to list the add-ons.`);
  return row;
}

/** Where an add-on's backups are kept: `<data>/backups/<addon>/`. */
export function backupsDir(deps: Pick<Deps, 'paths'>, addon: string): string {
  return path.join(deps.paths.backups, addon);
}

/**
 * The vars the app's add-ons give its dynos (`DATABASE_URL`, …), merged after its own config: they
 * are no part of any release's config, so a rollback keeps the add-ons attached now.
 */
export function addonVars(app: AppRow, deps: Pick<Deps, 'db' | 'addons'>): ConfigVars {
  const vars: ConfigVars = {};
  for (const a of appAttachments(deps.db, app.id)) {
    const row = findAddonById(deps.db, a.addon_id);
    if (row && row.state !== 'provisioning') vars[`${a.as_name}_URL`] = deps.addons.url(instanceOf(row));
  }
  return vars;
}

/** Refuses a config change of a var an add-on owns: the platform set it, so only a detach removes it. */
export function refuseOwnedVars(app: AppRow, change: ConfigChange, deps: Pick<Deps, 'db'>): void {
  const keys = new Set([...Object.keys(change.set), ...change.unset]);
  for (const a of appAttachments(deps.db, app.id)) {
    const key = `${a.as_name}_URL`;
    if (keys.has(key)) {
      throw new ConflictError(
        'addon_config_var',
        `${key} of ${app.name} is set by the add-on ${a.addon}. To change or remove it, detach the add-on: paas addons:detach ${a.addon} -a ${app.name}`,
      );
    }
  }
}
