import express, { type CookieOptions, type Request } from 'express';
import { UnauthorizedError } from '../../../lib/errors.js';
import type { Deps } from '../../control/deps.js';
import { SESSION_ENDED, SESSION_TTL_MS, signIn, signOut } from '../../control/sessions.js';
import { type Authority, checkCsrf, liveSession, SESSION_COOKIE, sessionIds } from '../auth.js';

/** The cookie's flags: script cannot read it, no other site's page sends it, and over HTTPS it never travels in the clear. */
function cookieFlags(req: Request): CookieOptions {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure };
}

/**
 * `/v1/session`: the dashboard's sign-in with the API token (the one route without auth), the
 * session it has, and sign-out, after which `onSignOut` runs (it closes the session's websockets).
 * Mounted before the auth every other `/v1` route needs.
 */
export function sessionRoutes(deps: Pick<Deps, 'db' | 'config'>, authority: Pick<Authority, 'session'>, onSignOut: () => void = () => undefined): express.Router {
  const r = express.Router();
  const live = (req: Request) => liveSession(sessionIds(req.headers), authority.session);
  r.post('/session', express.json({ limit: '4kb' }), (req, res) => {
    const { id, session } = signIn({ token: (req.body as { token?: unknown } | undefined)?.token }, deps);
    res.cookie(SESSION_COOKIE, id, { ...cookieFlags(req), maxAge: SESSION_TTL_MS });
    res.status(201).json(session);
  });
  r.get('/session', (req, res) => {
    const found = live(req);
    if (found) return void res.json(found.session);
    const sent = sessionIds(req.headers).length > 0;
    if (sent) res.clearCookie(SESSION_COOKIE, cookieFlags(req));
    throw new UnauthorizedError(sent ? SESSION_ENDED : 'Not signed in to the dashboard. Sign in with the API token: `paas auth:token` prints it.');
  });
  r.delete('/session', (req, res) => {
    const found = live(req);
    // A live session ends only on a request its own page made; a dead cookie is just cleared.
    if (found) {
      checkCsrf(req.method, req.headers, { via: 'session', ...found });
      signOut(found.id, deps);
      onSignOut();
    }
    res.clearCookie(SESSION_COOKIE, cookieFlags(req));
    res.status(204).end();
  });
  return r;
}
