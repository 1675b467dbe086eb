import { randomUUID } from 'node:crypto';
import { type Field, listOf, type RequestHead, type ResponseHead } from './http1/head.js';

/**
 * Hop-by-hop fields (RFC 9110 7.6.1) end at the router: each hop makes its own. Transfer-Encoding is
 * not among them here: bodies go through as they came, so their chunked framing goes with them.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);
/** Set by the router from what it saw, never passed on from an untrusted client. */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-request-id', 'via', 'x-request-start']);

const REQUEST_ID = /^[A-Za-z0-9+=/_-]{20,200}$/;

/** The request id: the client's when it is 20–200 characters of `[A-Za-z0-9+=/_-]`, else a new UUID. */
export function requestIdOf(head: RequestHead): string {
  for (const f of head.fields) if (f.name === 'x-request-id' && REQUEST_ID.test(f.value)) return f.value;
  return randomUUID();
}

/** What the router knows of the client's connection. */
export interface Peer {
  /** The client's address as the router's socket sees it. */
  address: string;
  /** The port the client connected to. */
  port: number;
  /** Whether the peer is a trusted proxy, whose X-Forwarded-* fields are kept and appended to. */
  trusted: boolean;
  /** How the client reached the router: X-Forwarded-Proto, unless a trusted proxy says otherwise. */
  proto: 'http' | 'https';
}

/**
 * Fields a Connection field may not name away: without them the next hop would frame the message, or
 * pick the site, otherwise than the router did (`Connection: content-length` would turn a body into
 * a smuggled request).
 */
const FRAMING = new Set(['host', 'content-length', 'transfer-encoding']);

/** Whether `Connection` names `f` as hop-by-hop (and it may be dropped). */
const nominated = (f: Field, named: string[]): boolean => named.length > 0 && !FRAMING.has(f.name) && named.includes(f.name);

function dropped(f: Field, named: string[]): boolean {
  return HOP_BY_HOP.has(f.name) || FORWARDING.has(f.name) || nominated(f, named);
}

function fieldValue(fields: Field[], name: string): string | undefined {
  let out: string | undefined;
  for (const f of fields) if (f.name === name) out = out === undefined ? f.value : `${out}, ${f.value}`;
  return out;
}

/** The `fwd` of the router log: the X-Forwarded-For the dyno gets. */
export function forwardedFor(head: RequestHead, peer: Peer): string {
  const prior = peer.trusted ? fieldValue(head.fields, 'x-forwarded-for') : undefined;
  return prior ? `${prior}, ${peer.address}` : peer.address;
}

/**
 * The head sent to the dyno: the request line in origin form, the client's end-to-end fields as they
 * came (Host included, or the absolute-form target's `authority` in its place), then the router's:
 * the body's framing in one canonical field, X-Forwarded-For/-Proto/-Port, X-Request-Id,
 * X-Request-Start and Via, and a Connection field of its own (keep-alive, or upgrade). The framing
 * is written anew so the dyno reads exactly the length the router counted, whatever odd (but
 * unambiguous) form the client used: `Content-Length: 05, 5`, two equal fields, `Chunked`.
 */
export function upstreamHead(head: RequestHead, path: string, requestId: string, fwd: string, peer: Peer, now: number, authority?: string): string {
  const named = listOf(head.fields, 'connection');
  let out = `${head.method} ${path} HTTP/1.${head.minor}\r\n`;
  if (authority !== undefined) out += `Host: ${authority}\r\n`;
  let hadLength = false;
  for (const f of head.fields) {
    if (f.name === 'content-length' || f.name === 'transfer-encoding') hadLength = true;
    else if (!dropped(f, named) && (authority === undefined || f.name !== 'host')) out += `${f.raw}\r\n`;
  }
  const framing = head.framing;
  if (framing.kind === 'chunked') out += 'Transfer-Encoding: chunked\r\n';
  else if (framing.kind === 'length') out += `Content-Length: ${framing.length}\r\n`;
  else if (hadLength) out += 'Content-Length: 0\r\n';
  const proto = (peer.trusted && fieldValue(head.fields, 'x-forwarded-proto')) || peer.proto;
  const port = (peer.trusted && fieldValue(head.fields, 'x-forwarded-port')) || String(peer.port);
  const via = fieldValue(head.fields, 'via');
  out += `X-Forwarded-For: ${fwd}\r\nX-Forwarded-Proto: ${proto}\r\nX-Forwarded-Port: ${port}\r\nX-Request-Id: ${requestId}\r\nX-Request-Start: ${now}\r\n`;
  out += `Via: ${via ? `${via}, ` : ''}1.${head.minor} paas\r\n`;
  if (head.upgrade) out += `Connection: upgrade\r\nUpgrade: ${fieldValue(head.fields, 'upgrade')}\r\n\r\n`;
  else out += head.minor === 1 ? '\r\n' : 'Connection: close\r\n\r\n';
  return out;
}

/**
 * The head sent back to the client: the dyno's status line and end-to-end fields, X-Request-Id
 * (unless the dyno set one), Via, `extra` (the app's HSTS, unless the dyno sent its own), and the
 * router's own Connection field.
 */
export function downstreamHead(res: ResponseHead, requestId: string, keepAlive: boolean, upgraded: boolean, extra?: string): string {
  const named = listOf(res.fields, 'connection');
  let out = `${res.line}\r\n`;
  let hasId = false;
  let via: string | undefined;
  for (const f of res.fields) {
    if (f.name === 'x-request-id') hasId = true;
    else if (f.name === 'strict-transport-security') extra = undefined;
    if (f.name === 'via') via = via === undefined ? f.value : `${via}, ${f.value}`;
    else if (!HOP_BY_HOP.has(f.name) && !nominated(f, named)) out += `${f.raw}\r\n`;
  }
  if (!hasId) out += `X-Request-Id: ${requestId}\r\n`;
  if (extra) out += extra;
  out += `Via: ${via ? `${via}, ` : ''}1.1 paas\r\n`;
  if (upgraded) out += `Connection: upgrade\r\nUpgrade: ${fieldValue(res.fields, 'upgrade') ?? 'websocket'}\r\n\r\n`;
  else out += keepAlive ? '\r\n' : 'Connection: close\r\n\r\n';
  return out;
}

/**
 * `head` (latin1) and `n` bytes of `buf` from `start`, copied into one new buffer: one write for a
 * response's head and the body that came with it (as cheap as the corked two, without the
 * stream's writev), and nothing left pointing into the pool's read buffer.
 */
export function copyOut(head: string | undefined, buf: Buffer, start: number, n: number): Buffer {
  const headLength = head?.length ?? 0;
  const out = Buffer.allocUnsafe(headLength + n);
  if (head) out.write(head, 0, headLength, 'latin1');
  buf.copy(out, headLength, start, start + n);
  return out;
}
