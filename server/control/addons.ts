import fs from 'node:fs';
import { generateAddonName } from './apps.js';
import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, PaasError } from '../../lib/errors.js';
import type { ReleaseRow } from '../store/releases.js';
import { type AddonRow, appAttachments, attachmentsOf, deleteAddon, findAddon, insertAddon, listAddons as listAddonRows, recordInstance } from '../store/addons.js';
import { attach, detach, reachAttached, refuseAttachment } from './attachments.js';
import { attachmentRelease } from './changes.js';
import { scrub } from '../addons/scrub.js';
import { ADDON_SERVICES, type AddonInstance, type AddonService, type AddonState, type SquatReport } from '../addons/types.js';
import { backupsDir, instanceOf, parseAs, requireAddon, requireApp } from './queries.js';

/** An add-on as the API shows it: never its password nor its URL. Every field is pinned. */
export interface AddonView {
  name: string;
  service: AddonService;
  version: string;
  state: AddonState;
  /** Where it is attached: the app, and the var prefix (`DATABASE` for DATABASE_URL). */
  attachments: { app: string; as: string }[];
  created_at: string;
}


export function view(row: AddonRow, deps: Pick<Deps, 'db'>): AddonView {
  return {
    name: row.name,
    service: row.service,
    version: row.version,
    state: row.state,
    attachments: attachmentsOf(deps.db, row.id).map((a) => ({ app: a.app, as: a.as_name })),
    created_at: row.created_at,
  };
}

/** `postgresql` or `redis` (`postgres` is taken for `postgresql`); a 422 naming both otherwise. */
export function parseService(raw: unknown): AddonService {
  const name = raw === 'postgres' ? 'postgresql' : raw;
  if (typeof name !== 'string' || !ADDON_SERVICES.includes(name as AddonService)) {
    throw new InvalidParamsError(`Unknown add-on service ${JSON.stringify(raw)}: paas provides ${ADDON_SERVICES.join(' and ')}, for example \`paas addons:create postgresql -a APP\`.`);
  }
  return name as AddonService;
}

/** Every add-on, or those attached to `app`. */
export function listAddons(params: { app?: string }, deps: Pick<Deps, 'db'>): AddonView[] {
  if (params.app === undefined) return listAddonRows(deps.db).map((r) => view(r, deps));
  const app = requireApp(deps, params.app);
  const ids = new Set(appAttachments(deps.db, app.id).map((a) => a.addon_id));
  return listAddonRows(deps.db).filter((r) => ids.has(r.id)).map((r) => view(r, deps));
}

/**
 * Provisions a new add-on and attaches it to the app (a new release): the row is inserted as
 * `provisioning`, the server made and recorded, then attached. On any failure the server and the
 * row are removed, so nothing is left.
 */
export async function createAddon(params: { app: string; service: unknown; as?: unknown; actor: string }, deps: Deps): Promise<{ addon: AddonView; release: ReleaseRow }> {
  const app = requireApp(deps, params.app);
  const service = parseService(params.service);
  const as = parseAs(params.as, service);
  // Checked again under the app's lock when attaching; here so a conflict costs no provisioning.
  refuseAttachment(app, as, undefined, deps);
  let name: string;
  do name = generateAddonName(service);
  while (findAddon(deps.db, name));
  const row = insertAddon(deps.db, { name, service, now: new Date().toISOString(), uids: deps.config.appUids });
  let instance: AddonInstance | undefined;
  try {
    instance = await deps.addons.provision({ name, service, uid: row.uid });
    recordInstance(deps.db, row.id, instance);
    const release = await attach({ addon: name, app: app.name, as, actor: params.actor }, deps);
    return { addon: view(findAddon(deps.db, name)!, deps), release };
  } catch (err) {
    if (instance) await deps.addons.destroy(instance).catch((e: Error) => console.error(`paas: could not remove add-on ${name} after a failed create: ${e.message}`));
    deleteAddon(deps.db, row.id);
    if (err instanceof PaasError) throw err;
    const password = instance?.password ?? '';
    console.error(`paas: provisioning ${name} failed: ${scrub(String((err as Error).stack ?? err), password)}`);
    throw new PaasError('provision_failed', 500, `Could not provision ${service} for ${app.name}: ${scrub((err as Error).message.split('\n')[0], password)}. Nothing was created; the paas server log has the details.`);
  }
}

/**
 * Destroys an add-on and its data (and backups). Refused while attached unless `force`, which
 * detaches it from each app first (a release each).
 */
export async function destroyAddon(params: { addon: string; force: boolean; actor: string }, deps: Deps): Promise<AddonView> {
  const row = requireAddon(deps, params.addon);
  if (row.state === 'provisioning') throw new ConflictError('addon_provisioning', `${row.name} is still being provisioned. Wait for \`paas addons:create\` to finish, then destroy it.`);
  const attached = attachmentsOf(deps.db, row.id);
  if (attached.length && !params.force) {
    const apps = attached.map((a) => a.app);
    throw new ConflictError(
      'addon_attached',
      `${row.name} is attached to ${apps.join(', ')}. Detach it first (paas addons:detach ${row.name} -a ${apps[0]}), or destroy it anyway with --force.`,
    );
  }
  for (const a of attached) await detach({ addon: row.name, app: a.app, actor: params.actor }, deps);
  const shown = view(row, deps);
  await deps.addons.destroy(instanceOf(row));
  deleteAddon(deps.db, row.id);
  await fs.promises.rm(backupsDir(deps, row.name), { recursive: true, force: true });
  return shown;
}

/**
 * At start-up, before any app comes back (apps need their database): starts every provisioned
 * add-on, and removes those a killed server left half-provisioned.
 */
export async function restoreAddons(deps: Pick<Deps, 'db' | 'addons'>, log: (line: string) => void): Promise<void> {
  const rows = listAddonRows(deps.db);
  await Promise.all(
    rows.map(async (row) => {
      try {
        if (row.state === 'provisioning') {
          log(`Removing add-on ${row.name}: a previous paas server stopped while provisioning it`);
          await deps.addons.destroy(instanceOf(row)).catch(() => undefined);
          deleteAddon(deps.db, row.id);
        } else {
          await deps.addons.start(instanceOf(row));
          // What the attachments say, whatever a previous server left (one that died mid-attach).
          await reachAttached(row, deps);
        }
      } catch (err) {
        log(`Could not start add-on ${row.name}: ${(err as Error).message.split('\n')[0]}`);
      }
    }),
  );
}

/** Tells the app whose process held an add-on's port, in its own log, what that was and what paas did. */
export function reportSquat(report: SquatReport, deps: Pick<Deps, 'logs'>): void {
  if (!report.app) return;
  const done = report.stopped ? 'paas stopped it (its process group)' : 'paas could not stop it';
  deps.logs.append(report.app, 'paas', `Error: process ${report.pids.join(', ')} of this app held port ${report.port}, the port of the add-on ${report.addon}, while it restarted; ${done}`);
}

/**
 * After an add-on's password was replaced (its port was squatted, so the apps' clients may have
 * given the old one to the squatter): every app it is attached to gets the new URL in a new
 * release, as a config change does, and its dynos restart with it.
 */
export async function handOutNewUrl(name: string, deps: Deps): Promise<void> {
  const addon = findAddon(deps.db, name);
  if (!addon) return;
  for (const a of attachmentsOf(deps.db, addon.id)) {
    const description = `Renew ${a.as_name}_URL (${name}): its password may have reached another program`;
    await attachmentRelease({ app: a.app, description, actor: 'paas', change: () => undefined }, deps);
  }
}
