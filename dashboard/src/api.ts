// The client of /v1: the session cookie goes with every request (same origin), and every request
// that changes something carries the session's CSRF token in X-Paas-Csrf, a header a cross-site form
// cannot send. Errors are the API's own `{ id, message }`, whose message says what to do.
import type { Release, Session } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let unauthorized = (): void => undefined;

/** Called when a request answers 401: the session ended (expired, signed out elsewhere, token changed). */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

/** `/v1/apps/<name>` with the name encoded, plus `rest`. */
export const appPath = (app: string, rest = ''): string => `/v1/apps/${encodeURIComponent(app)}${rest}`;

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { id?: unknown; message?: unknown };
    if (typeof body.message === 'string') return new ApiError(res.status, String(body.id ?? 'error'), body.message);
  } catch {
    // Not JSON: a proxy's page, or a server too old for this route.
  }
  return new ApiError(res.status, 'http_error', `The server answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}.`);
}

/** One request; resolves to the response when it is 2xx, else throws its ApiError. */
export async function request(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    headers['x-paas-csrf'] = csrf;
    // Who made a release, as the Activity tab and `paas releases` show it.
    headers['x-paas-actor'] = 'dashboard';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the paas server. Check that it is running, then try again.');
  }
  if (res.ok) return res;
  const err = await errorOf(res);
  if (res.status === 401 && path !== '/v1/session') unauthorized();
  throw err;
}

/** A request whose answer is JSON (or empty, as a 204). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const text = await (await request(method, path, body)).text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A kept output (a build's or a release's): JSON `{ output }`, or the live text stream of one in progress. */
export async function output(path: string): Promise<string> {
  const res = await request('GET', path, undefined, 'application/json, text/plain;q=0.5');
  if (res.headers.get('content-type')?.startsWith('application/json')) return ((await res.json()) as { output: string }).output;
  return res.text();
}

/** The live session, or null when there is none (401). */
export async function currentSession(): Promise<Session | null> {
  try {
    const session = await api<Session>('GET', '/v1/session');
    csrf = session.csrf;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signIn(token: string): Promise<Session> {
  const session = await api<Session>('POST', '/v1/session', { token });
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  await request('DELETE', '/v1/session');
  csrf = '';
}

const POLL_MS = 300;
const MAX_WAIT_MS = 30 * 60_000;

/**
 * Follows a release just made until it is live or failed, as `paas config:set` does: its output
 * stream ends then, and the release's status says which. A failed release is an ApiError carrying
 * the output's last error line.
 */
export async function waitForRelease(app: string, release: Release): Promise<Release> {
  let lastError = '';
  try {
    const text = await (await request('GET', new URL(release.output_stream_url, location.href).pathname, undefined, 'text/plain')).text();
    for (const line of text.split('\n')) if (line.startsWith(' !')) lastError = line.replace(/^ !\s*/, '');
  } catch {
    // No output kept or the stream broke: the release's status below still tells.
  }
  const path = appPath(app, `/releases/${release.version}`);
  const deadline = Date.now() + MAX_WAIT_MS;
  let now = await api<Release>('GET', path);
  while (now.status === 'pending' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    now = await api<Release>('GET', path);
  }
  if (now.status === 'failed') {
    throw new ApiError(422, 'release_failed', `Release v${now.version} failed${lastError ? `: ${lastError}` : ''}. v${now.version} is not live; the previous release keeps running.`);
  }
  if (now.status === 'pending') throw new ApiError(504, 'release_pending', `Release v${now.version} is still pending after 30 minutes. See the Activity tab.`);
  return now;
}

/** Waits for the release an add-on attach or detach made, named by the `Paas-Release-Version` header. */
export async function waitForHeaderRelease(app: string, res: Response): Promise<Release | undefined> {
  const version = res.headers.get('paas-release-version');
  if (!version) return undefined;
  return waitForRelease(app, await api<Release>('GET', appPath(app, `/releases/${version}`)));
}
