import http from 'node:http';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { parseTrustedProxies } from '../router/trusted.js';
import { onCleanup } from './helpers/cleanup.js';
import { TestTable } from './helpers/route-table.js';
import { backend, raw, startRouter } from './helpers/router.js';

/** A dyno that answers with the head it received, as JSON. */
const echo: http.RequestListener = (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  });
};

function get(port: number, host: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, headers: { host, ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Parses a router log line's `key=value` and `key="value"` fields. */
function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))/g)) out[m[1]] = m[2] ?? m[3];
  return out;
}

describe('router: headers', () => {
  const table = new TestTable();
  let port = 0;
  let lines: { app: string; line: string }[] = [];
  beforeAll(async () => {
    table.set('echo', { kind: 'ok', targets: [await backend(echo)] });
    ({ port, lines } = await startRouter(table));
  });

  it('replaces a spoofed X-Forwarded-For from an untrusted peer, sets proto, port, Via and keeps Host', async () => {
    const res = await get(port, 'echo.localhost:8080', { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', via: '1.1 elsewhere' });
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-port']).toBe(String(port));
    expect(seen.headers.host).toBe('echo.localhost:8080');
    expect(seen.headers.via).toBe('1.1 elsewhere, 1.1 paas');
    expect(Number(seen.headers['x-request-start'])).toBeGreaterThan(Date.now() - 60_000);
    expect(res.headers.via).toBe('1.1 paas');
  });

  it('keeps a valid X-Request-Id and sets it on the response; replaces an invalid one with a UUID', async () => {
    const id = 'abcDEF0123456789+/=_-xyz';
    const kept = await get(port, 'echo.localhost', { 'x-request-id': id });
    expect(JSON.parse(kept.body).headers['x-request-id']).toBe(id);
    expect(kept.headers['x-request-id']).toBe(id);
    for (const bad of ['short', 'has spaces in it but long enough', 'x'.repeat(201), 'semi;colons;are;not;allowed;here']) {
      const res = await get(port, 'echo.localhost', { 'x-request-id': bad });
      const sent = JSON.parse(res.body).headers['x-request-id'] as string;
      expect(sent).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(res.headers['x-request-id']).toBe(sent);
    }
  });

  it('drops hop-by-hop fields, and those the Connection field names, both ways', async () => {
    const out = await raw(
      port,
      'GET /hop HTTP/1.1\r\nHost: echo.localhost\r\nConnection: keep-alive, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: x\r\nX-End-To-End: yes\r\nConnection: close\r\n\r\n',
    );
    const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    expect(body.headers['x-end-to-end']).toBe('yes');
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-connection']) expect(body.headers[name]).toBeUndefined();
    expect(out).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(out.toLowerCase()).not.toContain('keep-alive: timeout');
  });

  it('keeps the X-Forwarded-For of a trusted proxy and appends the peer', async () => {
    const trusted = await startRouter(table, { trustedProxies: parseTrustedProxies('10.0.0.0/8, 127.0.0.1') });
    const res = await get(trusted.port, 'echo.localhost', { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' });
    const seen = JSON.parse(res.body).headers as Record<string, string>;
    expect(seen['x-forwarded-for']).toBe('203.0.113.7, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(/not an IP address or CIDR/);
  });

  it('writes one parseable Heroku-format log line per request', async () => {
    lines.length = 0;
    await get(port, 'echo.localhost', { 'x-request-id': 'log-line-request-id-0001' }, 'POST', 'hello');
    await get(port, 'echo.localhost', {}, 'GET');
    expect(lines).toHaveLength(2);
    const f = fields(lines[0].line);
    expect(lines[0].app).toBe('echo');
    expect(f).toMatchObject({ at: 'info', method: 'POST', path: '/', host: 'echo.localhost', request_id: 'log-line-request-id-0001', fwd: '127.0.0.1', dyno: 'web.1', status: '200', protocol: 'http' });
    expect(f.connect).toMatch(/^\d+ms$/);
    expect(f.service).toMatch(/^\d+ms$/);
    expect(Number(f.bytes)).toBeGreaterThan(100);
  });
});

describe('router: errors and limits', () => {
  const table = new TestTable();
  let port = 0;
  let lines: { app: string; line: string }[] = [];
  beforeAll(async () => {
    table.set('echo', { kind: 'ok', targets: [await backend(echo)] });
    table.set('never', { kind: 'ok', targets: [await backend(() => undefined)] });
    table.set('idle', { kind: 'unavailable' });
    table.set('down', { kind: 'ok', targets: [await backend(echo)] }, { maintenance: true });
    ({ port, lines } = await startRouter(table, { timeoutMs: 600 }));
  });

  it('answers 503 H12 when a dyno sends nothing within the timeout, and logs it', async () => {
    const started = Date.now();
    const res = await get(port, 'never.localhost');
    expect(res.status).toBe(503);
    expect(res.body).toContain('H12');
    expect(Date.now() - started).toBeLessThan(600 + 1500);
    const line = lines.find((l) => l.app === 'never')!.line;
    expect(fields(line)).toMatchObject({ at: 'error', code: 'H12', desc: 'Request timeout', status: '503' });
  });

  it('times H12 from the end of a slow upload the dyno reads, not from its head', async () => {
    table.set('reader', { kind: 'ok', targets: [await backend((req) => void req.resume())] });
    const socket = net.connect(port, '127.0.0.1');
    onCleanup(() => socket.destroy());
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    const closed = new Promise((r) => socket.on('close', r));
    socket.write('POST /upload HTTP/1.1\r\nHost: reader.localhost\r\nContent-Length: 6\r\n\r\nab');
    for (const part of ['cd', 'ef']) {
      await new Promise((r) => setTimeout(r, 150));
      socket.write(part);
    }
    const uploaded = Date.now();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 3000))]);
    // timeoutMs (600) counts from the upload's end: not from the head (300 ms earlier), not idleMs (55 s).
    expect(out).toMatch(/^HTTP\/1\.1 503 [\s\S]*H12/);
    expect(Date.now() - uploaded).toBeGreaterThanOrEqual(550);
    expect(Date.now() - uploaded).toBeLessThan(1500);
  });

  it('escapes whatever the 404 page echoes', async () => {
    const out = await raw(port, 'GET / HTTP/1.1\r\nHost: <script>alert(1)</script>.example\r\nConnection: close\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 404 /);
    expect(out).not.toContain('<script>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('answers H10/H14 for an app without a web dyno up and H80 in maintenance mode', async () => {
    const idle = await get(port, 'idle.localhost');
    expect(idle.status).toBe(503);
    expect(idle.body).toContain('H10');
    const down = await get(port, 'down.localhost');
    expect(down.status).toBe(503);
    expect(down.body).toContain('H80');
    expect(down.body).toContain('maintenance');
    table.set('down', { kind: 'ok', targets: [await backend(echo)] }, { maintenance: false });
    expect((await get(port, 'down.localhost')).status).toBe(200);
  });

  it('refuses request smuggling: Content-Length with Transfer-Encoding, conflicting lengths, obscure codings, folding', async () => {
    const cases = [
      'POST / HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
      'POST / HTTP/1.1\r\nHost: echo.localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: echo.localhost\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: echo.localhost\r\nX-Folded: a\r\n b\r\n\r\n',
      'GET / HTTP/1.1\nHost: echo.localhost\n\n',
      'GET / HTTP/1.1\r\nHost: echo.localhost\r\nHost: other.localhost\r\n\r\n',
    ];
    for (const bytes of cases) expect(await raw(port, bytes), bytes).toMatch(/^HTTP\/1\.1 (400|501) /);
    expect(lines.filter((l) => l.app === 'echo')).toHaveLength(0);
  });

  it('answers 414 for a request line over 8 KiB and 431 for headers over 8 KiB in all', async () => {
    expect(await raw(port, `GET /${'a'.repeat(8200)} HTTP/1.1\r\nHost: echo.localhost\r\n\r\n`)).toMatch(/^HTTP\/1\.1 414 /);
    const many = Array.from({ length: 10 }, (_, i) => `X-Big-${i}: ${'b'.repeat(900)}\r\n`).join('');
    expect(await raw(port, `GET / HTTP/1.1\r\nHost: echo.localhost\r\n${many}\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    const fits = Array.from({ length: 7 }, (_, i) => `X-Big-${i}: ${'b'.repeat(900)}\r\n`).join('');
    expect(await raw(port, `GET /${'a'.repeat(8000)} HTTP/1.1\r\nHost: echo.localhost\r\n${fits}Connection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('router: message framing', () => {
  const table = new TestTable();
  let port = 0;
  beforeAll(async () => {
    table.set('echo', { kind: 'ok', targets: [await backend(echo)] });
    table.set(
      'odd',
      {
        kind: 'ok',
        targets: [
          await backend((req, res) => {
            if (req.url === '/empty') return void res.writeHead(204).end();
            if (req.url === '/cached') return void res.writeHead(304).end();
            if (req.url === '/close') {
              // An HTTP/1.0-style answer: no length, the body ends when the connection does.
              res.socket!.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end');
              return;
            }
            res.setHeader('content-length', 5);
            res.end(req.method === 'HEAD' ? undefined : 'hello');
          }),
        ],
      },
    );
    ({ port } = await startRouter(table));
  });

  it('passes a chunked request body through and answers pipelined requests in order', async () => {
    const out = await raw(
      port,
      'POST /a HTTP/1.1\r\nHost: echo.localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n' +
        'GET /b HTTP/1.1\r\nHost: echo.localhost\r\n\r\n' +
        'POST /c HTTP/1.1\r\nHost: echo.localhost\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz',
    );
    const bodies = [...out.matchAll(/\{"method".*?"body":"[^"]*"\}/g)].map((m) => JSON.parse(m[0]) as { url: string; body: string });
    expect(bodies.map((b) => [b.url, b.body])).toEqual([
      ['/a', 'hello world'],
      ['/b', ''],
      ['/c', 'xyz'],
    ]);
  });

  it('handles HEAD, 204, 304 and a response delimited by the dyno closing', async () => {
    expect((await get(port, 'odd.localhost', {}, 'HEAD')).headers['content-length']).toBe('5');
    const next = await raw(port, 'HEAD / HTTP/1.1\r\nHost: odd.localhost\r\n\r\nGET / HTTP/1.1\r\nHost: odd.localhost\r\nConnection: close\r\n\r\n');
    expect(next.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(next.endsWith('hello')).toBe(true);
    expect((await get(port, 'odd.localhost', {}, 'GET').then(() => raw(port, 'GET /empty HTTP/1.1\r\nHost: odd.localhost\r\nConnection: close\r\n\r\n')))).toMatch(/^HTTP\/1\.1 204 /);
    expect(await raw(port, 'GET /cached HTTP/1.1\r\nHost: odd.localhost\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 304 /);
    const closed = await raw(port, 'GET /close HTTP/1.1\r\nHost: odd.localhost\r\n\r\n');
    expect(closed).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close\r\n\r\nuntil the end$/i);
  });

  it('passes 100 Continue on to a client that asked for it', async () => {
    const out = await raw(port, 'POST /x HTTP/1.1\r\nHost: echo.localhost\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
    expect(out).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(out).toContain('"body":"hi"');
  });
});

describe('router: websockets', () => {
  it('passes an upgrade through: messages both ways, then close, with a 101 log line', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    onCleanup(() => wss.close());
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws, req) => {
      ws.send(`hello ${req.headers['x-forwarded-for']}`);
      ws.on('message', (m) => ws.send(`echo ${String(m)}`));
    });
    const table = new TestTable();
    table.set('sock', { kind: 'ok', targets: [{ host: '127.0.0.1', port: (wss.address() as { port: number }).port }] });
    const { port, lines } = await startRouter(table);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { host: 'sock.localhost' } });
    const got: string[] = [];
    ws.on('message', (m) => {
      got.push(String(m));
      if (got.length === 1) ws.send('ping');
      else ws.close(1000, 'done');
    });
    const code = await new Promise<number>((r) => ws.once('close', (c: number) => r(c)));
    expect(code).toBe(1000);
    expect(got).toEqual(['hello 127.0.0.1', 'echo ping']);
    expect(fields(lines.find((l) => l.app === 'sock')!.line)).toMatchObject({ status: '101', path: '/live', dyno: 'web.1' });
  });

  it('closes a websocket with no data either way for idleMs, and keeps one that only the client talks on', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    onCleanup(() => wss.close());
    await new Promise((r) => wss.once('listening', r));
    let dynoClosed = false;
    wss.on('connection', (ws) => ws.on('close', () => (dynoClosed = true)));
    const table = new TestTable();
    table.set('sock', { kind: 'ok', targets: [{ host: '127.0.0.1', port: (wss.address() as { port: number }).port }] });
    const { port } = await startRouter(table, { idleMs: 300 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { host: 'sock.localhost' } });
    onCleanup(() => ws.terminate());
    const closed = new Promise((r) => ws.once('close', r));
    await new Promise((r) => ws.once('open', r));
    // Client to dyno only, for over twice idleMs: still open.
    for (let i = 0; i < 7; i++) {
      ws.send('tick');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    const quiet = Date.now();
    await closed;
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(150);
    expect(Date.now() - quiet).toBeLessThan(1500);
    await expect.poll(() => dynoClosed).toBe(true);
  });
});
