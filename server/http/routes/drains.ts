import express from 'express';
import type { Deps } from '../../control/deps.js';
import { addDrain, listDrains, removeDrain } from '../../control/drains.js';

/** Log drains (drains, drains:add, drains:remove): thin handlers over ../drains/drains.ts. */
export function drainsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/apps/:name/drains', (req, res) => {
    res.json(listDrains({ app: req.params.name }, deps));
  });
  // 201 when added; 200 with the same drain when the app already drains there (adding is idempotent).
  r.post('/apps/:name/drains', (req, res) => {
    const { drain, created } = addDrain({ app: req.params.name, url: (req.body as { url?: unknown } | undefined)?.url }, deps);
    res.status(created ? 201 : 200).json(drain);
  });
  // The drain's id, URL (percent-encoded) or token, as Heroku's API takes any of them.
  r.delete('/apps/:name/drains/:drain', async (req, res) => {
    res.json(await removeDrain({ app: req.params.name, drain: req.params.drain }, deps));
  });
  return r;
}
