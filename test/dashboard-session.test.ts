// The dashboard's sign-in (issue 27): POST /v1/session with the API token gives an HttpOnly,
// SameSite=Strict cookie (Secure behind HTTPS) that every /v1 route takes like the Bearer token;
// cookie requests that change something need X-Paas-Csrf; sign-out and a changed token end it; the
// store keeps no usable secret; `paas auth:token` prints what to paste. Real server, real HTTP.
import { beforeAll, describe, expect, it } from 'vitest';
import { apiCall, BIN, cli, type Paas, sh, startPaas, tempDir } from './helpers/paas.js';
import { type BrowserSession, ownOrigin, signIn } from './helpers/session.js';
import { sessionRows } from './helpers/store.js';

let paas: Paas;
beforeAll(async () => {
  paas = await startPaas();
});

/** A request as the dashboard makes it: the cookie, JSON, and the CSRF header unless told otherwise. */
async function asBrowser(session: BrowserSession, method: string, urlPath: string, opts: { body?: unknown; csrf?: string | null; headers?: Record<string, string> } = {}) {
  const csrf = opts.csrf === undefined ? session.csrf : opts.csrf;
  const res = await fetch(`${paas.apiUrl}${urlPath}`, {
    method,
    headers: { cookie: session.cookie, ...(csrf === null ? {} : { 'x-paas-csrf': csrf }), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, setCookie: res.headers.get('set-cookie') };
}

function postSession(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${paas.apiUrl}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('POST /v1/session', () => {
  it('sets the session cookie HttpOnly, SameSite=Strict, Path=/, for 7 days, and Secure only behind HTTPS', async () => {
    const session = await signIn(paas);
    const flags = session.setCookie.split(';').map((f) => f.trim());
    expect(flags[0]).toMatch(/^paas_session=[\w-]{40,}$/);
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', `Max-Age=${7 * 24 * 3600}`]));
    expect(flags).not.toContain('Secure');
    // A TLS-terminating proxy on this machine says so (express `trust proxy` is loopback only).
    const behindTls = await postSession({ token: paas.token }, { 'x-forwarded-proto': 'https' });
    expect(behindTls.status).toBe(201);
    expect(behindTls.headers.get('set-cookie')).toMatch(/; Secure/);
    const body = (await behindTls.json()) as { csrf: string; expires_at: string };
    expect(Date.parse(body.expires_at) - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);
  });

  it('refuses a wrong or missing token with 401 and says where the token comes from', async () => {
    const before = sessionRows(paas.dataDir).length;
    for (const body of [{ token: 'wrong' }, { token: `${paas.token}x` }, {}, { token: 42 }]) {
      const res = await postSession(body);
      expect(res.status, JSON.stringify(body)).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toMatchObject({ id: 'unauthorized', message: expect.stringContaining('paas auth:token') });
    }
    expect(sessionRows(paas.dataDir).length).toBe(before);
  });
});

describe('the session cookie on /v1', () => {
  it('answers GETs, and GET /v1/session gives the same csrf', async () => {
    const session = await signIn(paas);
    expect((await asBrowser(session, 'GET', '/v1/apps', { csrf: null })).status).toBe(200);
    const again = await asBrowser(session, 'GET', '/v1/session', { csrf: null });
    expect(again.status).toBe(200);
    expect(again.json?.csrf).toBe(session.csrf);
  });

  it('refuses POST, PATCH and DELETE without the CSRF header or with a wrong one (403 csrf, nothing done), and does them with it', async () => {
    const session = await signIn(paas);
    for (const csrf of [null, 'wrong', '']) {
      const r = await asBrowser(session, 'POST', '/v1/apps', { body: { name: 'csrf-app' }, csrf });
      expect(r.status, String(csrf)).toBe(403);
      expect(r.json).toMatchObject({ id: 'csrf', message: expect.stringContaining('X-Paas-Csrf') });
    }
    expect((await apiCall(paas, 'GET', '/v1/apps/csrf-app')).status).toBe(404);
    expect((await asBrowser(session, 'POST', '/v1/apps', { body: { name: 'csrf-app' } })).status).toBe(201);

    expect((await asBrowser(session, 'PATCH', '/v1/apps/csrf-app', { body: { maintenance: true }, csrf: null })).json?.id).toBe('csrf');
    expect((await apiCall(paas, 'GET', '/v1/apps/csrf-app')).json.maintenance).toBe(false);
    expect((await asBrowser(session, 'PATCH', '/v1/apps/csrf-app', { body: { maintenance: true } })).status).toBe(200);

    expect((await asBrowser(session, 'DELETE', '/v1/apps/csrf-app', { csrf: null })).json?.id).toBe('csrf');
    expect((await apiCall(paas, 'GET', '/v1/apps/csrf-app')).status).toBe(200);
    expect((await asBrowser(session, 'DELETE', '/v1/apps/csrf-app')).status).toBe(204);
    // Another session's CSRF value is no good for this one.
    const other = await signIn(paas);
    expect((await asBrowser(session, 'POST', '/v1/apps', { body: { name: 'csrf-two' }, csrf: other.csrf })).status).toBe(403);
  });

  it('is still refused from a page of another site, CSRF header or not', async () => {
    const session = await signIn(paas);
    for (const headers of [{ origin: 'http://evil.example' }, { 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
      const r = await asBrowser(session, 'POST', '/v1/apps', { body: { name: 'evil-app' }, headers });
      expect(r.status).toBe(403);
      expect(r.json?.id).toBe('forbidden');
    }
    expect((await asBrowser(session, 'POST', '/v1/apps', { body: { name: 'own-app' }, headers: { origin: ownOrigin(paas), 'sec-fetch-site': 'same-origin' } })).status).toBe(201);
  });

  it('takes Bearer first: a wrong Bearer beside a live cookie is 401, and Bearer needs no CSRF header', async () => {
    const session = await signIn(paas);
    expect((await asBrowser(session, 'GET', '/v1/apps', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await apiCall(paas, 'POST', '/v1/apps', { name: 'bearer-app' })).status).toBe(201);
  });
});

describe('ending a session', () => {
  it('signs out: 204, the cookie cleared, and the cookie refused from then on with what to do', async () => {
    const session = await signIn(paas);
    expect((await asBrowser(session, 'DELETE', '/v1/session', { csrf: null })).json?.id).toBe('csrf');
    expect((await asBrowser(session, 'GET', '/v1/apps')).status).toBe(200);
    const out = await asBrowser(session, 'DELETE', '/v1/session');
    expect(out.status).toBe(204);
    expect(out.setCookie).toMatch(/^paas_session=;.*Expires=Thu, 01 Jan 1970/);
    const after = await asBrowser(session, 'GET', '/v1/apps');
    expect(after.status).toBe(401);
    expect(after.json?.message).toMatch(/Sign in again.*paas auth:token/);
    expect((await asBrowser(session, 'GET', '/v1/session')).status).toBe(401);
    // Signing out again (a second tab) is no error.
    expect((await asBrowser(session, 'DELETE', '/v1/session')).status).toBe(204);
  });

  it('keeps only hashes in the store: no session id, CSRF value or token in any row', async () => {
    const session = await signIn(paas);
    const id = session.cookie.split('=')[1];
    const rows = sessionRows(paas.dataDir);
    expect(rows.length).toBeGreaterThan(0);
    const stored = JSON.stringify(rows);
    for (const secret of [id, session.csrf, paas.token]) expect(stored).not.toContain(secret);
    expect(Object.keys(rows[0]).sort()).toEqual(['created_at', 'expires_at', 'id_hash', 'token_fingerprint']);
  });

  it('ends every session when the server restarts with another API token, and keeps them with the same one', async () => {
    const first = await startPaas({ PAAS_API_TOKEN: 'token-one-0123456789' });
    const session = await signIn(first);
    const dataDir = first.dataDir;
    await first.stop();
    const same = await startPaas({ PAAS_API_TOKEN: 'token-one-0123456789', PAAS_DATA_DIR: dataDir });
    const cookieOnly = (p: Paas) => fetch(`${p.apiUrl}/v1/apps`, { headers: { cookie: session.cookie } });
    expect((await cookieOnly(same)).status).toBe(200);
    await same.stop();
    const changed = await startPaas({ PAAS_API_TOKEN: 'token-two-0123456789', PAAS_DATA_DIR: dataDir });
    const r = await cookieOnly(changed);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { message: string }).message).toMatch(/API token changed/);
  });
});

describe('paas auth:token', () => {
  it('prints the token the CLI uses, and says how to log in when it has none', async () => {
    const r = await cli(paas, ['auth:token']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${paas.token}\n`);
    const env: Record<string, string> = { ...paas.env, HOME: tempDir('paas-no-token-home-') };
    delete env.PAAS_API_TOKEN;
    const none = await sh(process.execPath, [BIN, 'auth:token'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/Not logged in.*paas login/);
    expect(none.stdout).toBe('');
  });
});
