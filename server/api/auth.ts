import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from '../errors.js';

/** Constant-time comparison, so the token cannot be guessed byte by byte from response times. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer <token>` or, for git, Basic auth with the token as password. */
export function tokenFromRequest(req: Request): string | undefined {
  const header = req.headers.authorization ?? '';
  const [scheme, value] = header.split(' ', 2);
  if (!value) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  return undefined;
}

/** The user name of Basic auth (git sends whatever the remote URL or ~/.netrc says), if any. */
export function userFromRequest(req: Request): string | undefined {
  const [scheme, value] = (req.headers.authorization ?? '').split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic' || !value) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const user = decoded.slice(0, Math.max(0, decoded.indexOf(':')));
  return /^[\w.@+-]{1,64}$/.test(user) ? user : undefined;
}

/** Express middleware: 401 unless the request carries the API token. */
export function requireToken(token: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    next(tokenMatches(tokenFromRequest(req), token) ? undefined : new UnauthorizedError());
  };
}
