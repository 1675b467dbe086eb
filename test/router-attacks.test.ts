// Attacks on the router's own HTTP/1.1 code: request smuggling, desync of pooled dyno connections,
// backpressure, liveness. Each test sends byte-exact requests (raw) and checks what a dyno behind the
// router saw, so the router and the dyno's parser are compared on the same bytes.
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ChunkedError, ChunkedScanner } from '../router/http1/chunked.js';
import { onCleanup } from './helpers/cleanup.js';
import { TestTable } from './helpers/route-table.js';
import { listen, raw, startRouter } from './helpers/router.js';

/** A Node http dyno that records each request it parsed (method, url, host, body) and echoes its url. */
async function recording(): Promise<{ port: number; seen: { method: string; url: string; host: string; body: string; headers: http.IncomingHttpHeaders }[] }> {
  const seen: { method: string; url: string; host: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, host: req.headers.host ?? '', body, headers: req.headers });
      res.end(`saw ${req.url}`);
    });
  });
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: await listen(server), seen };
}

/** A dyno written byte by byte: `answer` gets each connection's socket and every chunk it receives. */
async function rawDyno(answer: (socket: net.Socket, data: string) => void): Promise<{ port: number; received: string[]; connections: number }> {
  const state = { port: 0, received: [] as string[], connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    socket.on('data', (d) => {
      state.received.push(d.toString('latin1'));
      answer(socket, d.toString('latin1'));
    });
    socket.on('error', () => undefined);
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  state.port = await listen(server);
  return state;
}

/** A router in front of one dyno at app.localhost. */
async function routed(port: number, opts: Parameters<typeof startRouter>[1] = {}) {
  const table = new TestTable();
  table.set('app', { kind: 'ok', targets: [{ host: '127.0.0.1', port }] });
  return { table, ...(await startRouter(table, opts)) };
}

/** Opens a client connection and collects what comes back; `text()` is all of it so far. */
async function client(port: number): Promise<{ socket: net.Socket; text(): string; closed: Promise<void> }> {
  // Half-open allowed: a client that goes on writing after the router's FIN, as an attacker would.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  onCleanup(() => socket.destroy());
  let out = '';
  socket.on('data', (d) => (out += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  await new Promise((r) => socket.once('connect', r));
  return { socket, text: () => out, closed };
}

const statuses = (out: string): string[] => [...out.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);

describe('router attacks: request smuggling', () => {
  it('never lets the Connection field strip Content-Length, Transfer-Encoding or Host from what the dyno gets', async () => {
    const dyno = await recording();
    const { port } = await routed(dyno.port);
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n';
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const cases = [
      `POST /cl HTTP/1.1\r\nHost: app.localhost\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      `POST /te HTTP/1.1\r\nHost: app.localhost\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
      'GET /host HTTP/1.1\r\nHost: app.localhost\r\nConnection: host, close\r\n\r\n',
    ];
    for (const bytes of cases) await raw(port, bytes, 500);
    expect(dyno.seen.map((s) => s.url)).toEqual(['/cl', '/te', '/host']);
    expect(dyno.seen.map((s) => s.body)).toEqual([smuggled, smuggled, '']);
    expect(dyno.seen[2].host).toBe('app.localhost');
  });

  it('reads Transfer-Encoding and Content-Length as an RFC 9112 parser does: only SP and HTAB around a value', async () => {
    const dyno = await recording();
    const { port } = await routed(dyno.port);
    const body = '5\r\nhello\r\n0\r\n\r\n';
    const obfuscated = ['chunked\x0b', '\x0bchunked', 'chunked\x0c', '\xa0chunked', 'chunked\xa0'];
    for (const te of obfuscated) {
      const out = await raw(port, Buffer.from(`POST /te HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: ${te}\r\n\r\n${body}`, 'latin1'), 500);
      expect(out, JSON.stringify(te)).toMatch(/^HTTP\/1\.1 (400|501) /);
    }
    for (const cl of ['\xa05', '5\x0b', '+5', '0x5', '-5', '5 5', '1e1', '99999999999999999999']) {
      const out = await raw(port, Buffer.from(`POST /cl HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: ${cl}\r\n\r\nhello`, 'latin1'), 500);
      expect(out, JSON.stringify(cl)).toMatch(/^HTTP\/1\.1 400 /);
    }
    expect(dyno.seen).toEqual([]);
    // Odd but unambiguous forms reach the dyno in one canonical form, so no parser can read them otherwise.
    const out = await raw(port, 'POST /ok HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 005, 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello', 1000);
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(dyno.seen.map((s) => [s.url, s.body, s.headers['content-length']])).toEqual([['/ok', 'hello', '5']]);
  });

  it('does not forward what a client sends after its connection was closed (early answer, Connection: close)', async () => {
    // A dyno that answers as soon as the head is in, without reading the body.
    const dyno = await rawDyno((socket, data) => {
      if (/^[A-Z]+ /.test(data)) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const { port } = await routed(dyno.port);
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: app.localhost\r\n\r\n';

    const early = await client(port);
    early.socket.write(`POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: ${smuggled.length + 10}\r\n\r\n`);
    await expect.poll(() => early.text()).toMatch(/ok$/);
    early.socket.write(smuggled);

    const closing = await client(port);
    closing.socket.write('GET /a HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n');
    await expect.poll(() => closing.text()).toMatch(/ok$/);
    closing.socket.write(smuggled);

    await new Promise((r) => setTimeout(r, 200));
    expect(dyno.received.join('')).not.toContain('/smuggled');
  });

  it('routes an absolute-form request by its authority and gives the dyno that Host, in origin form', async () => {
    const dyno = await recording();
    const { port } = await routed(dyno.port);
    await raw(port, 'GET http://app.localhost/x?y=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n', 1000);
    await raw(port, 'GET http://APP.localhost:80?q=1 HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n', 1000);
    expect(dyno.seen.map((s) => [s.url, s.host])).toEqual([
      ['/x?y=1', 'app.localhost'],
      ['/?q=1', 'APP.localhost:80'],
    ]);
  });

  it('routes no Host (or absolute-form authority) that is not a host and port', async () => {
    const dyno = await recording();
    const { port, table } = await routed(dyno.port);
    table.set('app', { kind: 'ok', targets: [{ host: '127.0.0.1', port: dyno.port }] }, { domains: ['*.example.com'] });
    const cases = [
      'GET / HTTP/1.1\r\nHost: user@app.localhost\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: user@a.example.com\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.example.com x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x/a.example.com\r\n\r\n',
    ];
    for (const bytes of cases) expect(await raw(port, bytes, 500), bytes).toMatch(/^HTTP\/1\.1 404 /);
    expect(await raw(port, 'GET http://user:pw@app.localhost/ HTTP/1.1\r\nHost: app.localhost\r\n\r\n', 500)).toMatch(/^HTTP\/1\.1 400 /);
    expect(dyno.seen).toEqual([]);
    for (const host of ['app.localhost:8080', 'app.localhost.', '[::1]:80', '127.0.0.1']) {
      expect(await raw(port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 500), host).toMatch(/^HTTP\/1\.1 (200|404) /);
    }
  });

  it('refuses chunk sizes past what it counts exactly, and junk or control bytes on a chunk line', async () => {
    // The scanner alone: a Node dyno refuses these too, so only here does the router's own reading show.
    for (const line of ['fffffffffffffff\r\n', '5 x\r\n', '5\x00\r\n', '5;a\x00b\r\n', '5;a\x0bb\r\n', '0\r\nX-T: a\x01\r\n\r\n']) {
      expect(() => new ChunkedScanner().scan(Buffer.from(line, 'latin1')), JSON.stringify(line)).toThrow(ChunkedError);
    }
    expect(new ChunkedScanner().scan(Buffer.from('5 \t; a=b\r\nhello\r\n0\r\nX-T: a\r\n\r\nNEXT'))).toBe(30);
    const dyno = await recording();
    const { port } = await routed(dyno.port);
    const ok = await raw(port, 'POST / HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;a=b\r\nhello\r\n0\r\n\r\n', 1000);
    expect(ok).toMatch(/^HTTP\/1\.1 200 /);
    expect(dyno.seen.map((r) => r.body)).toEqual(['hello']);
  });
});

describe('router attacks: pooled dyno connections', () => {
  it('answers every pipelined request when the dyno closes its connection after each response', async () => {
    let requests = 0;
    const dyno = await rawDyno((socket, data) => {
      requests += (data.match(/^GET /gm) ?? []).length;
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
    const { port } = await routed(dyno.port);
    const out = await raw(port, 'GET /1 HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /3 HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n');
    expect(statuses(out)).toEqual(['200', '200', '200']);
    expect(requests).toBe(3);
  });

  it('refuses a dyno response with both Content-Length and Transfer-Encoding, and does not reuse its connection', async () => {
    const dyno = await rawDyno((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'));
    const { port } = await routed(dyno.port);
    const out = await raw(port, 'GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n', 1000);
    expect(out).toMatch(/^HTTP\/1\.1 503 /);
    expect(out).not.toContain('forged');
  });

  it('never hands bytes a dyno sent after its response to the next request', async () => {
    const dyno = await rawDyno((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged'));
    const { port } = await routed(dyno.port);
    const out = await raw(port, 'GET /1 HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n');
    expect(statuses(out)).toEqual(['200', '200']);
    expect(out).not.toContain('forged');
    expect(dyno.connections).toBe(2);
  });
});

describe('router attacks: liveness and memory', () => {
  it('stops reading a client that pipelines requests the router answers itself but never reads the answers', async () => {
    const dyno = await recording();
    const { port, lines, table } = await routed(dyno.port);
    table.set('app', { kind: 'ok', targets: [{ host: '127.0.0.1', port: dyno.port }] }, { maintenance: true });
    const c = await client(port);
    c.socket.pause();
    const one = 'GET / HTTP/1.1\r\nHost: app.localhost\r\n\r\n';
    const batch = one.repeat(1000);
    // 200,000 requests, 8 MB in; without backpressure some 100 MB of maintenance pages would pile up in the router.
    for (let i = 0; i < 200; i++) c.socket.write(batch);
    // Once the socket buffers are full, the router answers no more: the count stands still.
    await new Promise((r) => setTimeout(r, 1500));
    const settled = lines.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(settled).toBeGreaterThan(0);
    expect(lines.length).toBe(settled);
    expect(settled).toBeLessThan(100_000);
    // And it goes on once the client reads.
    const before = lines.length;
    c.socket.resume();
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBeGreaterThan(before);
  });

  it('lets a drain finish when clients vanish (or half-close) mid-request and mid-response', async () => {
    const dyno = await rawDyno((socket, data) => {
      if (data.includes('/stream')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\npartial');
    });
    // A short idle limit, so that without the fix the test fails on time rather than hanging for 55 s.
    const { port, router } = await routed(dyno.port, { idleMs: 5000 });
    const halfClosed = await client(port);
    halfClosed.socket.end('GET /stream HTTP/1.1\r\nHost: app.localhost\r\n\r\n');
    const midRequest = await client(port);
    midRequest.socket.write('POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 100\r\n\r\nabc');
    const midResponse = await client(port);
    midResponse.socket.write('GET /stream HTTP/1.1\r\nHost: app.localhost\r\n\r\n');
    await expect.poll(() => midResponse.text()).toContain('partial');
    await expect.poll(() => dyno.received.join('')).toContain('abc');
    midRequest.socket.destroy();
    midResponse.socket.destroy();
    await Promise.all([midRequest.closed, midResponse.closed, halfClosed.closed]);
    const started = Date.now();
    expect(await router.drain({ host: '127.0.0.1', port: dyno.port }, 3000)).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('cuts a stalled upload at the client idle limit (H28), whatever the dyno timeout', async () => {
    const dyno = await rawDyno(() => undefined);
    const { port, lines } = await routed(dyno.port, { idleMs: 400 });
    const stalled = await client(port);
    const ended = new Promise((r) => stalled.socket.once('end', r));
    stalled.socket.write('POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 100\r\n\r\nabc');
    const started = Date.now();
    await ended;
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(lines.map((l) => l.line)).toEqual([expect.stringMatching(/code=H28 desc="Client Connection Idle" .* status=499 /)]);
  });

  it('cuts a head trickled byte by byte at the head deadline, and still reads heads that come in pieces', async () => {
    const dyno = await rawDyno((socket, data) => {
      if (!data.includes('GET')) return;
      // The response head in one-byte pieces too, its CRLFCRLF split across them.
      const bytes = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
      let i = 0;
      const tick = setInterval(() => (i < bytes.length && !socket.destroyed ? socket.write(bytes[i++]) : clearInterval(tick)), 2);
    });
    const { port } = await routed(dyno.port, { idleMs: 1500 });
    const trickled = await client(port);
    const head = 'GET / HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n';
    for (const byte of head) {
      trickled.socket.write(byte);
      await new Promise((r) => setTimeout(r, 2));
    }
    await expect.poll(() => trickled.text(), { timeout: 5000 }).toMatch(/ok$/);
    expect(trickled.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);

    const slow = await client(port);
    const started = Date.now();
    const sender = setInterval(() => slow.socket.write('X'), 100);
    onCleanup(() => clearInterval(sender));
    slow.socket.write('GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: ');
    await slow.closed;
    clearInterval(sender);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
