import express, { type Request } from 'express';
import { plainName } from '../auth.js';
import { changeConfig, rollback } from '../../control/changes.js';
import { parseConfigChange } from '../../control/config-vars.js';
import type { Deps } from '../../control/deps.js';
import { InvalidParamsError, NotFoundError } from '../../../lib/errors.js';
import { type AppRow, appReleases, buildOf, type ReleaseRow, requireRelease } from '../../control/history.js';
import { boundedLines } from '../bounded-output.js';
import { readKeptOutput } from '../../outputs/store.js';
import { sendOutput } from './builds.js';
import { addonVars, currentConfig, currentRelease, requireApp } from '../../control/queries.js';

/** A release as the API shows it; `version`, `description`, `status`, `current` and `created_at` are pinned. */
export interface ReleaseView {
  version: number;
  description: string;
  status: string;
  current: boolean;
  created_at: string;
  created_by: string;
  commit: string | null;
  output_stream_url: string;
}

function view(r: ReleaseRow, app: AppRow, deps: Deps, req: Request): ReleaseView {
  const build = buildOf(deps, r);
  return {
    version: r.version,
    description: r.description,
    status: r.status,
    current: app.current_release_id === r.id,
    created_at: r.created_at,
    created_by: r.created_by,
    commit: build?.commit_sha ?? null,
    output_stream_url: `${req.protocol}://${req.get('host')}/v1/apps/${app.name}/releases/${r.version}/output`,
  };
}

/** `v7` or `7` → 7. */
function parseVersion(raw: unknown): number {
  const m = /^v?(\d{1,9})$/.exec(String(raw));
  if (!m) throw new InvalidParamsError(`${JSON.stringify(raw)} is not a release version; use the form v7.`);
  return Number(m[1]);
}

function actor(req: Request): string {
  return plainName(req.get('x-paas-actor')) ?? 'api';
}

/** Config vars and releases: thin handlers over ../changes.ts and ../releases.ts. */
export function releasesRoutes(deps: Deps): express.Router {
  const r = express.Router();

  r.get('/apps/:name/config', (req, res) => {
    // The add-ons' vars too, as Heroku shows them; they are in no release's config.
    const app = requireApp(deps, req.params.name);
    res.json({ ...currentConfig(app, deps), ...addonVars(app, deps) });
  });

  r.patch('/apps/:name/config', async (req, res) => {
    const app = requireApp(deps, req.params.name);
    const change = parseConfigChange(req.body);
    const release = await changeConfig({ app: app.name, change, actor: actor(req) }, deps);
    res.status(201).json(view(release, requireApp(deps, app.name), deps, req));
  });

  r.get('/apps/:name/releases', (req, res) => {
    const app = requireApp(deps, req.params.name);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidParamsError('limit must be an integer from 1 to 1000.');
    res.json(appReleases(deps, app, limit).map((rel) => view(rel, app, deps, req)));
  });

  r.get('/apps/:name/releases/:version', (req, res) => {
    const app = requireApp(deps, req.params.name);
    const version = req.params.version === 'current' ? undefined : parseVersion(req.params.version);
    const rel = version === undefined ? currentRelease(app, deps) : requireRelease(deps, app, version);
    if (!rel) throw new NotFoundError(`${app.name} has no current release yet. Deploy it with \`git push paas main\`.`);
    res.json(view(rel, app, deps, req));
  });

  r.post('/apps/:name/releases', async (req, res) => {
    const app = requireApp(deps, req.params.name);
    const raw = req.body?.rollback;
    const target = raw === undefined || raw === null ? undefined : parseVersion(raw);
    const release = await rollback({ app: app.name, target, actor: actor(req) }, deps);
    res.status(201).json(view(release, requireApp(deps, app.name), deps, req));
  });

  r.get('/apps/:name/releases/:version/output', async (req, res) => {
    const app = requireApp(deps, req.params.name);
    const rel = requireRelease(deps, app, parseVersion(req.params.version));
    // A release made through the API is followed live from memory; any other, and any after a
    // restart, is read from its output on disk.
    if (!deps.outputs.has(rel.id)) {
      const output = await readKeptOutput(deps.paths, 'release', app.name, rel.version);
      if (output === undefined) throw new NotFoundError(`No output is kept for v${rel.version}: paas keeps the output of each app's last ${deps.config.disk.keepReleases} releases (PAAS_KEEP_RELEASES).`);
      return sendOutput(req, res, output);
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    const write = boundedLines(res);
    const stop = deps.outputs.follow(rel.id, (line) => (line === null ? res.end() : write(line)));
    if (stop) req.on('close', stop);
  });
  return r;
}
