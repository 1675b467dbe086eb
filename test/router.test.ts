import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route, RouteTable, Target } from '../router/route-table.js';
import { appFromHost, createRouter } from '../router/router.js';

function listen(server: http.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as net.AddressInfo).port)));
}

function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('appFromHost', () => {
  it.each([
    ['web.localhost', 'web'],
    ['web.localhost:8080', 'web'],
    ['WEB.LocalHost', 'web'],
    ['web.localhost.', 'web'],
    ['localhost', undefined],
    ['a.b.localhost', undefined],
    ['web.example.com', undefined],
    [undefined, undefined],
  ])('%s → %s', (host, app) => {
    expect(appFromHost(host, 'localhost')).toBe(app);
  });
});

describe('router', () => {
  const backends: http.Server[] = [];
  const table = new Map<string, Route>();
  const routes: RouteTable = { resolve: (app) => table.get(app) ?? { kind: 'unknown' } };
  const router = createRouter({ routes, domain: 'localhost', timeoutMs: 120_000 });
  let port = 0;

  beforeAll(async () => {
    const both: Target[] = [];
    for (const name of ['one', 'two']) {
      const s = http.createServer((req, res) => res.end(`${name} ${req.headers['x-forwarded-host']}`));
      backends.push(s);
      const target = { host: '127.0.0.1', port: await listen(s) };
      both.push(target);
      table.set(name, { kind: 'ok', targets: [target] });
    }
    table.set('both', { kind: 'ok', targets: both });
    table.set('idle', { kind: 'unavailable' });
    // A port nothing listens on: the dyno died between lookup and request.
    const dead = http.createServer();
    const deadPort = await listen(dead);
    await new Promise((r) => dead.close(r));
    table.set('dead', { kind: 'ok', targets: [{ host: '127.0.0.1', port: deadPort }] });
    port = await listen(router.server);
  });
  afterAll(() => {
    router.close();
    router.server.close();
    for (const b of backends) b.close();
  });

  it('proxies by Host and forwards the original host', async () => {
    expect(await get(port, 'one.localhost')).toEqual({ status: 200, body: 'one one.localhost' });
    expect((await get(port, 'two.localhost')).body).toMatch(/^two/);
  });

  it('round-robins across web dynos', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await get(port, 'both.localhost')).body.split(' ')[0]);
    expect([...seen].sort()).toEqual(['one', 'two']);
  });

  it('answers 404 for unknown apps, 503 for apps without dynos, 502 for a dead dyno, and keeps running', async () => {
    expect((await get(port, 'ghost.localhost')).status).toBe(404);
    expect((await get(port, 'idle.localhost')).status).toBe(503);
    expect((await get(port, 'dead.localhost')).status).toBe(502);
    expect((await get(port, 'one.localhost')).status).toBe(200);
  });
});
