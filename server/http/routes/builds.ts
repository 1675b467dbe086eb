import express, { type Request, type Response } from 'express';
import type { Deps } from '../../control/deps.js';
import { InvalidParamsError, NotFoundError } from '../../../lib/errors.js';
import { readKeptOutput } from '../../outputs/store.js';
import { appBuilds, type BuildRow, requireBuild } from '../../control/history.js';
import { requireApp } from '../../control/queries.js';

/** A build as the API shows it; every field is pinned for scripts. */
export interface BuildView {
  id: string;
  status: BuildRow['status'];
  commit: string;
  buildpack: string | null;
  created_at: string;
  /** Seconds from start to finish; null while pending, or when a server stopped mid-build. */
  duration: number | null;
}

function view(b: BuildRow): BuildView {
  const duration = b.finished_at ? Math.round((Date.parse(b.finished_at) - Date.parse(b.created_at)) / 100) / 10 : null;
  return { id: b.id, status: b.status, commit: b.commit_sha, buildpack: b.buildpack, created_at: b.created_at, duration };
}

/** Sends a kept output as text, or as `{ output }` to a client that asks for JSON. */
export function sendOutput(req: Request, res: Response, output: string): void {
  if (req.accepts(['text/plain', 'application/json']) === 'application/json') res.json({ output });
  else res.type('text/plain; charset=utf-8').send(output);
}

/** An app's builds and their outputs, kept on disk (../outputs/). */
export function buildsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/apps/:name/builds', (req, res) => {
    const app = requireApp(deps, req.params.name);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidParamsError('limit must be an integer from 1 to 1000.');
    res.json(appBuilds(deps, app, limit).map(view));
  });
  r.get('/apps/:name/builds/:id/output', async (req, res) => {
    const app = requireApp(deps, req.params.name);
    const build = requireBuild(deps, app, req.params.id);
    const output = await readKeptOutput(deps.paths, 'build', app.name, build.id);
    if (output === undefined) {
      throw new NotFoundError(`No output is kept for build ${build.id}: paas keeps the output of each app's last ${deps.config.disk.keepReleases} builds (PAAS_KEEP_RELEASES).`);
    }
    sendOutput(req, res, output);
  });
  return r;
}
