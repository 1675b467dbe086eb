import express, { type Request, type Response } from 'express';
import { createAddon, destroyAddon, listAddons, view } from '../../control/addons.js';
import { attach, detach } from '../../control/attachments.js';
import { captureBackup, listBackups, restoreBackup } from '../../control/backups.js';
import type { Deps } from '../../control/deps.js';
import { InvalidParamsError } from '../../../lib/errors.js';
import type { ReleaseRow } from '../../control/history.js';
import { plainName } from '../auth.js';
import { requireAddon } from '../../control/queries.js';

function actor(req: Request): string {
  return plainName(req.get('x-paas-actor')) ?? 'api';
}

/** The release an attach or detach made, for the CLI to follow (the body is the add-on alone). */
function withRelease(res: Response, release: ReleaseRow): Response {
  return res.set('paas-release-version', String(release.version));
}

function body(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined) return {};
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new InvalidParamsError('Send a JSON object.');
  return b as Record<string, unknown>;
}

function query(req: Request, key: string): string | undefined {
  const v = req.query[key];
  return typeof v === 'string' ? v : undefined;
}

/** Add-ons, their attachments and PostgreSQL backups: thin handlers over ../addons/. */
export function addonsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/addons', (_req, res) => {
    res.json(listAddons({}, deps));
  });
  r.get('/apps/:app/addons', (req, res) => {
    res.json(listAddons({ app: req.params.app }, deps));
  });
  // Provisions synchronously (the server answers queries when this answers) and attaches in a new release.
  r.post('/apps/:app/addons', async (req, res) => {
    const b = body(req);
    const { addon, release } = await createAddon({ app: req.params.app, service: b.service, as: b.as, actor: actor(req) }, deps);
    withRelease(res, release).status(201).json(addon);
  });
  r.get('/addons/:addon', (req, res) => {
    res.json(view(requireAddon(deps, req.params.addon), deps));
  });
  r.post('/addons/:addon/attachments', async (req, res) => {
    const b = body(req);
    if (typeof b.app !== 'string') throw new InvalidParamsError('Send {"app": "APP"} and optionally "as": "NAME".');
    const release = await attach({ addon: req.params.addon, app: b.app, as: b.as, actor: actor(req) }, deps);
    withRelease(res, release).status(201).json(view(requireAddon(deps, req.params.addon), deps));
  });
  r.delete('/addons/:addon/attachments/:app', async (req, res) => {
    const release = await detach({ addon: req.params.addon, app: req.params.app, actor: actor(req) }, deps);
    withRelease(res, release).json(view(requireAddon(deps, req.params.addon), deps));
  });
  r.delete('/addons/:addon', async (req, res) => {
    res.json(await destroyAddon({ addon: req.params.addon, force: query(req, 'force') === 'true', actor: actor(req) }, deps));
  });
  r.get('/apps/:app/pg/backups', (req, res) => {
    res.json(listBackups({ app: req.params.app, as: query(req, 'as') }, deps));
  });
  r.post('/apps/:app/pg/backups', async (req, res) => {
    res.status(201).json(await captureBackup({ app: req.params.app, as: query(req, 'as') }, deps));
  });
  r.post('/apps/:app/pg/backups/:id/restore', async (req, res) => {
    res.json(await restoreBackup({ app: req.params.app, as: query(req, 'as'), id: req.params.id }, deps));
  });
  return r;
}
