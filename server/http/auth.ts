import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { PaasError, UnauthorizedError } from '../../lib/errors.js';

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

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

/** Express middleware: 403 for a request a browser page of another site makes (see crossSiteReason). */
export function refuseCrossSite() {
  return (req: Request, _res: Response, next: NextFunction) => {
    const reason = crossSiteReason(req.headers);
    next(
      reason === undefined
        ? undefined
        : new PaasError('forbidden', 403, `The paas API does not answer requests from web pages of other sites (this one came with ${JSON.stringify(reason)}). Use the paas CLI, or call the API without an Origin header, with Authorization: Bearer <token>.`),
    );
  };
}

/** Express middleware: 401 unless the request carries the API token as a Bearer token. */
export function requireToken(token: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    next(tokenMatches(tokenFromRequest(req), token) ? undefined : new UnauthorizedError());
  };
}
