import express from 'express';
import type { Deps } from '../../control/deps.js';
import { addCert, listCerts, removeCert, updateTls } from '../../control/certs.js';

/** HTTPS certificates and settings (certs, certs:add, certs:remove, certs:auto:*, certs:redirect, certs:hsts): thin handlers over control/certs.ts. */
export function certsRoutes(deps: Deps): express.Router {
  const r = express.Router();
  r.get('/apps/:name/certs', (req, res) => {
    res.json(listCerts({ app: req.params.name }, deps));
  });
  // The CLI sends the PEM text of CERT_FILE and KEY_FILE; the key travels once, over the API's token.
  r.post('/apps/:name/certs', (req, res) => {
    const body = (req.body ?? {}) as { cert?: unknown; key?: unknown };
    res.status(201).json(addCert({ app: req.params.name, cert: body.cert, key: body.key }, deps));
  });
  r.delete('/apps/:name/certs/:target', (req, res) => {
    res.json(removeCert({ app: req.params.name, target: req.params.target }, deps));
  });
  r.patch('/apps/:name/tls', (req, res) => {
    res.json(updateTls({ app: req.params.name, changes: req.body }, deps));
  });
  return r;
}
