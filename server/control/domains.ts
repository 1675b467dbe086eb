import type { Deps } from './deps.js';
import { ConflictError, InvalidParamsError, NotFoundError } from '../../lib/errors.js';
import { normalizeHostname, parseHostname } from './hostnames.js';
import { type AppRow, findAppById } from '../store/apps.js';
import type { Db } from '../store/db.js';
import { claimDomain, deleteDomain, findDomain, listDomains as listDomainRows } from '../store/domains.js';
import { requireApp } from './queries.js';

/** A domain as the API shows it: the app's default `<app>.<PAAS_DOMAIN>` or a custom one. */
export interface DomainView {
  hostname: string;
  kind: 'default' | 'custom';
  created_at: string;
}

function defaultHostname(app: AppRow, deps: Pick<Deps, 'config'>): string {
  return `${app.name}.${deps.config.domain}`;
}

/** What the route table holds for an app besides its dynos, from the store: at start-up, routers get it all at once. */
export function routeState(db: Db, app: AppRow): { maintenance: boolean; domains: string[] } {
  return { maintenance: app.maintenance === 1, domains: listDomainRows(db, app.id).map((d) => d.hostname) };
}

/** The name of the app holding `hostname`, if one does. */
function holderOf(db: Db, hostname: string): string | undefined {
  const row = findDomain(db, hostname);
  return row && findAppById(db, row.app_id)?.name;
}

/** Tells routers the app's domains as the store now has them; automatic certificates follow the change. */
function publish(app: AppRow, deps: Deps): void {
  deps.routes.setDomains(app.name, routeState(deps.db, app).domains);
  deps.certOrders.wake();
}

/** The default domain first (as Heroku lists its herokuapp.com one), then the custom ones in the order they were added. */
export function listDomains(params: { app: string }, deps: Deps): DomainView[] {
  const app = requireApp(deps, params.app);
  return [
    { hostname: defaultHostname(app, deps), kind: 'default', created_at: app.created_at },
    ...listDomainRows(deps.db, app.id).map((d): DomainView => ({ hostname: d.hostname, kind: 'custom', created_at: d.created_at })),
  ];
}

/**
 * Adds a custom domain. Adding one the app already has changes nothing and is no error (`created`
 * false), so scripts can run it again; one another app has is a 409 that names the command freeing it.
 */
export function addDomain(params: { app: string; hostname: unknown }, deps: Deps): { domain: DomainView; created: boolean } {
  const app = requireApp(deps, params.app);
  const hostname = parseHostname(params.hostname, deps.config.domain);
  const { row, created } = claimDomain(deps.db, app.id, hostname, new Date().toISOString());
  if (row.app_id !== app.id) {
    // One token sees every app, so naming the holder tells nothing new and says where to free it.
    const holder = holderOf(deps.db, hostname) ?? 'another app';
    throw new ConflictError(
      'domain_taken',
      `${hostname} is already in use by ${holder}. A hostname belongs to one app: free it with \`paas domains:remove ${hostname} -a ${holder}\`, then add it here.`,
    );
  }
  if (created) {
    publish(app, deps);
    deps.logs.append(app.name, 'paas[api]', `Added domain ${hostname}`);
  }
  return { domain: { hostname, kind: 'custom', created_at: row.created_at }, created };
}

/** Removes a custom domain of the app; requests for it get the router's 404 from then on. */
export function removeDomain(params: { app: string; hostname: string }, deps: Deps): void {
  const app = requireApp(deps, params.app);
  const hostname = normalizeHostname(params.hostname);
  if (hostname === defaultHostname(app, deps)) {
    throw new InvalidParamsError(`${hostname} is ${app.name}'s default domain: it always routes to the app and cannot be removed.`);
  }
  if (!deleteDomain(deps.db, app.id, hostname)) {
    const holder = holderOf(deps.db, hostname);
    const elsewhere = holder ? ` (${holder} has it)` : '';
    throw new NotFoundError(`${app.name} has no domain ${hostname}${elsewhere}. Run \`paas domains -a ${app.name}\` to list its domains.`);
  }
  publish(app, deps);
  deps.logs.append(app.name, 'paas[api]', `Removed domain ${hostname}`);
}
