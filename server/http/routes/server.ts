import express from 'express';
import type { Deps } from '../../control/deps.js';
import { runGc } from '../../control/gc.js';
import { serverStatus } from '../../control/status.js';
import { InvalidParamsError } from '../../../lib/errors.js';

/** The server as a whole: `paas status` and `paas gc`, thin handlers over ../../control/. */
export function serverRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/status', async (_req, res) => {
    res.json(await serverStatus(deps));
  });
  r.post('/gc', async (req, res) => {
    const dryRun = (req.body as { dry_run?: unknown } | undefined)?.dry_run ?? false;
    if (typeof dryRun !== 'boolean') throw new InvalidParamsError('dry_run must be true or false.');
    res.json(await runGc({ dryRun }, deps));
  });
  return r;
}
