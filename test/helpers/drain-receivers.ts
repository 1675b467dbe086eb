// Log drain receivers on loopback for the tests: an HTTP (logplex) one that keeps every POST, and a
// syslog TCP one that keeps every connection's bytes. Both parse RFC 6587 octet-counted frames.
import http from 'node:http';
import net from 'node:net';
import { onCleanup } from './cleanup.js';

/** Splits RFC 6587 octet-counted frames; throws on anything that is not exactly a run of them. */
export function parseFrames(data: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = Number(data.subarray(at, space).toString());
    if (space < 0 || !Number.isInteger(len) || len <= 0) throw new Error(`bad frame at byte ${at}: ${data.subarray(at, at + 40).toString()}`);
    out.push(data.subarray(space + 1, space + 1 + len).toString());
    at = space + 1 + len;
  }
  if (at !== data.length) throw new Error('the last frame is cut short');
  return out;
}

export interface Post {
  headers: http.IncomingHttpHeaders;
  frames: string[];
}

/** An HTTP drain receiver on loopback that keeps every POST. */
export async function httpReceiver(): Promise<{ port: number; posts: Post[] }> {
  const posts: Post[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ headers: req.headers, frames: parseFrames(Buffer.concat(chunks)) });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { port: (server.address() as net.AddressInfo).port, posts };
}

/** A syslog TCP receiver on loopback: everything received, per connection. */
export async function syslogReceiver(): Promise<{ port: number; received: () => string[]; open: () => number }> {
  const streams: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    streams.push(chunks);
    sockets.add(s);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(r))));
  // A connection cut by a server restart may end mid-frame; each one is parsed up to its last whole frame.
  const received = (): string[] => streams.flatMap((chunks) => wholeFrames(Buffer.concat(chunks)));
  return { port: (server.address() as net.AddressInfo).port, received, open: () => sockets.size };
}

function wholeFrames(data: Buffer): string[] {
  for (let end = data.length; end > 0; end--) {
    try {
      return parseFrames(data.subarray(0, end));
    } catch {
      // not a frame boundary
    }
  }
  return [];
}

/** A syslog frame of tickerApp's web.1 line (`tick <boot> <n>`) as a drain sends it; group 1 is the boot. */
export const TICK = (app: string): RegExp => new RegExp(`^<190>1 \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z ${app} app web\\.1 - - tick (\\w+) \\d+$`);
