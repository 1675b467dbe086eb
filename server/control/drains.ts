import { randomUUID } from 'node:crypto';
import type { Deps } from './deps.js';
import { NotFoundError } from '../../lib/errors.js';
import { deleteDrain, type DrainRow, findDrain, insertDrain, listDrains as listDrainRows } from '../store/drains.js';
import { parseDrainUrl } from '../drains/url.js';
import { requireApp } from './queries.js';

/** A drain as the API shows it (Heroku's log-drain: `id`, `url`, `token`, and when it was added). */
export interface DrainView {
  id: string;
  url: string;
  token: string;
  created_at: string;
}

function view(row: DrainRow): DrainView {
  return { id: row.id, url: row.url, token: row.token, created_at: row.created_at };
}

/** The app's drains, in the order they were added. */
export function listDrains(params: { app: string }, deps: Pick<Deps, 'db'>): DrainView[] {
  const app = requireApp(deps, params.app);
  return listDrainRows(deps.db, app.id).map(view);
}

/**
 * Adds a drain and starts delivering to it. Adding a URL the app drains to already changes nothing
 * (`created` false), so scripts can run it again.
 */
export function addDrain(params: { app: string; url: unknown }, deps: Pick<Deps, 'db' | 'drains'>): { drain: DrainView; created: boolean } {
  const app = requireApp(deps, params.app);
  const { url } = parseDrainUrl(params.url);
  const { row, created } = insertDrain(deps.db, { id: randomUUID(), app_id: app.id, url, token: `d.${randomUUID()}`, created_at: new Date().toISOString() });
  if (created) deps.drains.start({ id: row.id, app: app.name, url: row.url, token: row.token });
  return { drain: view(row), created };
}

/** Removes the drain named by its id, URL or token; its sender stops and what it had queued is dropped. */
export async function removeDrain(params: { app: string; drain: string }, deps: Pick<Deps, 'db' | 'drains'>): Promise<DrainView> {
  const app = requireApp(deps, params.app);
  const row = findDrain(deps.db, app.id, params.drain);
  if (!row) throw new NotFoundError(`${app.name} has no drain ${params.drain}. Run \`paas drains -a ${app.name}\` to list its drains.`);
  deleteDrain(deps.db, row.id);
  await deps.drains.stop(row.id);
  return view(row);
}
