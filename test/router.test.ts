import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRouter } from '../router/router.js';
import { TestTable, type Target } from './helpers/route-table.js';
import { backend, deadTarget, listen } from './helpers/router.js';
import { onCleanup } from './helpers/cleanup.js';

interface Sent {
  method?: string;
  body?: string;
  /** The client's agent; by default a connection of its own. */
  agent?: http.Agent;
  path?: string;
}

/** Sends a request through the router; rejects if the response is cut off. */
function request(port: number, host: string, opts: Sent = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host }, agent: opts.agent ?? false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const get = (port: number, host: string): Promise<{ status: number; body: string }> => request(port, host);

describe('router', () => {
  const backends: http.Server[] = [];
  const table = new TestTable();
  const routes = table.routes;
  const router = createRouter({ routes, timeoutMs: 120_000 });
  let port = 0;

  beforeAll(async () => {
    const both: Target[] = [];
    for (const name of ['one', 'two']) {
      const s = http.createServer((req, res) => res.end(`${name} ${req.headers.host}`));
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

  it('answers 404 for unknown apps, 503 for apps without dynos or a dead dyno, and keeps running', async () => {
    expect((await get(port, 'ghost.localhost')).status).toBe(404);
    expect((await get(port, 'idle.localhost')).status).toBe(503);
    expect(await get(port, 'dead.localhost')).toMatchObject({ status: 503, body: expect.stringContaining('H10') });
    expect((await get(port, 'one.localhost')).status).toBe(200);
  });
});

describe('router retries', () => {
  const table = new TestTable();
  const routes = table.routes;

  /** A router over `table`, closed when the test ends. */
  async function router(timeoutMs = 120_000): Promise<number> {
    const r = createRouter({ routes, timeoutMs });
    onCleanup(() => {
      r.close();
      r.server.close();
    });
    return listen(r.server);
  }

  /** Counts the requests a backend gets, by method, and echoes the client the router named. */
  function counting(): { seen: string[]; handler: http.RequestListener } {
    const seen: string[] = [];
    return {
      seen,
      handler: (req, res) => {
        seen.push(req.method!);
        req.resume();
        req.on('end', () => res.end(`ok ${req.headers['x-forwarded-for']}`));
      },
    };
  }

  it('sends a request whose dyno refused the connection to another dyno: no request without a body fails', async () => {
    const port = await router();
    const alive = counting();
    const targets = [await deadTarget(), await backend(alive.handler)];
    table.set('half', { kind: 'ok', targets });
    const agent = new http.Agent({ keepAlive: true });
    onCleanup(() => agent.destroy());
    const results = await Promise.all(Array.from({ length: 50 }, () => request(port, 'half.localhost', { agent })));
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    // Those that went to the dead dyno first were sent again, once, naming the client once.
    expect(alive.seen).toHaveLength(50);
    expect(new Set(results.map((r) => r.body))).toEqual(new Set(['ok 127.0.0.1']));
    // One after another, each request to a new app goes to the dead dyno first (its retry takes
    // the next turn). Other methods without a body go again too: a refused POST never reached it.
    table.set('methods', { kind: 'ok', targets });
    alive.seen.length = 0;
    for (const method of ['HEAD', 'DELETE', 'OPTIONS', 'POST']) expect((await request(port, 'methods.localhost', { method })).status).toBe(200);
    expect(alive.seen).toEqual(['HEAD', 'DELETE', 'OPTIONS', 'POST']);
  });

  it('sends a request again on a fresh connection when the dyno dropped the reused keep-alive socket under it', async () => {
    const port = await router();
    // Each connection gets one answer; a request on it after that is dropped unanswered, as by a
    // dyno that closes an idle keep-alive socket just as the router writes on it. Half of the
    // drops are resets, half plain closes. The first answers wait until three connections are
    // open, so the router holds three such sockets at once: a retry on another of them would fail.
    const answered = new WeakSet<net.Socket>();
    const held: http.ServerResponse[] = [];
    let [warm, dropped] = [false, 0];
    const only = await backend((req, res) => {
      if (!answered.has(req.socket)) {
        answered.add(req.socket);
        held.push(res);
        warm ||= held.length === 3;
        if (warm) for (const r of held.splice(0)) r.end('ok');
        return;
      }
      if (dropped++ % 2) req.socket.resetAndDestroy();
      else req.socket.destroy();
    });
    table.set('stale', { kind: 'ok', targets: [only] });
    const agent = new http.Agent({ keepAlive: true });
    onCleanup(() => agent.destroy());
    const statuses = (await Promise.all([1, 2, 3].map(() => request(port, 'stale.localhost', { agent })))).map((r) => r.status);
    for (let i = 0; i < 30; i++) statuses.push((await request(port, 'stale.localhost', { agent })).status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(dropped).toBeGreaterThanOrEqual(10);
  });

  it('answers 503 for a request with a body whose dyno refused it, and never sends it twice', async () => {
    const port = await router();
    const alive = counting();
    table.set('posted', { kind: 'ok', targets: [await deadTarget(), await backend(alive.handler)] });
    // The first request goes to the dead dyno: what it read of the body is gone, so it is not replayed.
    expect((await request(port, 'posted.localhost', { method: 'POST', body: 'pay 10' })).status).toBe(503);
    expect(alive.seen).toEqual([]);
    expect((await request(port, 'posted.localhost', { method: 'POST', body: 'pay 10' })).status).toBe(200);
    expect(alive.seen).toEqual(['POST']);
  });

  it('never replays a request once any of its response came back, or after the dyno accepted a POST', async () => {
    const port = await router();
    // A dyno that takes one request per connection, sends `reply`, then resets the connection.
    async function resetting(reply: string): Promise<{ target: Target; requests: () => number }> {
      let requests = 0;
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => {
          requests++;
          socket.write(reply, () => socket.resetAndDestroy());
        });
      });
      onCleanup(() => server.close());
      return { target: { host: '127.0.0.1', port: await listen(server) }, requests: () => requests };
    }
    const alive = counting();
    const other = await backend(alive.handler);
    const headers = await resetting('HTTP/1.1 200 OK\r\ncontent-type: text/pl');
    const body = await resetting('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nthe first ');
    const silent = await resetting('');
    table.set('headers', { kind: 'ok', targets: [headers.target, other] });
    table.set('body', { kind: 'ok', targets: [body.target, other] });
    table.set('silent', { kind: 'ok', targets: [silent.target, other] });
    // Cut off in its headers: nothing reached the client yet, which gets a 503 H13.
    expect(await request(port, 'headers.localhost')).toMatchObject({ status: 503, body: expect.stringContaining('H13') });
    // Cut off in its body: the client already has the headers, and sees the body cut short.
    await expect(request(port, 'body.localhost')).rejects.toThrow(/aborted|ECONNRESET/);
    // Reset without an answer after reading a POST: the dyno may have acted on it.
    expect((await request(port, 'silent.localhost', { method: 'POST' })).status).toBe(503);
    expect([headers.requests(), body.requests(), silent.requests()]).toEqual([1, 1, 1]);
    expect(alive.seen).toEqual([]);
  });

  it('sends a request cut by a dying dyno to its port again only if that dyno stayed listed, never to its restart at any port', async () => {
    const port = await router();
    // A dyno that dies on `/die` (its connection closes unanswered), as one killed at its memory limit.
    const seen: string[] = [];
    const dyno = await backend((req, res) => {
      seen.push(req.url!);
      if (req.url === '/die') req.socket.destroy();
      else res.end('ok');
    });
    /** Routes `app` to the dyno and leaves a kept-alive connection to it, which the next request reuses. */
    const warm = async (app: string) => {
      table.set(app, { kind: 'ok', targets: [dyno] });
      expect((await get(port, `${app}.localhost`)).status).toBe(200);
    };
    await warm('restarted');
    // While the router waits to send it again, the dyno is withdrawn and listed again (restarted):
    // another dyno now, which the same request could kill in turn. It is not sent.
    setTimeout(() => {
      table.set('restarted', { kind: 'unavailable' });
      table.set('restarted', { kind: 'ok', targets: [dyno] });
    }, 50);
    seen.length = 0;
    expect((await request(port, 'restarted.localhost', { path: '/die' })).status).toBe(503);
    expect(seen).toEqual(['/die']);
    // Restarted under its name at another port while the router waits: not sent there either.
    const restart: string[] = [];
    const again = await backend((req, res) => {
      restart.push(req.url!);
      res.end('ok');
    });
    await warm('moved');
    setTimeout(() => table.set('moved', { kind: 'ok', targets: [again] }), 50);
    seen.length = 0;
    expect((await request(port, 'moved.localhost', { path: '/die' })).status).toBe(503);
    expect(seen).toEqual(['/die']);
    expect(restart).toEqual([]);
    // The route set again with the same dyno listed throughout (another change to the app): sent again.
    await warm('listed');
    setTimeout(() => table.set('listed', { kind: 'ok', targets: [dyno] }), 50);
    seen.length = 0;
    expect((await request(port, 'listed.localhost', { path: '/die' })).status).toBe(503);
    expect(seen).toEqual(['/die', '/die']);
  });

  it('sends a GET cut by a dying new dyno to the old release\'s dyno of the same name that a revert routes back', async () => {
    const port = await router();
    const oldSeen: string[] = [];
    const old = await backend((req, res) => {
      oldSeen.push(req.url!);
      res.end('old');
    });
    const fresh = await backend((req, res) => {
      if (req.url === '/die') req.socket.destroy();
      else res.end('new');
    });
    // v2's web.1 serves, with a kept-alive connection; it dies on `/die` while the revert routes v1's web.1 back.
    table.set('revert', { kind: 'ok', targets: [{ ...fresh, release: 2 }] });
    expect((await get(port, 'revert.localhost')).body).toBe('new');
    setTimeout(() => table.set('revert', { kind: 'ok', targets: [{ ...old, release: 1 }] }), 50);
    expect(await request(port, 'revert.localhost', { path: '/die' })).toMatchObject({ status: 200, body: 'old' });
    expect(oldSeen).toEqual(['/die']);
  });

  it('holds a request whose only dyno refused it until a revert routes the old release back (up to a second), then H10', async () => {
    const port = await router();
    const old = await backend((_req, res) => res.end('old'));
    // v2's web.1 died (its port refuses) before the control plane, slow under load, routed v1's back.
    table.set('slow-revert', { kind: 'ok', targets: [{ ...(await deadTarget()), release: 2 }] });
    setTimeout(() => table.set('slow-revert', { kind: 'ok', targets: [{ ...old, release: 1 }] }), 400);
    expect(await get(port, 'slow-revert.localhost')).toEqual({ status: 200, body: 'old' });
    // No revert coming: H10 once the waits are spent, not at once and not forever.
    table.set('gone', { kind: 'ok', targets: [await deadTarget()] });
    const started = Date.now();
    expect(await get(port, 'gone.localhost')).toMatchObject({ status: 503, body: expect.stringContaining('H10') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
  });

  it('does not send a request that timed out to another dyno', async () => {
    const port = await router(300);
    let hung = 0;
    const alive = counting();
    table.set('slow', { kind: 'ok', targets: [await backend(() => void hung++), await backend(alive.handler)] });
    expect(await request(port, 'slow.localhost')).toMatchObject({ status: 503, body: expect.stringContaining('H12') });
    expect(hung).toBe(1);
    expect(alive.seen).toEqual([]);
  });
});

describe('router drain', () => {
  const table = new TestTable();
  const routes = table.routes;

  /** A dyno that holds every request until release(), then answers it with its body. */
  async function holding(): Promise<{ target: Target; held: number; release(): void; connections(): Promise<number> }> {
    const waiting: (() => void)[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => waiting.push(() => res.end(`got ${body}`)));
    });
    onCleanup(() => {
      server.closeAllConnections();
      server.close();
    });
    const target = { host: '127.0.0.1', port: await listen(server) };
    return {
      target,
      get held() {
        return waiting.length;
      },
      release: () => waiting.splice(0).forEach((answer) => answer()),
      connections: () => new Promise((resolve) => server.getConnections((_err, n) => resolve(n))),
    };
  }

  async function router() {
    const r = createRouter({ routes, timeoutMs: 120_000 });
    onCleanup(() => {
      r.close();
      r.server.close();
    });
    return { r, port: await listen(r.server) };
  }

  it('waits for what is in flight to a dyno out of the routes, then closes every connection to it', async () => {
    const { r, port } = await router();
    const old = await holding();
    const other = await backend((_req, res) => res.end('other'));
    table.set('moving', { kind: 'ok', targets: [old.target] });
    // Two finished requests leave two idle keep-alive connections in the router's pool; a POST
    // then goes out on one of them and stays in flight.
    const agent = new http.Agent({ keepAlive: true });
    onCleanup(() => agent.destroy());
    const first = [request(port, 'moving.localhost', { agent }), request(port, 'moving.localhost', { agent })];
    await expect.poll(() => old.held).toBe(2);
    old.release();
    expect((await Promise.all(first)).map((r) => r.body)).toEqual(['got ', 'got ']);
    const posted = request(port, 'moving.localhost', { method: 'POST', body: 'pay 10' });
    await expect.poll(() => old.held).toBe(1);
    expect(await old.connections()).toBe(2);

    table.set('moving', { kind: 'ok', targets: [other] });
    let drained: number | undefined;
    const draining = r.drain(old.target, 30_000).then((left) => (drained = left));
    // New requests go to the other dyno, and the drain still waits for the POST.
    expect((await request(port, 'moving.localhost')).body).toBe('other');
    expect(drained).toBeUndefined();
    old.release();
    expect(await posted).toEqual({ status: 200, body: 'got pay 10' });
    await draining;
    expect(drained).toBe(0);
    // The router holds no connection to it: nothing keeps an app that drains with server.close()
    // waiting for its keep-alive timeout.
    await expect.poll(() => old.connections(), { timeout: 2000 }).toBe(0);
  });

  it('gives up after its timeout, says how many requests are left, and closes their connections once they end', async () => {
    const { r, port } = await router();
    const old = await holding();
    // A keep-alive client, so the router keeps its connection to the dyno open too.
    const agent = new http.Agent({ keepAlive: true });
    onCleanup(() => agent.destroy());
    table.set('stuck', { kind: 'ok', targets: [old.target] });
    const pending = request(port, 'stuck.localhost', { agent });
    await expect.poll(() => old.held).toBe(1);
    table.set('stuck', { kind: 'unavailable' });
    expect(await r.drain(old.target, 100)).toBe(1);
    old.release();
    expect((await pending).status).toBe(200);
    await expect.poll(() => old.connections()).toBe(0);
    // Routed again (the traffic handed back), it is a dyno like any other.
    table.set('stuck', { kind: 'ok', targets: [old.target] });
    const again = request(port, 'stuck.localhost', { agent });
    await expect.poll(() => old.held).toBe(1);
    old.release();
    expect((await again).status).toBe(200);
    expect(await old.connections()).toBe(1);
  });
});
