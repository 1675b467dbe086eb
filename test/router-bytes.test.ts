// Bytes through the router arrive exactly as the dyno sent them, whatever the reads look like: the
// router reads every dyno connection into one buffer it reuses (router/pool.ts), so a byte it kept
// or queued without copying would come out as a later response's. Large bodies written in pieces of
// odd sizes, to slow clients (backpressure), several at once over one router, over HTTP and HTTPS,
// through a websocket-style tunnel, and after a head that arrives in pieces behind a 103.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../router/protocol.js';
import { tempDir } from './helpers/paas.js';
import { makeLeaf, makeTestCa } from './helpers/pki.js';
import { TestTable } from './helpers/route-table.js';
import { backend, listen, startRouter } from './helpers/router.js';
import { onCleanup } from './helpers/cleanup.js';

/** `size` bytes, the same for the same seed (xorshift32): what the dyno sends and the test expects. */
function blob(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const SIZES = [1, 7, 1500, 9000, 12_000, 3000, 16_384, 65_535, 4000, 130_000];

/** Writes `data` in pieces of the sizes above, in turn, yielding between them so each can be its own read. */
async function writeInPieces(data: Buffer, write: (b: Buffer) => boolean, drained: () => Promise<void>): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(SIZES[i % SIZES.length], data.length - at);
    if (!write(data.subarray(at, at + n))) await drained();
    else await new Promise((r) => setImmediate(r));
    at += n;
  }
}

/** GET /blob/<seed>/<size>[/length]: the blob, chunked or with a Content-Length. */
const blobDyno: http.RequestListener = (req, res) => {
  const [, , seed, size, length] = (req.url ?? '').split('/');
  const data = blob(Number(seed), Number(size));
  res.writeHead(200, { 'content-type': 'application/octet-stream', ...(length ? { 'content-length': data.length } : {}) });
  void writeInPieces(data, (b) => res.write(b), () => new Promise((r) => res.once('drain', r))).then(() => res.end());
};

/** Reads a response body slowly: a pause of 5 ms after every 256 KiB, so the router's writes to it back up. */
function slowBody(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let since = 0;
    res.on('data', (d: Buffer) => {
      parts.push(d);
      since += d.length;
      if (since > 256 * 1024) {
        since = 0;
        res.pause();
        setTimeout(() => res.resume(), 5);
      }
    });
    res.on('end', () => resolve(Buffer.concat(parts)));
    res.on('error', reject);
  });
}

/** Reads all of `from`, stopping for 400 ms once `after` bytes are in: the sender's writes queue up behind it. */
function stallingRead(from: NodeJS.ReadableStream & { pause(): void; resume(): void }, after: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    let stalled = false;
    from.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (!stalled && n > after) {
        stalled = true;
        from.pause();
        setTimeout(() => from.resume(), 400);
      }
    });
    from.on('end', () => resolve(Buffer.concat(parts)));
    from.on('error', reject);
  });
}

describe('router: bytes pass through unchanged', () => {
  let port = 0;
  let tlsPort = 0;
  let ca = '';

  beforeAll(async () => {
    const dir = tempDir('paas-bytes-');
    ca = fs.readFileSync(makeTestCa(dir).caFile, 'utf8');
    const leaf = makeLeaf(dir, 'blob', ['blob.apps.test']);
    const table = new TestTable();
    table.routes.apply({ type: 'snapshot', version: PROTOCOL_VERSION, domain: 'apps.test', apps: [] });
    // Two dynos: concurrent requests read from different dyno connections into the same buffer.
    table.set('blob', { kind: 'ok', targets: [await backend(blobDyno), await backend(blobDyno)] });
    table.routes.apply({ type: 'certs', certs: [{ id: 'blob', hostnames: ['blob.apps.test'], ...leaf }] });
    const r = await startRouter(table);
    port = r.port;
    tlsPort = await listen(r.router.tlsServer);
  });

  function fetchBlob(scheme: 'http' | 'https', path: string, agent: http.Agent): Promise<Buffer> {
    const opts = { host: '127.0.0.1', path, agent, headers: { host: 'blob.apps.test' } };
    return new Promise((resolve, reject) => {
      const done = (res: http.IncomingMessage) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        slowBody(res).then(resolve, reject);
      };
      const req = scheme === 'https' ? https.get({ ...opts, port: tlsPort, servername: 'blob.apps.test', ca }, done) : http.get({ ...opts, port }, done);
      req.on('error', reject);
    });
  }

  for (const scheme of ['http', 'https'] as const) {
    it(`${scheme}: six large bodies at once, three requests each on keep-alive connections, chunked and sized, read slowly`, async () => {
      const agent = scheme === 'https' ? new https.Agent({ keepAlive: true, maxSockets: 6 }) : new http.Agent({ keepAlive: true, maxSockets: 6 });
      onCleanup(() => agent.destroy());
      const runs = Array.from({ length: 6 }, async (_, c) => {
        for (let i = 0; i < 3; i++) {
          const seed = 100 * c + i + 1;
          const size = 300_000 + 77_777 * c + 1_001 * i;
          const got = await fetchBlob(scheme, `/blob/${seed}/${size}${i % 2 ? '/length' : ''}`, agent);
          expect(got.length).toBe(size);
          expect(sha(got)).toBe(sha(blob(seed, size)));
        }
      });
      await Promise.all(runs);
    });
  }

  it('a client that stops reading for a while (the router\'s writes to it queue) still gets every byte', async () => {
    // 16 MB in pieces mostly under a socket's high-water mark (64 KiB): a write queued behind a full
    // socket buffer does not pause the dyno's connection, so reads go on while bytes wait to leave.
    const size = 16_000_000;
    const got = await new Promise<Buffer>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: `/blob/5/${size}/length`, headers: { host: 'blob.apps.test' }, agent: false }, (res) => {
          stallingRead(res, 1_000_000).then(resolve, reject);
        })
        .on('error', reject);
    });
    expect(got.length).toBe(size);
    expect(sha(got)).toBe(sha(blob(5, size)));
  });

  it('a head that arrives in pieces behind a 103, then a body in the same reads as the next response', async () => {
    const dyno = net.createServer((s) => {
      s.once('data', () => {
        const body = blob(7, 5000);
        const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Piece: yes\r\n\r\n`;
        const all = Buffer.concat([Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n'), Buffer.from(head), body]);
        // Cut inside the 103, inside the final head, and inside the body.
        const cuts = [20, 70, 90, all.length - 2000, all.length];
        let from = 0;
        const next = () => {
          const to = cuts.shift();
          if (to === undefined) return;
          s.write(all.subarray(from, to));
          from = to;
          setTimeout(next, 10);
        };
        next();
      });
    });
    const dynoPort = await listen(dyno);
    onCleanup(() => dyno.close());
    const table = new TestTable();
    table.set('pieces', { kind: 'ok', targets: [{ host: '127.0.0.1', port: dynoPort }] });
    const r = await startRouter(table);
    const got = await new Promise<{ hints: number; body: Buffer; piece: string | undefined }>((resolve, reject) => {
      let hints = 0;
      const req = http.get({ host: '127.0.0.1', port: r.port, headers: { host: 'pieces.localhost' }, agent: false }, (res) => {
        slowBody(res).then((body) => resolve({ hints, body, piece: res.headers['x-piece'] as string | undefined }), reject);
      });
      req.on('information', (info) => (hints += info.statusCode === 103 ? 1 : 0));
      req.on('error', reject);
    });
    expect(got.hints).toBe(1);
    expect(got.piece).toBe('yes');
    expect(sha(got.body)).toBe(sha(blob(7, 5000)));
  });

  it('a tunnel (101) carries 12 MB from the dyno, in odd pieces, to a client that stops reading for a while, unchanged', async () => {
    const data = blob(11, 12_000_000);
    const dyno = net.createServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n');
        void writeInPieces(data, (b) => s.write(b), () => new Promise((r) => s.once('drain', r))).then(() => s.end());
      });
    });
    const dynoPort = await listen(dyno);
    onCleanup(() => dyno.close());
    const table = new TestTable();
    table.set('tunnel', { kind: 'ok', targets: [{ host: '127.0.0.1', port: dynoPort }] });
    const r = await startRouter(table);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.port, headers: { host: 'tunnel.localhost', connection: 'upgrade', upgrade: 'websocket' }, agent: false });
      req.on('upgrade', (_res, socket: net.Socket, head: Buffer) => {
        stallingRead(socket, 500_000).then((rest) => resolve(Buffer.concat([head, rest])), reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(got.length).toBe(data.length);
    expect(sha(got)).toBe(sha(data));
  });
});
