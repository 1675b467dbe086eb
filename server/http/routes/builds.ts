import express, { type Request, type Response } from 'express';
import { requireApp } from '../../control/apps.js';
import type { Deps } from '../../control/deps.js';
import { InvalidParamsError, NotFoundError } from '../../../lib/errors.js';
import { BUILD_ID, readKeptOutput } from '../../outputs/store.js';
import { KEPT_RELEASES } from '../../docker/images.js';
import type { AppRow } from '../../store/apps.js';
import { type BuildRow, findBuild, listBuilds } from '../../store/releases.js';

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

function requireBuild(deps: Deps, app: AppRow, id: string): BuildRow {
  if (!BUILD_ID.test(id)) throw new InvalidParamsError(`${JSON.stringify(id)} is not a build id. Run \`paas builds\` to see ${app.name}'s builds.`);
  const build = findBuild(deps.db, id);
  if (!build || build.app_id !== app.id) throw new NotFoundError(`${app.name} has no build ${id}. Run \`paas builds\` to see its builds.`);
  return build;
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
    res.json(listBuilds(deps.db, app.id, limit).map(view));
  });
  r.get('/apps/:name/builds/:id/output', async (req, res) => {
    const app = requireApp(deps, req.params.name);
    const build = requireBuild(deps, app, req.params.id);
    const output = await readKeptOutput(deps.paths, 'build', app.name, build.id);
    if (output === undefined) {
      throw new NotFoundError(`No output is kept for build ${build.id}: paas keeps the output of each app's last ${KEPT_RELEASES} builds.`);
    }
    sendOutput(req, res, output);
  });
  return r;
}
