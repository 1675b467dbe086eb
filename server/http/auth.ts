import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { PaasError, UnauthorizedError } from '../../lib/errors.js';
import { secretsMatch } from '../../lib/secrets.js';
import type { Deps } from '../control/deps.js';
import { lookUpSession, SESSION_ENDED, type SessionView } from '../control/sessions.js';

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export const tokenMatches = secretsMatch;

/** User and password of `Authorization: Basic …` (what git sends), if that is the scheme. */
function basicCredentials(req: { headers: IncomingHttpHeaders }): { user: string; password: string } | undefined {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The token from `Authorization: Bearer <token>`: what the CLI, routers and the websockets send.
 * Basic auth is not taken here: a browser replays Basic credentials it cached on its own, never a
 * Bearer token, so only git (which cannot send Bearer) gets Basic (`gitToken`).
 */
export function tokenFromRequest(req: { headers: IncomingHttpHeaders }): string | undefined {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ', 2);
  return scheme?.toLowerCase() === 'bearer' && value ? value.trim() : undefined;
}

/** The token on git's routes: Bearer, or Basic auth with the token as password (what git sends). */
export function gitToken(req: { headers: IncomingHttpHeaders }): string | undefined {
  return tokenFromRequest(req) ?? basicCredentials(req)?.password;
}

/** A name fit to record as who made a release: word characters and `.@+-`, at most 64. */
export function plainName(name: string | undefined): string | undefined {
  return name && /^[\w.@+-]{1,64}$/.test(name) ? name : undefined;
}

/** The Basic-auth user name (git sends whatever the remote URL or ~/.netrc says), when it is a plain name. */
export function userFromRequest(req: Request): string | undefined {
  return plainName(basicCredentials(req)?.user);
}

/**
 * Why a request to `/v1` must be refused as cross-site, or undefined: a browser page of another
 * origin (its `Origin` names another host than the request's own `Host`, or `Sec-Fetch-Site` says
 * `cross-site` or `same-site`). No `Origin` (the CLI, routers, curl) and the API's own origin (a
 * dashboard it serves itself) pass.
 */
export function crossSiteReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `Sec-Fetch-Site: ${site}`;
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  let host: string;
  try {
    const url = new URL(origin);
    host = url.protocol === 'http:' || url.protocol === 'https:' ? url.host : '';
  } catch {
    host = '';
  }
  return host !== '' && host === headers.host?.toLowerCase() ? undefined : `Origin: ${origin.slice(0, 100)}`;
}

/** The 403 a browser page of another site gets, on a request or a websocket. */
function crossSiteError(reason: string): PaasError {
  return new PaasError('forbidden', 403, `The paas API does not answer requests from web pages of other sites (this one came with ${JSON.stringify(reason)}). Use the paas CLI or the dashboard this server serves, or call the API without an Origin header, with Authorization: Bearer <token>.`);
}

/** Express middleware: 403 for a request a browser page of another site makes (see crossSiteReason). */
export function refuseCrossSite() {
  return (req: Request, _res: Response, next: NextFunction) => {
    const reason = crossSiteReason(req.headers);
    next(reason === undefined ? undefined : crossSiteError(reason));
  };
}

/** The dashboard's session cookie. */
export const SESSION_COOKIE = 'paas_session';

/** The session id in the request's `paas_session` cookie, if it has one. */
export function sessionId(headers: IncomingHttpHeaders): string | undefined {
  for (const part of (headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** What requests are checked against: the API token, and the dashboard's live sessions (control/sessions.ts). */
export interface Authority {
  token: string;
  session(id: string): SessionView | undefined;
}

/** The server's Authority: its API token, and the sessions in its store. */
export function apiAuthority(deps: Pick<Deps, 'db' | 'config'>): Authority {
  return { token: deps.config.apiToken!, session: (id) => lookUpSession(id, deps) };
}

/** Who a request is from: the token holder (Bearer: the CLI, scripts), or a dashboard session (the cookie). */
export type Caller = { via: 'token' } | { via: 'session'; id: string; session: SessionView };

/**
 * Authenticates a request by `Authorization: Bearer`, else by the session cookie; throws a 401.
 * A request with both is judged by its Bearer token: that is what it meant to send.
 */
export function authenticate(headers: IncomingHttpHeaders, authority: Authority): Caller {
  const bearer = tokenFromRequest({ headers });
  const id = sessionId(headers);
  if (bearer !== undefined || id === undefined) {
    if (tokenMatches(bearer, authority.token)) return { via: 'token' };
    throw new UnauthorizedError();
  }
  const session = authority.session(id);
  if (!session) throw new UnauthorizedError(SESSION_ENDED);
  return { via: 'session', id, session };
}

/**
 * A cookie-authenticated request that changes something must carry the session's CSRF value in
 * `X-Paas-Csrf`: a header a form or image of another site cannot send (SameSite=Strict is the first wall).
 */
export function checkCsrf(method: string, headers: IncomingHttpHeaders, caller: Caller): void {
  if (caller.via !== 'session' || method === 'GET' || method === 'HEAD') return;
  const given = headers['x-paas-csrf'];
  if (typeof given === 'string' && secretsMatch(given, caller.session.csrf)) return;
  throw new PaasError('csrf', 403, 'A request signed in by the dashboard cookie that changes something must send the header X-Paas-Csrf with the value `csrf` that POST or GET /v1/session answered. Reload the dashboard; scripts should use Authorization: Bearer <token> instead.');
}

/** Express middleware: 401 unless the request has the API token (Bearer) or a live session cookie, 403 without its CSRF header. */
export function requireCaller(authority: Authority) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const caller = authenticate(req.headers, authority);
    checkCsrf(req.method, req.headers, caller);
    next();
  };
}

/**
 * Throws unless a websocket upgrade may go ahead: a browser page of another site is refused (403,
 * and browsers always send Origin on websockets), then the caller must hold the token or a session.
 * Returns whether the caller is still let in, for the heartbeat to ask later: a socket opened by a
 * session ends with it (signed out, expired, the token changed).
 */
export function authorizeUpgrade(headers: IncomingHttpHeaders, authority: Authority): () => boolean {
  const reason = crossSiteReason(headers);
  if (reason !== undefined) throw crossSiteError(reason);
  const caller = authenticate(headers, authority);
  return caller.via === 'token' ? () => true : () => authority.session(caller.id) !== undefined;
}
