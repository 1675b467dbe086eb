// The route stream's server side in-process (server/route-stream.ts), with real websockets over
// loopback: who may subscribe, what a subscriber gets and in which order, drains fanned out to every
// router, router log lines; and the `restoring` rule that keeps a restarted control plane invisible.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { LOG_FRAMES, PROTOCOL_VERSION, type ServerMessage, STREAM_PATH } from '../router/protocol.js';
import { RouteTable } from '../router/route-table.js';
import { RouteStream } from '../server/http/route-stream.js';
import { Routes } from '../server/dynos/routes.js';
import { refusal } from './helpers/ws.js';

const TOKEN = 'stream-test-token';

interface Sub {
  ws: WebSocket;
  got: ServerMessage[];
}

/** Subscribes with `token`; resolves once the socket is open. */
function subscribe(port: number, token = TOKEN): Promise<Sub> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${STREAM_PATH}`, { headers: { authorization: `Bearer ${token}` } });
  const got: ServerMessage[] = [];
  ws.on('message', (data) => got.push(JSON.parse(data.toString()) as ServerMessage));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

describe('route stream', () => {
  let routes: Routes;
  let stream: RouteStream;
  let server: http.Server;
  let port: number;
  const appended: string[] = [];
  const said: string[] = [];

  beforeEach(async () => {
    routes = new Routes();
    appended.length = 0;
    said.length = 0;
    stream = new RouteStream({ routes, token: TOKEN, domain: 'example.test', logs: { appendAll: (source, entries) => entries.forEach((e) => appended.push(`${e.app} ${source}: ${e.line}`)) }, log: (l) => said.push(l) });
    server = http.createServer((_req, res) => res.end('plain'));
    server.on('upgrade', stream.handleUpgrade);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await stream.close();
    await new Promise((r) => server.close(r));
  });

  it('refuses a missing or wrong token with 401 and answers other paths 404, with no upgrade', async () => {
    const missing = await refusal(port, STREAM_PATH);
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ id: 'unauthorized', message: expect.stringContaining('PAAS_API_TOKEN') as unknown });
    expect((await refusal(port, STREAM_PATH, { authorization: 'Bearer wrong' })).status).toBe(401);
    const other = await refusal(port, '/v1/elsewhere', { authorization: `Bearer ${TOKEN}` });
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body)).toMatchObject({ id: 'not_found' });
    // A browser (it sends Origin) cannot open the stream, whatever credentials it has cached.
    expect((await refusal(port, STREAM_PATH, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' })).status).toBe(403);
    expect(stream.size).toBe(0);
  });

  it('sends a snapshot, then every change in order', async () => {
    routes.addApp('before');
    const sub = await subscribe(port);
    routes.addApp('one', { domains: ['www.one.test'] });
    routes.setTargets('one', [{ host: '127.0.0.1', port: 5001, dyno: 'web.1' }]);
    routes.removeApp('before');
    await vi.waitFor(() => expect(sub.got).toHaveLength(6));
    expect(sub.got[0]).toEqual({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'example.test', apps: [expect.objectContaining({ app: 'before', targets: [] })], features: [LOG_FRAMES] });
    // Certificates and challenges (none yet) come right after the snapshot, before any change.
    expect(sub.got.slice(1, 3)).toEqual([{ type: 'certs', certs: [] }, { type: 'challenges', http01: {}, tlsAlpn01: [] }]);
    expect(sub.got.slice(3).map((m) => (m.type === 'set' ? `set ${m.route.app} ${m.route.targets.length}` : m.type === 'remove' ? `remove ${m.app}` : m.type))).toEqual(['set one 0', 'set one 1', 'remove before']);
    // A router's table built from them routes the app, by name and by its custom domain.
    const table = new RouteTable();
    for (const msg of sub.got) table.apply(msg);
    expect(table.resolve('one.example.test')).toMatchObject({ kind: 'ok', app: 'one' });
    expect(table.resolve('www.one.test:8080')).toMatchObject({ kind: 'ok', app: 'one' });
    expect(table.resolve('before.example.test')).toEqual({ kind: 'unknown' });
    sub.ws.close();
  });

  it('sends the certificates and challenges after the snapshot, the whole set again on each change, and an app\'s HTTPS settings', async () => {
    const cert = { id: 'default', hostnames: ['*.example.test'], cert: 'CERT', key: 'KEY' };
    routes.addApp('web');
    routes.setCerts([cert]);
    routes.setChallenges({ http01: { tok: 'tok.thumb' }, tlsAlpn01: [] });
    const sub = await subscribe(port);
    await vi.waitFor(() => expect(sub.got).toHaveLength(3));
    expect(sub.got.slice(1)).toEqual([{ type: 'certs', certs: [cert] }, { type: 'challenges', http01: { tok: 'tok.thumb' }, tlsAlpn01: [] }]);
    const other = { id: 'c2', hostnames: ['www.web.test'], cert: 'C2', key: 'K2' };
    routes.setCerts([cert, other]);
    routes.setChallenges({ http01: {}, tlsAlpn01: [{ hostname: 'www.web.test', cert: 'A', key: 'B' }] });
    routes.setTls('web', { redirect: true, hstsMaxAge: 60 });
    routes.setTls('web', undefined);
    await vi.waitFor(() => expect(sub.got).toHaveLength(7));
    expect(sub.got.slice(3)).toEqual([
      { type: 'certs', certs: [cert, other] },
      { type: 'challenges', http01: {}, tlsAlpn01: [{ hostname: 'www.web.test', cert: 'A', key: 'B' }] },
      { type: 'set', route: expect.objectContaining({ app: 'web', tls: { redirect: true, hstsMaxAge: 60 } }) as unknown },
      { type: 'set', route: expect.not.objectContaining({ tls: expect.anything() as unknown }) as unknown },
    ]);
    sub.ws.close();
  });

  it('fans a drain out to every router and waits for the slowest answer, or the timeout', async () => {
    const answers = await subscribe(port);
    const silent = await subscribe(port);
    const leaves = await subscribe(port);
    answers.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      if (msg.type === 'drain') setTimeout(() => answers.ws.send(JSON.stringify({ type: 'drained', id: msg.id, inFlight: 3 })), 50);
    });
    leaves.ws.on('message', () => leaves.ws.terminate());
    const started = Date.now();
    const left = await stream.drain({ host: '127.0.0.1', port: 5001 }, 300);
    const took = Date.now() - started;
    expect(left).toBe(3);
    // The silent router held it up to its timeout and the margin, no longer.
    expect(took).toBeGreaterThanOrEqual(1200);
    expect(took).toBeLessThan(3000);
    expect(silent.got.at(-1)).toMatchObject({ type: 'drain', host: '127.0.0.1', port: 5001, timeoutMs: 300 });
    // With no router at all there is nothing to wait for.
    for (const s of [answers, silent]) s.ws.close();
    await vi.waitFor(() => expect(stream.size).toBe(0));
    expect(await stream.drain({ host: '127.0.0.1', port: 5001 }, 10_000)).toBe(0);
  });

  it("files routers' log lines under known apps only, drops malformed messages and reports dropped lines", async () => {
    routes.addApp('known');
    const sub = await subscribe(port);
    for (const text of ['not json', '[]', 'null', '{"type":"logs","lines":"x"}', '{"type":"drained","id":"x"}']) sub.ws.send(text);
    sub.ws.send(JSON.stringify({ type: 'logs', lines: [{ app: 'known', line: 'at=info status=200' }, { app: 'ghost', line: 'x' }, { app: 1, line: 'y' }, { app: 'known', line: 'a\n2026 known app[web.1]: forged' }], dropped: 7 }));
    await vi.waitFor(() => expect(appended).toEqual(['known router: at=info status=200', 'known router: a2026 known app[web.1]: forged']));
    expect(said.join('\n')).toMatch(/Error L10 \(output buffer overflow\): 7 router log line/);
    expect(stream.size).toBe(1);
  });

  it('closes every subscriber with 1001 on close', async () => {
    const sub = await subscribe(port);
    const closed = new Promise<number>((r) => sub.ws.once('close', (code) => r(code)));
    await stream.close();
    expect(await closed).toBe(1001);
  });
});

describe('restoring (a control plane that restarts)', () => {
  const target = { host: '127.0.0.1', port: 5001, dyno: 'web.1' };

  it('Routes marks restored apps until their targets come back or the restore settles', () => {
    const routes = new Routes();
    routes.addApp('a', { restoring: true });
    routes.addApp('b', { restoring: true });
    expect(routes.get('a')?.restoring).toBe(true);
    routes.setTargets('a', [target]);
    expect(routes.get('a')).not.toHaveProperty('restoring');
    routes.settle('b');
    expect(routes.get('b')).not.toHaveProperty('restoring');
  });

  it("a router keeps its entry for a restoring app, from a fresh snapshot or a set, until a real one comes", () => {
    const table = new RouteTable();
    const route = { app: 'a', targets: [target], unavailable: 'H10' as const, maintenance: false, domains: [] };
    table.apply({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'localhost', apps: [route] });
    const restoring = { ...route, targets: [], unavailable: 'H14' as const, restoring: true };
    // The new control plane's snapshot: the app is there but its dynos are not found yet.
    table.apply({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'localhost', apps: [restoring, { ...restoring, app: 'new' }] });
    expect(table.resolve('a.localhost')).toMatchObject({ kind: 'ok', targets: [target] });
    // An app the router never had routes to nothing meanwhile.
    expect(table.resolve('new.localhost')).toMatchObject({ kind: 'unavailable', code: 'H14' });
    table.apply({ type: 'set', route: restoring });
    expect(table.resolve('a.localhost')).toMatchObject({ kind: 'ok' });
    // Maintenance and domains changed meanwhile take effect at once; only the dynos are kept.
    table.apply({ type: 'set', route: { ...restoring, maintenance: true } });
    expect(table.resolve('a.localhost')).toMatchObject({ kind: 'maintenance' });
    table.apply({ type: 'set', route: { ...restoring, domains: ['www.example.com'] } });
    expect(table.resolve('www.example.com')).toMatchObject({ kind: 'ok', targets: [target] });
    // Settled without dynos: the router believes it now.
    table.apply({ type: 'set', route: { ...restoring, restoring: undefined } });
    expect(table.resolve('a.localhost')).toMatchObject({ kind: 'unavailable' });
  });
});
