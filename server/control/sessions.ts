import { createHash, createHmac, randomBytes } from 'node:crypto';
import { UnauthorizedError } from '../../lib/errors.js';
import { secretsMatch } from '../../lib/secrets.js';
import { deleteExpiredSessions, deleteSession, findSession, insertSession } from '../store/sessions.js';
import type { Deps } from './deps.js';

/** How long a dashboard session lasts from sign-in (the cookie's Max-Age). */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** What the browser is told of its session: the value its non-GET requests send as `X-Paas-Csrf`, and when it ends. */
export interface SessionView {
  csrf: string;
  expires_at: string;
}

type SessionDeps = Pick<Deps, 'db' | 'config'>;

/** What a sign-in with a token that is not the server's is told. */
export const WRONG_TOKEN =
  "That is not this server's API token. Run `paas auth:token` where the paas CLI is logged in to this server (or read the token the server printed on first start), and paste what it prints.";

/** What a request with a dashboard cookie that is no (longer a) live session is told. */
export const SESSION_ENDED =
  "Your dashboard session has ended (signed out, expired, or the server's API token changed). Sign in again with the API token: `paas auth:token` prints it.";

const idHash = (id: string): string => createHash('sha256').update(id).digest('hex');

/**
 * A value only the holder of the session id can compute: keyed by the id, so a stored row (which
 * has only the id's hash) gives neither the CSRF value nor anything to test guesses of the token on.
 */
const keyed = (id: string, purpose: string, value = ''): string => createHmac('sha256', id).update(`${purpose}\0${value}`).digest('base64url');

function apiToken(deps: SessionDeps): string {
  const token = deps.config.apiToken;
  // main.ts resolves the token before the API is built; a server without one would let no one in.
  if (!token) throw new UnauthorizedError(WRONG_TOKEN);
  return token;
}

/**
 * Signs in with the API token: a new session, whose random id goes to the browser (in a cookie) and
 * whose hash is stored. Expired sessions are cleared here, so the table stays as small as its use.
 */
export function signIn(params: { token: unknown }, deps: SessionDeps): { id: string; session: SessionView } {
  const token = apiToken(deps);
  if (typeof params.token !== 'string' || !secretsMatch(params.token.trim(), token)) throw new UnauthorizedError(WRONG_TOKEN);
  const now = new Date();
  deleteExpiredSessions(deps.db, now.toISOString());
  const id = randomBytes(32).toString('base64url');
  const expires = new Date(now.getTime() + SESSION_TTL_MS).toISOString();
  insertSession(deps.db, { id_hash: idHash(id), token_fingerprint: keyed(id, 'token', token), created_at: now.toISOString(), expires_at: expires });
  return { id, session: { csrf: keyed(id, 'csrf'), expires_at: expires } };
}

/**
 * The live session with this id, or undefined: unknown, expired, or made with another API token
 * than the server's now (an expired or orphaned row is removed on the way).
 */
export function lookUpSession(id: string | undefined, deps: SessionDeps): SessionView | undefined {
  if (!id) return undefined;
  const row = findSession(deps.db, idHash(id));
  if (!row) return undefined;
  if (row.expires_at <= new Date().toISOString() || !secretsMatch(row.token_fingerprint, keyed(id, 'token', apiToken(deps)))) {
    deleteSession(deps.db, row.id_hash);
    return undefined;
  }
  return { csrf: keyed(id, 'csrf'), expires_at: row.expires_at };
}

/** Ends the session with this id; true if there was one. */
export function signOut(id: string | undefined, deps: SessionDeps): boolean {
  return id ? deleteSession(deps.db, idHash(id)) : false;
}
