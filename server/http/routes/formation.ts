import express from 'express';
import type { ApiDeps } from '../deps.js';
import { DETACHED_TIMEOUT_S, runRequest } from '../../control/one-offs.js';
import { restartDynos, scaleFormation, stopDyno, viewDynos, viewFormation } from '../../control/formation.js';

/** Formation and dynos (ps, ps:scale, ps:restart, ps:stop): thin handlers over ../dynos/formation.ts. */
export function formationRoutes(deps: ApiDeps): express.Router {
  const r = express.Router();
  r.get('/apps/:name/formation', (req, res) => {
    res.json(viewFormation({ app: req.params.name }, deps));
  });
  r.patch('/apps/:name/formation', async (req, res) => {
    res.json(await scaleFormation({ app: req.params.name, updates: (req.body as { updates?: unknown } | undefined)?.updates }, deps));
  });
  r.get('/apps/:name/dynos', (req, res) => {
    res.json(viewDynos({ app: req.params.name }, deps));
  });
  // A detached one-off dyno (`paas run --detach`); attached ones come through the run websocket.
  r.post('/apps/:name/dynos', async (req, res) => {
    const body = (req.body ?? {}) as { argv?: unknown; env?: unknown; timeout?: unknown };
    const run = await deps.runs.start(runRequest(req.params.name, { argv: body.argv, env: body.env, timeout: body.timeout ?? DETACHED_TIMEOUT_S }), deps);
    res.status(201).json({ name: run.name, command: run.command, release: run.release, state: 'up' });
  });
  // As in Heroku's API: DELETE restarts (all dynos, or a type or one dyno), and stop is an action.
  r.delete('/apps/:name/dynos', async (req, res) => {
    await restartDynos({ app: req.params.name }, deps);
    res.status(202).json({});
  });
  r.delete('/apps/:name/dynos/:dyno', async (req, res) => {
    await restartDynos({ app: req.params.name, target: req.params.dyno }, deps);
    res.status(202).json({});
  });
  r.post('/apps/:name/dynos/:dyno/actions/stop', async (req, res) => {
    await stopDyno({ app: req.params.name, dyno: req.params.dyno }, deps);
    res.status(202).json({});
  });
  return r;
}
