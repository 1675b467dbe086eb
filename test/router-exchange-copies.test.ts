// The exchange copies every dyno byte it keeps or sends on (router/exchange.ts): the pool reads all
// dyno connections into one buffer (router/pool.ts), which the next read overwrites. Whether a
// missing copy shows up through real sockets depends on kernel buffer sizes (test/router-bytes
// catches two of the four); here it is deterministic: a fake client socket keeps every write by
// reference, as a queued write does, and the "read buffer" is scribbled over after each read.
// Fakes (not real sockets) only so that every write stays queued; nothing else is mocked.
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClientConnection, type RecheckContext } from '../router/connection.js';
import type { ConnectionContext } from '../router/context.js';
import type { Upstream, UpstreamPool } from '../router/pool.js';

const GARBAGE = 0xee;

/** A client socket that never finishes a write: it keeps each one, by reference. */
class QueuingSocket extends EventEmitter {
  readonly writes: (Buffer | string)[] = [];
  remoteAddress = '127.0.0.1';
  localPort = 80;
  writableNeedDrain = false;
  write(data: Buffer | string): boolean {
    this.writes.push(data);
    return true;
  }
  end(data?: Buffer | string): void {
    if (data !== undefined) this.writes.push(data);
  }
  cork(): void {}
  uncork(): void {}
  pause(): void {}
  resume(): void {}
  destroy(): void {}
  /** Everything written, as the client would read it once the writes leave. */
  received(): Buffer {
    return Buffer.concat(this.writes.map((w) => (typeof w === 'string' ? Buffer.from(w, 'latin1') : w)));
  }
}

/** A client connection whose dyno is `dyno.socket` (a sink) and whose reads come from `feed`. */
function exchange(request: string) {
  const client = new QueuingSocket();
  const dyno = { socket: new QueuingSocket(), user: undefined } as unknown as Upstream;
  // Only what ClientConnection calls on the pool; the cast is the fake's (a test double, not a pool).
  const pool = { begin: () => () => undefined, acquire: () => ({ upstream: dyno, reused: true }), release: () => undefined } as unknown as UpstreamPool;
  const ctx: ConnectionContext = {
    pool,
    route: () => ({ app: 'a', target: { host: '127.0.0.1', port: 1, dyno: 'web.1' } }),
    retryTarget: () => undefined,
    errorPage: (code) => `HTTP/1.1 503 ${code}\r\n\r\n`,
    refusal: (err) => `HTTP/1.1 ${err.status} x\r\n\r\n`,
    log: () => undefined,
    trusted: () => false,
    timeoutMs: 30_000,
    idleMs: 55_000,
    headTimeoutMs: 10_000,
  };
  const ports: RecheckContext = { listed: () => true, suspect: () => undefined, suspectFor: () => 0 };
  const conn = new ClientConnection(client as unknown as net.Socket, ctx, ports);
  client.emit('data', Buffer.from(request, 'latin1'));
  const shared = Buffer.alloc(64 * 1024);
  /** One read from the dyno: `bytes` in the shared buffer, then the buffer scribbled over. */
  const feed = (bytes: Buffer | string) => {
    const n = Buffer.from(bytes as string, typeof bytes === 'string' ? 'latin1' : undefined).copy(shared);
    conn.onUpstreamData(shared.subarray(0, n));
    shared.fill(GARBAGE);
  };
  return { client, feed };
}

const body = (n: number) => Buffer.from('abcdefghijklmnopqrstuvwxyz'.repeat(Math.ceil(n / 26)).slice(0, n), 'latin1');

describe('exchange: dyno bytes are copied before they are kept or sent on', () => {
  it('a 1xx, a final head that arrives in two reads, and a body over three', () => {
    const { client, feed } = exchange('GET / HTTP/1.1\r\nHost: a.localhost\r\n\r\n');
    const all = body(3000);
    feed('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nConte');
    feed(`nt-Length: ${all.length}\r\n\r\n${all.subarray(0, 1000).toString('latin1')}`);
    feed(all.subarray(1000, 2000));
    feed(all.subarray(2000));
    const got = client.received();
    expect(got.includes(GARBAGE)).toBe(false);
    expect(got.toString('latin1')).toMatch(/^HTTP\/1\.1 103 Early Hints\r\nLink: <\/a\.css>\r\n\r\nHTTP\/1\.1 200 OK\r\nContent-Length: 3000\r\n/);
    expect(got.subarray(got.length - all.length).equals(all)).toBe(true);
  });

  it('a tunnel: the bytes after the 101 in its read, then more reads', () => {
    const { client, feed } = exchange('GET /ws HTTP/1.1\r\nHost: a.localhost\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n');
    const all = body(5000);
    feed(`HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n${all.subarray(0, 100).toString('latin1')}`);
    feed(all.subarray(100, 4000));
    feed(all.subarray(4000));
    const got = client.received();
    expect(got.includes(GARBAGE)).toBe(false);
    expect(got.subarray(got.length - all.length).equals(all)).toBe(true);
  });
});
