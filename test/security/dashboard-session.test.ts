// What an attack on the dashboard's session found (issue 27): a page of a sibling host adds a
// paas_session cookie of its own that the browser sends first; the websockets took the cookie
// without the dashboard's Origin; and a signed-out session's websockets kept streaming until the
// next heartbeat (30 s). Real server, real HTTP and websockets, headers exactly as a browser sends them.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { apiCall, createApp, type Paas, startPaas } from '../helpers/paas.js';
import { type BrowserSession, openSocket, ownOrigin, signIn } from '../helpers/session.js';
import { refusal } from '../helpers/ws.js';

let paas: Paas;
let port: number;
const open: WebSocket[] = [];
beforeAll(async () => {
  paas = await startPaas();
  port = Number(new URL(paas.apiUrl).port);
  await createApp(paas, 'tailed');
});
afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
});

const TAIL = '/v1/apps/tailed/logs/stream?lines=0';

/** A request with exactly this Cookie field (and the CSRF value when given), as a browser sends it. */
async function withCookie(method: string, urlPath: string, cookie: string, csrf?: string, body?: unknown) {
  const res = await fetch(`${paas.apiUrl}${urlPath}`, {
    method,
    headers: { cookie, ...(csrf ? { 'x-paas-csrf': csrf } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Opens a websocket the way the dashboard does, and records how it closes. */
async function socketOf(urlPath: string, session: BrowserSession) {
  const { ws, got } = await openSocket<unknown>(paas, urlPath, { cookie: session.cookie, origin: ownOrigin(paas) });
  open.push(ws);
  let closed: number | undefined;
  ws.on('close', (code) => (closed = code));
  return { got, closed: () => closed };
}

describe('the dashboard session under attack', () => {
  it("takes the live session among several paas_session cookies: a sibling host's page can add one the browser sends first", async () => {
    // A page at evil.example.com sets `paas_session=x; Domain=example.com; Path=/v1`; for the
    // dashboard at paas.example.com the browser then sends that one first (longer path), and a
    // server that read only the first cookie locked the dashboard out, sign-in again or not.
    const session = await signIn(paas);
    const tossed = `paas_session=tossed-by-a-sibling; ${session.cookie}`;
    expect((await withCookie('GET', '/v1/apps', tossed)).status).toBe(200);
    expect((await withCookie('GET', '/v1/session', tossed)).json?.csrf).toBe(session.csrf);
    expect((await withCookie('POST', '/v1/apps', tossed, session.csrf, { name: 'tossed-app' })).status).toBe(201);
    const { ws } = await openSocket(paas, '/v1/events', { cookie: tossed, origin: ownOrigin(paas) });
    open.push(ws);
    expect((await withCookie('DELETE', '/v1/session', tossed, session.csrf)).status).toBe(204);
    expect((await withCookie('GET', '/v1/apps', session.cookie)).status).toBe(401);
  });

  it('refuses the cookie on both websockets without an Origin: a browser always sends one, so that is no dashboard', async () => {
    const session = await signIn(paas);
    for (const path of ['/v1/events', TAIL]) {
      const r = await refusal(port, path, { cookie: session.cookie });
      expect(r.status, path).toBe(403);
      expect(JSON.parse(r.body), path).toMatchObject({ id: 'forbidden', message: expect.stringContaining('Bearer') });
      // The CLI's way in (Bearer, no Origin) and the dashboard's (cookie, its own Origin) stay open.
      const byToken = await openSocket(paas, path, { authorization: `Bearer ${paas.token}` });
      open.push(byToken.ws);
      open.push((await openSocket(paas, path, { cookie: session.cookie, origin: ownOrigin(paas) })).ws);
    }
  });

  it("closes the session's websockets at sign-out, not at the next heartbeat, and leaves the others open", async () => {
    const leaving = await signIn(paas);
    const staying = await signIn(paas);
    const events = await socketOf('/v1/events', leaving);
    const tail = await socketOf(TAIL, leaving);
    const other = await socketOf('/v1/events', staying);
    const byToken = await openSocket<{ line: string }[]>(paas, TAIL, { authorization: `Bearer ${paas.token}` });
    open.push(byToken.ws);
    const heard = [events.got.length, tail.got.length];
    expect((await withCookie('DELETE', '/v1/session', leaving.cookie, leaving.csrf)).status).toBe(204);
    // Something happens at once: the signed-out sockets hear none of it (they used to, until the
    // next heartbeat up to 30 s later), while the Bearer tail and the other session's stream do.
    expect((await apiCall(paas, 'PATCH', '/v1/apps/tailed', { maintenance: true })).status).toBe(200);
    await vi.waitFor(() => expect(byToken.got.flat().map((l) => l.line)).toContain('Enable maintenance mode'), { timeout: 10_000 });
    await vi.waitFor(() => expect(other.got.length).toBeGreaterThan(0), { timeout: 10_000 });
    expect([events.got.slice(heard[0]), tail.got.slice(heard[1])]).toEqual([[], []]);
    await vi.waitFor(() => expect([events.closed(), tail.closed()]).toEqual([1008, 1008]), { timeout: 5000, interval: 50 });
    expect(other.closed()).toBeUndefined();
    expect(byToken.ws.readyState).toBe(byToken.ws.OPEN);
  });
});
