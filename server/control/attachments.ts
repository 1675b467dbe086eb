import fs from 'node:fs';
import { attachmentRelease } from './changes.js';
import type { Deps } from './deps.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';
import type { AppRow } from '../store/apps.js';
import { type AddonRow, appAttachments, attachmentsOf, deleteAddon, deleteAttachment, findAddon, findAddonById, insertAttachment } from '../store/addons.js';
import type { ReleaseRow } from '../store/releases.js';
import { backupsDir, currentConfig, instanceOf, parseAs, requireAddon, requireApp } from './queries.js';

/**
 * Refuses an attachment of the add-on (`addonId`; undefined for one not made yet) to the app as
 * `as` that the app already has: the add-on itself, an add-on under that prefix, or its own `AS_URL`.
 */
export function refuseAttachment(app: AppRow, as: string, addonId: number | undefined, deps: Pick<Deps, 'db'>): void {
  const key = `${as}_URL`;
  for (const a of appAttachments(deps.db, app.id)) {
    if (a.addon_id === addonId) throw new ConflictError('already_attached', `${a.addon} is already attached to ${app.name} as ${a.as_name}.`);
    if (a.as_name === as) {
      throw new ConflictError('attachment_exists', `${app.name} already has ${key} from the add-on ${a.addon}. Attach under another name with --as NAME, or detach ${a.addon} first.`);
    }
  }
  if (key in currentConfig(app, deps)) {
    throw new ConflictError(
      'config_var_exists',
      `${app.name}'s own config sets ${key}, which paas never overwrites. Attach under another name with --as NAME, or unset it first: paas config:unset ${key} -a ${app.name}`,
    );
  }
}

/**
 * Makes the add-on reachable from the dynos of exactly the apps it is attached to (and `joining`,
 * about to be): on Docker, the app networks it is on.
 */
export async function reachAttached(addon: AddonRow, deps: Pick<Deps, 'db' | 'addons'>, joining?: string): Promise<void> {
  if (!deps.addons.reach || addon.state === 'provisioning') return;
  const apps = new Set(attachmentsOf(deps.db, addon.id).map((a) => a.app));
  if (joining) apps.add(joining);
  await deps.addons.reach(instanceOf(addon), [...apps]);
}

/** Under the app's lock: the checks an attachment must pass, then the row. */
function insertChecked(addonName: string, app: AppRow, as: string, deps: Pick<Deps, 'db'>): void {
  const addon = findAddon(deps.db, addonName);
  if (!addon) throw new NotFoundError(`Couldn't find that add-on: ${JSON.stringify(addonName)}. Run \`paas addons --all\` to list the add-ons.`);
  refuseAttachment(app, as, addon.id, deps);
  insertAttachment(deps.db, { addonId: addon.id, appId: app.id, as, now: new Date().toISOString() });
}

/**
 * Attaches an add-on to an app as `AS_URL`, in a new release (same build, same own config), so the
 * dynos restart with the var, as a config change restarts them. Resolves once the release is open.
 */
export async function attach(params: { addon: string; app: string; as?: unknown; actor: string }, deps: Deps): Promise<ReleaseRow> {
  const addon = requireAddon(deps, params.addon);
  const app = requireApp(deps, params.app);
  const as = parseAs(params.as, addon.service);
  // Before the release: its dynos find the add-on's host name from their first line.
  await reachAttached(addon, deps, app.name);
  try {
    return await attachmentRelease(
      { app: app.name, description: `Attach ${as} (${addon.name})`, actor: params.actor, change: (now) => insertChecked(addon.name, now, as, deps) },
      deps,
    );
  } catch (err) {
    await reachAttached(addon, deps).catch(() => undefined);
    throw err;
  }
}

/** Detaches an add-on from an app in a new release, which drops its var; the add-on and its data stay. */
export async function detach(params: { addon: string; app: string; actor: string }, deps: Deps): Promise<ReleaseRow> {
  const addon = requireAddon(deps, params.addon);
  const app = requireApp(deps, params.app);
  const attached = attachmentsOf(deps.db, addon.id).find((a) => a.app_id === app.id);
  if (!attached) throw new NotFoundError(`${addon.name} is not attached to ${app.name}. Run \`paas addons -a ${app.name}\` to list its add-ons.`);
  const release = await attachmentRelease(
    {
      app: app.name,
      description: `Detach ${attached.as_name} (${addon.name})`,
      actor: params.actor,
      change: (now) => {
        if (!deleteAttachment(deps.db, addon.id, now.id)) throw new NotFoundError(`${addon.name} is not attached to ${app.name}.`);
      },
    },
    deps,
  );
  // The app's dynos lose their way to it now, not at their next restart.
  await reachAttached(addon, deps);
  return release;
}

/**
 * Before an app is destroyed (its attachments go with it): with `destroyAddons`, destroys its add-ons
 * attached to no other app. Returns which were destroyed and which were only detached (kept).
 */
export async function releaseAppAddons(app: AppRow, destroyAddons: boolean, deps: Deps): Promise<{ destroyed: string[]; kept: string[] }> {
  const destroyed: string[] = [];
  const kept: string[] = [];
  for (const a of appAttachments(deps.db, app.id)) {
    const shared = attachmentsOf(deps.db, a.addon_id).some((other) => other.app_id !== app.id);
    const row = findAddonById(deps.db, a.addon_id);
    if (!destroyAddons || shared || !row) {
      kept.push(a.addon);
      continue;
    }
    if (row.state !== 'provisioning') await deps.addons.destroy(instanceOf(row));
    deleteAddon(deps.db, row.id);
    await fs.promises.rm(backupsDir(deps, row.name), { recursive: true, force: true });
    destroyed.push(row.name);
  }
  return { destroyed, kept };
}
