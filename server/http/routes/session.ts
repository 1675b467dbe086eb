import express, { type CookieOptions, type Request } from 'express';
import { UnauthorizedError } from '../../../lib/errors.js';
import type { Deps } from '../../control/deps.js';
import { lookUpSession, SESSION_ENDED, SESSION_TTL_MS, signIn, signOut } from '../../control/sessions.js';
import { checkCsrf, SESSION_COOKIE, sessionId } from '../auth.js';

/** The cookie's flags: script cannot read it, no other site's page sends it, and over HTTPS it never travels in the clear. */
function cookieFlags(req: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure };
}

/**
 * `/v1/session`: the dashboard's sign-in with the API token (the one route without auth), the
 * session it has, and sign-out. Mounted before the auth every other `/v1` route needs.
 */
export function sessionRoutes(deps: Pick<Deps, 'db' | 'config'>): express.Router {
  const r = express.Router();
  r.post('/session', express.json({ limit: '4kb' }), (req, res) => {
    const { id, session } = signIn({ token: (req.body as { token?: unknown } | undefined)?.token }, deps);
    res.cookie(SESSION_COOKIE, id, { ...cookieFlags(req), maxAge: SESSION_TTL_MS });
    res.status(201).json(session);
  });
  r.get('/session', (req, res) => {
    const id = sessionId(req.headers);
    const session = lookUpSession(id, deps);
    if (session) return void res.json(session);
    if (id) res.clearCookie(SESSION_COOKIE, cookieFlags(req));
    throw new UnauthorizedError(id ? SESSION_ENDED : 'Not signed in to the dashboard. Sign in with the API token: `paas auth:token` prints it.');
  });
  r.delete('/session', (req, res) => {
    const id = sessionId(req.headers);
    const session = lookUpSession(id, deps);
    // A live session ends only on a request its own page made; a dead cookie is just cleared.
    if (id && session) {
      checkCsrf(req.method, req.headers, { via: 'session', id, session });
      signOut(id, deps);
    }
    res.clearCookie(SESSION_COOKIE, cookieFlags(req));
    res.status(204).end();
  });
  return r;
}
