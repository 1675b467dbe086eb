import express, { type Request } from 'express';
import { createApp, destroyApp, listApps, updateApp, viewApp } from '../../control/apps.js';
import type { Deps } from '../../control/deps.js';
import { InvalidParamsError } from '../../../lib/errors.js';
import { buildsRoutes } from './builds.js';
import { certsRoutes } from './certs.js';
import { domainsRoutes } from './domains.js';
import { lastMatching, parseLogFilter } from '../../logs/filter.js';
import { drainsRoutes } from './drains.js';
import { requireApp } from '../../control/queries.js';

/** The base URL git should push to, as the client reached us. */
function gitBase(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}

function parseLines(raw: unknown, max: number): number {
  if (raw === undefined) return Math.min(100, max);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidParamsError(`lines must be an integer from 1 to ${max} (the history kept, PAAS_LOG_HISTORY).`);
  return n;
}

/** /v1/apps: thin handlers over the plain functions in ../apps.ts, and the apps' domains. */
export function appsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/apps', (req, res) => {
    res.json(listApps(deps).map((a) => viewApp(a, deps, gitBase(req))));
  });
  r.post('/apps', async (req, res) => {
    const app = await createApp({ name: req.body?.name }, deps);
    res.status(201).json(viewApp(app, deps, gitBase(req)));
  });
  r.get('/apps/:name', (req, res) => {
    res.json(viewApp(requireApp(deps, req.params.name), deps, gitBase(req)));
  });
  r.patch('/apps/:name', (req, res) => {
    res.json(viewApp(updateApp({ name: req.params.name, changes: req.body }, deps), deps, gitBase(req)));
  });
  // 204, or with add-ons attached 200 and which were destroyed (`?destroy_addons=true`) and which kept their data.
  r.delete('/apps/:name', async (req, res) => {
    const { destroyed, kept } = await destroyApp({ name: req.params.name, destroyAddons: req.query.destroy_addons === 'true' }, deps);
    if (!destroyed.length && !kept.length) return void res.status(204).end();
    res.json({ destroyed_addons: destroyed, kept_addons: kept });
  });
  r.get('/apps/:name/logs', (req, res) => {
    const app = requireApp(deps, req.params.name);
    const n = parseLines(req.query.lines, deps.logs.limit);
    res.json(lastMatching(deps.logs.recent(app.name, deps.logs.limit), n, parseLogFilter(req.query)));
  });
  // Mounted here rather than in main.ts: domains, drains and builds belong to an app, under the same /v1 guards.
  r.use(domainsRoutes(deps));
  r.use(certsRoutes(deps));
  r.use(drainsRoutes(deps));
  r.use(buildsRoutes(deps));
  return r;
}
