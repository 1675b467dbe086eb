import express from 'express';
import type { Deps } from '../../control/deps.js';
import { addDomain, listDomains, removeDomain } from '../../control/domains.js';

/** Custom domains (domains, domains:add, domains:remove): thin handlers over ../domains.ts. */
export function domainsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/apps/:name/domains', (req, res) => {
    res.json(listDomains({ app: req.params.name }, deps));
  });
  // 201 when added; 200 with the same domain when the app already had it (adding is idempotent).
  r.post('/apps/:name/domains', (req, res) => {
    const { domain, created } = addDomain({ app: req.params.name, hostname: (req.body as { hostname?: unknown } | undefined)?.hostname }, deps);
    res.status(created ? 201 : 200).json(domain);
  });
  r.delete('/apps/:name/domains/:hostname', (req, res) => {
    removeDomain({ app: req.params.name, hostname: req.params.hostname }, deps);
    res.status(204).end();
  });
  return r;
}
