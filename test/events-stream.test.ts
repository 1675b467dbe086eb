// GET /v1/events, the dashboard's live feed: who may open it (Bearer without Origin, the session
// cookie from the API's own origin, never another site), and that app creation, a push, a config
// set, a scale, a restart, a rollback, maintenance, domains and destruction each reach a listener,
// `changed` at most once per app per 250 ms. The log tail takes the same cookie the same way. Real server, real pushes, real websockets.
import http from 'node:http';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { EVENTS_PATH, EventStream } from '../server/http/events.js';
import { upgradeDispatcher } from '../server/http/upgrades.js';
import { AppEvents, type AppEvent } from '../server/control/app-events.js';
import { AppLogs } from '../server/logs/pipeline.js';
import { apiCall, createApp, gitRepo, type Paas, push, startPaas } from './helpers/paas.js';
import { type BrowserSession, openSocket, ownOrigin, signIn } from './helpers/session.js';
import { refusal } from './helpers/ws.js';

let paas: Paas;
let session: BrowserSession;
let port: number;
const open: WebSocket[] = [];
beforeAll(async () => {
  paas = await startPaas();
  session = await signIn(paas);
  port = Number(new URL(paas.apiUrl).port);
});
afterEach(() => {
  for (const ws of open.splice(0)) ws.terminate();
});

async function listen(headers: Record<string, string>): Promise<AppEvent[]> {
  const { ws, got } = await openSocket<AppEvent>(paas, '/v1/events', headers);
  open.push(ws);
  return got;
}

/** Waits for an event of the app matching `match` among those got from index `from` on. */
async function waitFor(got: AppEvent[], from: number, match: (e: AppEvent) => boolean, what: string): Promise<AppEvent> {
  await vi.waitFor(() => expect(got.slice(from).some(match), `${what}; got ${JSON.stringify(got.slice(from))}`).toBe(true), { timeout: 30_000, interval: 50 });
  return got.slice(from).find(match)!;
}

const webApp = {
  Procfile: 'web: exec node server.js\n',
  'server.js': "require('http').createServer((q, s) => s.end('ok ' + (process.env.FOO || ''))).listen(process.env.PORT);\nprocess.on('SIGTERM', () => process.exit(0));\n",
};

describe('GET /v1/events', () => {
  it('refuses another site, no credentials, a dead cookie, and the cookie from no origin but its own', async () => {
    const evil = await refusal(port, '/v1/events', { cookie: session.cookie, origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toMatchObject({ id: 'forbidden' });
    expect((await refusal(port, '/v1/events', { authorization: `Bearer ${paas.token}`, origin: 'http://evil.example' })).status).toBe(403);
    expect((await refusal(port, '/v1/events', {})).status).toBe(401);
    expect((await refusal(port, '/v1/events', { authorization: 'Bearer wrong' })).status).toBe(401);
    const dead = await refusal(port, '/v1/events', { cookie: 'paas_session=not-a-session', origin: ownOrigin(paas) });
    expect(dead.status).toBe(401);
    expect(JSON.parse(dead.body).message).toMatch(/Sign in again/);
  });

  it('tells a cookie listener and a Bearer listener of created, changed (push, config set, scale, restart, rollback, maintenance, domains) and destroyed, coalesced per app', async () => {
    const byCookie = await listen({ cookie: session.cookie, origin: ownOrigin(paas) });
    const byToken = await listen({ authorization: `Bearer ${paas.token}` });

    await createApp(paas, 'feed');
    const created = await waitFor(byCookie, 0, (e) => e.app === 'feed' && e.action === 'created', 'created');
    expect(created).toMatchObject({ type: 'app', app: 'feed', action: 'created' });
    expect(Date.parse(created.time)).not.toBeNaN();
    await waitFor(byToken, 0, (e) => e.app === 'feed' && e.action === 'created', 'created over Bearer');

    let mark = byCookie.length;
    expect((await push(paas, await gitRepo(paas, webApp), 'feed')).code).toBe(0);
    await waitFor(byCookie, mark, (e) => e.app === 'feed' && e.action === 'changed' && /Release v1 created/.test(e.reason), 'the push’s release');

    mark = byCookie.length;
    expect((await apiCall(paas, 'PATCH', '/v1/apps/feed/config', { FOO: 'bar' })).status).toBe(201);
    await waitFor(byCookie, mark, (e) => e.app === 'feed' && e.action === 'changed', 'a change after config:set');

    mark = byCookie.length;
    expect((await apiCall(paas, 'PATCH', '/v1/apps/feed/formation', { updates: [{ type: 'web', quantity: 2 }] })).status).toBe(200);
    await waitFor(byCookie, mark, (e) => e.app === 'feed' && e.action === 'changed', 'the scale');

    // Each action the dashboard offers leaves a platform line, so each reaches the feed (as that
    // line, or as a later one of the same 250 ms: a settle window's lines may follow).
    const actions: [string, () => Promise<number>, number, string | undefined][] = [
      ['restart', async () => (await apiCall(paas, 'DELETE', '/v1/apps/feed/dynos')).status, 202, 'Restarted all dynos'],
      ['rollback', async () => (await apiCall(paas, 'POST', '/v1/apps/feed/releases', { rollback: 'v1' })).status, 201, undefined],
      ['maintenance on', async () => (await apiCall(paas, 'PATCH', '/v1/apps/feed', { maintenance: true })).status, 200, 'Enable maintenance mode'],
      ['maintenance off', async () => (await apiCall(paas, 'PATCH', '/v1/apps/feed', { maintenance: false })).status, 200, 'Disable maintenance mode'],
      ['domain added', async () => (await apiCall(paas, 'POST', '/v1/apps/feed/domains', { hostname: 'www.feed.test' })).status, 201, 'Added domain www.feed.test'],
      ['domain removed', async () => (await apiCall(paas, 'DELETE', '/v1/apps/feed/domains/www.feed.test')).status, 204, 'Removed domain www.feed.test'],
    ];
    for (const [what, act, status] of actions) {
      mark = byCookie.length;
      expect(await act(), what).toBe(status);
      await waitFor(byCookie, mark, (e) => e.app === 'feed' && e.action === 'changed', what);
    }
    const platform = ((await apiCall(paas, 'GET', '/v1/apps/feed/logs?lines=500&source=paas')).json as { line: string }[]).map((l) => l.line);
    expect(platform).toEqual(expect.arrayContaining(['Scaled to web@2', ...actions.flatMap(([, , , line]) => line ?? [])]));

    mark = byCookie.length;
    expect((await apiCall(paas, 'DELETE', '/v1/apps/feed')).status).toBe(204);
    await waitFor(byCookie, mark, (e) => e.app === 'feed' && e.action === 'destroyed', 'destroyed');

    // Coalesced: of one app's `changed`, none came within 250 ms of the one before (a little slack for timers).
    const times = byCookie.filter((e) => e.app === 'feed' && e.action === 'changed').map((e) => Date.parse(e.time));
    expect(times.length).toBeGreaterThan(2);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1], `event ${i}`).toBeGreaterThanOrEqual(240);
  });

  it('refuses a new listener once the session signs out', async () => {
    const own = await signIn(paas);
    await listen({ cookie: own.cookie, origin: ownOrigin(paas) });
    const out = await fetch(`${paas.apiUrl}/v1/session`, { method: 'DELETE', headers: { cookie: own.cookie, 'x-paas-csrf': own.csrf } });
    expect(out.status).toBe(204);
    expect((await refusal(port, '/v1/events', { cookie: own.cookie, origin: ownOrigin(paas) })).status).toBe(401);
  });
});

describe('the log tail and the session cookie', () => {
  it('streams to the cookie from the API’s own origin, and refuses it from another site or signed out', async () => {
    await createApp(paas, 'tailed');
    const path = '/v1/apps/tailed/logs/stream?lines=0';
    const { ws, got } = await openSocket<{ source: string; line: string }[]>(paas, path, { cookie: session.cookie, origin: ownOrigin(paas) });
    open.push(ws);
    expect((await apiCall(paas, 'PATCH', '/v1/apps/tailed', { maintenance: true })).status).toBe(200);
    await vi.waitFor(() => expect(got.flat().map((l) => l.line)).toContain('Enable maintenance mode'), { timeout: 10_000 });
    const evil = await refusal(port, path, { cookie: session.cookie, origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect((await refusal(port, path, { cookie: 'paas_session=gone', origin: ownOrigin(paas) })).status).toBe(401);
  });
});

describe('AppEvents', () => {
  it('sends the first change at once and then the window’s last reason, and drops it for a destroyed app', async () => {
    vi.useFakeTimers();
    try {
      const logs = new AppLogs({ out: () => undefined });
      const events = new AppEvents(logs);
      const got: AppEvent[] = [];
      events.listen((e) => got.push(e));
      logs.append('a', 'app[web.1]', 'not a platform line');
      logs.append('a', 'paas[web.1]', 'Starting process');
      logs.append('a', 'paas[api]', 'Release v2 created: Set FOO config vars');
      logs.append('a', 'paas[web.1]', 'State changed from starting to up');
      expect(got.map((e) => e.reason)).toEqual(['Starting process']);
      await vi.advanceTimersByTimeAsync(250);
      expect(got.map((e) => e.reason)).toEqual(['Starting process', 'State changed from starting to up']);
      await vi.advanceTimersByTimeAsync(250);
      logs.append('b', 'paas[api]', 'Scaled to web@2');
      logs.append('b', 'paas[api]', 'Restarted all dynos');
      events.destroyed('b');
      await vi.advanceTimersByTimeAsync(1000);
      expect(got.slice(2).map((e) => [e.app, e.action, e.reason])).toEqual([
        ['b', 'changed', 'Scaled to web@2'],
        ['b', 'destroyed', 'Destroyed b'],
      ]);
      events.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('EventStream', () => {
  it('closes a listener whose session ended at its next heartbeat (1008), and keeps a Bearer one', async () => {
    let live = true;
    const logs = new AppLogs({ out: () => undefined });
    const events = new AppEvents(logs);
    const stream = new EventStream({ events, authority: { token: 't', session: (id) => (live && id === 's1' ? { csrf: 'c', expires_at: '' } : undefined) }, pingMs: 400 });
    const server = http.createServer();
    server.on('upgrade', upgradeDispatcher([{ path: EVENTS_PATH, handle: stream.handleUpgrade }]));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const at = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const connect = (headers: Record<string, string>) =>
      new Promise<{ ws: WebSocket; closed: Promise<number>; got: AppEvent[] }>((resolve, reject) => {
        const ws = new WebSocket(`ws://${at}/v1/events`, { headers });
        const got: AppEvent[] = [];
        ws.on('message', (d) => got.push(JSON.parse(d.toString()) as AppEvent));
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.once('open', () => resolve({ ws, closed, got }));
        ws.once('error', reject);
      });
    try {
      const bySession = await connect({ cookie: 'paas_session=s1', origin: `http://${at}` });
      const byToken = await connect({ authorization: 'Bearer t' });
      events.created('x');
      await vi.waitFor(() => expect(bySession.got.map((e) => e.action)).toEqual(['created']));
      live = false;
      expect(await bySession.closed).toBe(1008);
      // Two more rounds: the Bearer listener answers its pings and stays.
      await new Promise((r) => setTimeout(r, 900));
      expect(byToken.ws.readyState).toBe(WebSocket.OPEN);
      byToken.ws.terminate();
    } finally {
      await stream.close();
      events.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
