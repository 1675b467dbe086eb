import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from '../../lib/errors.js';

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

/** The token from `Authorization: Bearer <token>` or, for git, Basic auth with the token as password. */
export function tokenFromRequest(req: { headers: IncomingHttpHeaders }): string | undefined {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer' && value) return value.trim();
  return basicCredentials(req)?.password;
}

/** A name fit to record as who made a release: word characters and `.@+-`, at most 64. */
export function plainName(name: string | undefined): string | undefined {
  return name && /^[\w.@+-]{1,64}$/.test(name) ? name : undefined;
}

/** The Basic-auth user name (git sends whatever the remote URL or ~/.netrc says), when it is a plain name. */
export function userFromRequest(req: Request): string | undefined {
  return plainName(basicCredentials(req)?.user);
}

/** Express middleware: 401 unless the request carries the API token. */
export function requireToken(token: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    next(tokenMatches(tokenFromRequest(req), token) ? undefined : new UnauthorizedError());
  };
}
