import type net from 'node:net';
import { ChunkedError, ChunkedScanner } from './http1/chunked.js';
import { AUTHORITY, checkPartialRequest, type Framing, HeadError, headEnd, parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from './http1/head.js';
import { downstreamHead, forwardedFor, type Peer, requestIdOf, upstreamHead } from './forwarding.js';
import type { RequestRecord } from './log-line.js';
import { ROUTER_ERRORS, type RouterErrorCode } from './pages.js';
import type { Address, Upstream, UpstreamPool, UpstreamUser } from './pool.js';
import type { RouteTarget } from './protocol.js';

/** What a client connection needs from the router around it. */
export interface ConnectionContext {
  pool: UpstreamPool;
  /** The route for a request, or an answer the router gives itself. */
  route(head: RequestHead, host: string): { app: string; target: RouteTarget } | { answer: string; app?: string; code?: RouterErrorCode; close?: boolean };
  /** Another dyno of the app for a retry, passing over `failed`; undefined if there is none. */
  retryTarget(app: string, failed: Address): RouteTarget | undefined;
  /** A complete error response for `code` (page included unless `head`). */
  errorPage(code: RouterErrorCode, app: string, requestId: string, head: boolean, close: boolean): string;
  /** A bare response for a refused request head (400, 414, 431, 501, 505), connection closed after. */
  refusal(err: HeadError): string;
  log(app: string, record: RequestRecord): void;
  trusted(address: string | undefined): boolean;
  timeoutMs: number;
  idleMs: number;
  headTimeoutMs: number;
}

/** The most a dyno's response head may be before the router gives up on it. */
const MAX_RESPONSE_HEAD = 64 * 1024;
/** Pipelined requests the router buffers while one is in flight, before it stops reading. */
const MAX_PENDING = 64 * 1024;
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

type Stage = 'idle' | 'head' | 'waiting' | 'streaming' | 'tunnel' | 'closed';

/** A body in flight: how many bytes of a Content-Length are left, or a chunk scanner. */
class Body {
  left: number;
  readonly chunks: ChunkedScanner | undefined;
  done: boolean;

  constructor(framing: Framing) {
    this.left = framing.kind === 'length' ? framing.length : 0;
    this.chunks = framing.kind === 'chunked' ? new ChunkedScanner() : undefined;
    this.done = framing.kind === 'none';
  }

  /** How many bytes of `buf` (from `start`) belong to the body; sets `done` when it ends there. */
  take(buf: Buffer, start: number, closeDelimited = false): number {
    if (this.done) return 0;
    if (closeDelimited) return buf.length - start;
    if (this.chunks) {
      const end = this.chunks.scan(buf, start);
      if (end < 0) return buf.length - start;
      this.done = true;
      return end - start;
    }
    const n = Math.min(this.left, buf.length - start);
    this.left -= n;
    if (this.left === 0) this.done = true;
    return n;
  }
}

/**
 * One client connection: reads requests one at a time (pipelined ones wait), sends each to a dyno
 * over a pooled connection, and streams the response back, rewriting only the heads. Bodies pass
 * through as bytes; their framing is tracked only to know where each message ends.
 */
export class ClientConnection implements UpstreamUser {
  stage: Stage = 'idle';
  /** When the current stage times out (checked by the router's sweep). */
  deadline: number;
  private pending: Buffer | undefined;
  /** How much of `pending` was searched for a head's end already (a head arriving in pieces). */
  private scanned = 0;
  private closeAfter = false;
  private readonly peer: Peer;
  // The exchange in progress.
  private head!: RequestHead;
  private app = '';
  private path = '/';
  /** The absolute-form target's authority, which the dyno gets as Host. */
  private authority: string | undefined;
  private target: RouteTarget | undefined;
  private requestId = '';
  private fwd = '';
  private upstream: Upstream | undefined;
  private reused = false;
  private attempt = 0;
  private reqBody!: Body;
  private res: ResponseHead | undefined;
  private resBody: Body | undefined;
  private resBuf: Buffer | undefined;
  private closeDelimited = false;
  private keepClient = true;
  private upgraded = false;
  private gotByte = false;
  private bytesOut = 0;
  private started = 0;
  private connectedAt = 0;
  private endInFlight: (() => void) | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ConnectionContext,
  ) {
    this.peer = { address: socket.remoteAddress ?? '', port: socket.localPort ?? 0, trusted: ctx.trusted(socket.remoteAddress) };
    this.deadline = Date.now() + ctx.idleMs;
    socket.on('data', (chunk: Buffer) => this.onClientData(chunk));
    socket.on('end', () => this.onClientEnd());
    socket.on('drain', () => this.onClientDrain());
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClientClose());
  }

  /** Busy with a request: shutdown lets it finish. */
  get busy(): boolean {
    return this.stage === 'waiting' || this.stage === 'streaming' || this.stage === 'tunnel';
  }

  /** Closes after the response in flight, or now if there is none. */
  closeSoon(): void {
    this.closeAfter = true;
    if (!this.busy) this.socket.destroy();
  }

  /** Called by the router's sweep when `deadline` has passed. */
  expire(): void {
    if (this.stage === 'waiting' && !this.gotByte) return this.fail('H12');
    if (this.stage === 'streaming' || this.stage === 'waiting') return this.cut('H15', 'Idle connection');
    if (this.stage !== 'tunnel') this.socket.destroy();
  }

  private onClientData(chunk: Buffer): void {
    // The connection is over (its last response sent, or a request refused): what still comes is
    // read and dropped, never parsed, or a body the dyno did not wait for would become a request.
    if (this.stage === 'closed') return;
    if (this.stage === 'tunnel') {
      if (this.upstream && !this.upstream.socket.write(chunk)) this.socket.pause();
      return;
    }
    if (this.busy && !this.reqBody.done) {
      this.deadline = Date.now() + this.ctx.idleMs;
      return this.sendBody(chunk, 0);
    }
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.busy) {
      if (this.pending.length > MAX_PENDING) this.socket.pause();
      return;
    }
    this.next();
  }

  private onClientEnd(): void {
    // A websocket's half-close goes on to the dyno, whose close then ends the tunnel.
    if (this.stage === 'tunnel') return void this.upstream?.socket.end();
    // Mid-request, a client's FIN is taken as the client gone, as nginx and node:http take it: a
    // vanished client cannot be told from a half-closed one, and holding its exchange open would
    // keep the dyno's connection and its in-flight count (what a drain waits for) until a timeout.
    if (this.busy) return this.abort();
    this.stage = 'closed';
    this.socket.end();
  }

  /** The client can take more: the dyno it waits on may send again, or its pipelined requests go on. */
  private onClientDrain(): void {
    if (this.upstream) return void this.upstream.socket.resume();
    if (this.stage !== 'idle' && this.stage !== 'head') return;
    this.socket.resume();
    this.next();
  }

  private abort(): void {
    if (this.res === undefined) this.record(499, { code: 'H27', desc: 'Client Request Interrupted' });
    this.dropUpstream();
    this.stage = 'closed';
    this.socket.destroy();
  }

  private onClientClose(): void {
    if (this.busy) this.abort();
    this.stage = 'closed';
  }

  /**
   * Starts the requests in `pending` whose heads are all there, one at a time: a loop, not recursion,
   * as the router may answer many pipelined requests itself (404, H80). While the client is not
   * reading those answers, the router stops reading its requests, so they cannot pile up in memory.
   */
  private next(): void {
    while (this.stage === 'idle' || this.stage === 'head') {
      let buf = this.pending;
      // Stray CRLFs between requests are allowed (RFC 9112 2.2).
      let skip = 0;
      while (buf && skip < buf.length && (buf[skip] === 0x0d || buf[skip] === 0x0a)) skip++;
      if (buf && skip) {
        buf = this.pending = skip === buf.length ? undefined : buf.subarray(skip);
        this.scanned = 0;
      }
      if (!buf) return void (this.stage = 'idle');
      if (this.socket.writableNeedDrain) return void this.socket.pause();
      const end = headEnd(buf, this.scanned);
      let head: RequestHead;
      try {
        if (end < 0) {
          checkPartialRequest(buf, this.scanned);
          this.scanned = buf.length;
          if (this.stage !== 'head') {
            this.stage = 'head';
            this.deadline = Date.now() + this.ctx.headTimeoutMs;
          }
          return;
        }
        this.scanned = 0;
        head = parseRequestHead(buf.toString('latin1', 0, end), end);
      } catch (err) {
        if (!(err instanceof HeadError)) throw err;
        return this.refuse(this.ctx.refusal(err));
      }
      this.pending = end === buf.length ? undefined : buf.subarray(end);
      this.begin(head);
    }
  }

  private refuse(response: string): void {
    this.stage = 'closed';
    this.socket.end(response, 'latin1');
  }

  private begin(head: RequestHead): void {
    this.head = head;
    let host = head.host ?? '';
    let path = head.target;
    this.authority = undefined;
    if (path[0] !== '/' && path !== '*') {
      // Absolute form (RFC 9112 3.2.2): its authority wins over Host, and replaces it on the way to
      // the dyno (RFC 9112 3.2.2), or a client could reach one app while telling it another's name.
      const m = /^https?:\/\/([^/?#]+)([^#]*)$/i.exec(path);
      if (!m || !AUTHORITY.test(m[1])) return this.refuse(this.ctx.refusal(new HeadError(400, 'invalid request target')));
      host = this.authority = m[1];
      path = m[2][0] === '/' ? m[2] : `/${m[2]}`;
    }
    this.requestId = requestIdOf(head);
    this.fwd = forwardedFor(head, this.peer);
    this.res = this.resBody = this.resBuf = this.upstream = undefined;
    this.gotByte = this.upgraded = this.closeDelimited = false;
    this.bytesOut = 0;
    this.attempt = 0;
    this.started = Date.now();
    this.keepClient = head.keepAlive && !this.closeAfter;
    this.reqBody = new Body(head.framing);
    this.path = path;
    this.target = undefined;
    const found = this.ctx.route(head, host);
    if ('answer' in found) {
      // With a body still coming that the router will not read, the connection cannot go on.
      const close = !this.reqBody.done || !this.keepClient || Boolean(found.close);
      this.app = found.app ?? '';
      const answer = found.code ? this.ctx.errorPage(found.code, this.app, this.requestId, head.method === 'HEAD', close) : found.answer;
      this.bytesOut = answer.length;
      if (found.code) this.record(503, errorOf(found.code));
      if (close) return this.refuse(answer);
      this.stage = 'idle';
      this.socket.write(answer, 'latin1');
      this.deadline = Date.now() + this.ctx.idleMs;
      return;
    }
    this.app = found.app;
    this.dispatch(found.target, false);
  }

  /** Sends the request to `target` (again, on a fresh connection, for a retry). */
  private dispatch(target: RouteTarget, fresh: boolean): void {
    this.target = target;
    this.stage = 'waiting';
    this.deadline = Date.now() + this.ctx.timeoutMs;
    this.endInFlight = this.ctx.pool.begin(target);
    const { upstream, reused } = this.ctx.pool.acquire(target, this, fresh);
    this.upstream = upstream;
    this.reused = reused;
    this.connectedAt = reused ? this.started : 0;
    const socket = upstream.socket;
    socket.cork();
    socket.write(upstreamHead(this.head, this.path, this.requestId, this.fwd, this.peer, this.started, this.authority), 'latin1');
    if (this.pending && !this.reqBody.done) {
      const rest = this.pending;
      this.pending = undefined;
      this.sendBody(rest, 0);
    }
    socket.uncork();
  }

  onUpstreamConnect(): void {
    this.connectedAt = Date.now();
  }

  /** Body bytes from the client go to the dyno; what follows the body is the next request. */
  private sendBody(buf: Buffer, start: number): void {
    let n: number;
    try {
      n = this.reqBody.take(buf, start);
    } catch (err) {
      if (!(err instanceof ChunkedError)) throw err;
      return this.cut('H13', 'Invalid request body framing');
    }
    const upstream = this.upstream!.socket;
    if (n > 0 && !upstream.write(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n))) this.socket.pause();
    if (start + n < buf.length) {
      const rest = buf.subarray(start + n);
      this.pending = this.pending ? Buffer.concat([this.pending, rest]) : rest;
    }
  }

  onUpstreamDrain(): void {
    if (this.stage !== 'closed') this.socket.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    this.gotByte = true;
    this.deadline = Date.now() + this.ctx.idleMs;
    if (this.stage === 'tunnel') return void this.write(chunk);
    if (this.stage === 'closed') return;
    if (!this.resBody) return this.readResponseHead(chunk);
    this.forwardBody(chunk, 0);
  }

  private readResponseHead(chunk: Buffer): void {
    let buf = this.resBuf ? Buffer.concat([this.resBuf, chunk]) : chunk;
    // Only the new bytes are searched, and the head made a string once it is complete, so a dyno
    // trickling a large head costs the router no more than one sent at once (hostile dynos share it).
    let from = this.resBuf ? this.resBuf.length : 0;
    for (;;) {
      const end = headEnd(buf, from);
      if (end < 0 || end > MAX_RESPONSE_HEAD) {
        if (buf.length >= MAX_RESPONSE_HEAD) return this.cut('H13', 'Response head too large');
        this.resBuf = buf;
        return;
      }
      let res: ResponseHead;
      try {
        res = parseResponseHead(buf.toString('latin1', 0, end), end);
      } catch {
        return this.cut('H13', 'Malformed response');
      }
      if (res.status >= 100 && res.status < 200 && res.status !== 101) {
        // Interim (100 Continue, 103 Early Hints): passed on as is; the final head follows.
        this.write(buf.subarray(0, end));
        buf = buf.subarray(end);
        from = 0;
        if (!buf.length) return void (this.resBuf = undefined);
        continue;
      }
      this.resBuf = undefined;
      return this.startResponse(res, buf.subarray(end));
    }
  }

  private startResponse(res: ResponseHead, rest: Buffer): void {
    this.res = res;
    this.stage = 'streaming';
    if (res.status === 101) {
      if (!this.head.upgrade) return this.cut('H13', 'Unrequested protocol switch');
      this.upgraded = true;
    }
    const noBody = this.head.method === 'HEAD' || res.status === 204 || res.status === 304 || this.upgraded;
    const framing: Framing = noBody ? { kind: 'none' } : res.framing;
    this.closeDelimited = framing.kind === 'close';
    if (this.closeDelimited || this.head.minor === 0) this.keepClient = false;
    this.resBody = new Body(framing);
    // Head and the body bytes that came with it leave in one write (writev), not two syscalls.
    this.socket.cork();
    this.write(downstreamHead(res, this.requestId, this.keepClient, this.upgraded));
    if (this.upgraded) this.tunnel(rest);
    else if (rest.length || this.resBody.done) this.forwardBody(rest, 0);
    this.socket.uncork();
  }

  private forwardBody(buf: Buffer, start: number): void {
    const body = this.resBody!;
    let n: number;
    try {
      n = body.take(buf, start, this.closeDelimited);
    } catch {
      return this.cut('H18', 'Server Request Interrupted');
    }
    if (n > 0) this.write(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n));
    if (!body.done) return;
    // Bytes after the response's end: the dyno is out of step, so its connection is not reused.
    if (start + n < buf.length) this.res!.keepAlive = false;
    this.finish();
  }

  private write(data: Buffer | string): void {
    this.bytesOut += data.length;
    const ok = typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
    if (!ok) this.upstream?.socket.pause();
  }

  private tunnel(rest: Buffer): void {
    this.stage = 'tunnel';
    this.record(101);
    this.endInFlight?.();
    if (rest.length) this.write(rest);
    if (this.pending) {
      this.upstream!.socket.write(this.pending);
      this.pending = undefined;
    }
    this.socket.resume();
  }

  /** The response is complete: the dyno's connection goes back to the pool, the client's to the next request. */
  private finish(): void {
    const upstream = this.upstream!;
    this.upstream = undefined;
    if (this.res!.keepAlive && this.reqBody.done && this.head.minor === 1) this.ctx.pool.release(upstream);
    else {
      // Its close event comes later, when this connection may be on its next exchange already: it
      // must not reach that one (as a dyno gone before answering: a false 503, or a retry).
      upstream.user = undefined;
      upstream.socket.destroy();
    }
    this.endInFlight?.();
    this.record(this.res!.status);
    if (!this.reqBody.done) this.keepClient = false;
    if (!this.keepClient || this.closeAfter) {
      this.stage = 'closed';
      // Read on (and drop) what the client still sends, so its unread bytes do not make the close a reset that loses the response.
      this.socket.resume();
      return void this.socket.end();
    }
    this.stage = 'idle';
    this.deadline = Date.now() + this.ctx.idleMs;
    this.socket.resume();
    this.next();
  }

  onUpstreamClose(code: string | undefined): void {
    if (this.stage === 'tunnel') return void this.socket.destroy();
    if (this.stage === 'closed' || (this.stage !== 'waiting' && this.stage !== 'streaming')) return;
    this.endInFlight?.();
    this.upstream = undefined;
    if (this.res && this.closeDelimited) {
      // The dyno's close is this response's end.
      this.record(this.res.status);
      this.stage = 'closed';
      return void this.socket.end();
    }
    if (this.res) return this.cut('H18', 'Server Request Interrupted');
    const never = NEVER_CONNECTED.has(code ?? '');
    const mayRetry = this.attempt === 0 && this.reqBody.done && this.head.framing.kind === 'none' && (never || (!this.gotByte && IDEMPOTENT.has(this.head.method)));
    if (mayRetry) {
      const failed = this.target!;
      const next = this.ctx.retryTarget(this.app, failed) ?? (this.reused ? failed : undefined);
      if (next) {
        this.attempt++;
        return this.dispatch(next, true);
      }
    }
    this.fail(never ? 'H10' : 'H13');
  }

  /** Answers with the router's error page (nothing of the response was sent yet). */
  private fail(code: RouterErrorCode): void {
    this.dropUpstream();
    const page = this.ctx.errorPage(code, this.app, this.requestId, this.head.method === 'HEAD', true);
    this.bytesOut = page.length;
    this.record(503, errorOf(code));
    this.refuse(page);
  }

  /** Cuts the client off mid-response (or before one, on a broken dyno), logging why. */
  private cut(code: string, desc: string): void {
    if (!this.res && this.stage === 'waiting') {
      // Nothing sent yet: the client gets a page rather than a dropped connection.
      this.dropUpstream();
      const page = this.ctx.errorPage('H13', this.app, this.requestId, this.head.method === 'HEAD', true);
      this.record(503, { code, desc });
      return this.refuse(page);
    }
    this.record(this.res?.status ?? 503, { code, desc });
    this.dropUpstream();
    this.stage = 'closed';
    this.socket.destroy();
  }

  private dropUpstream(): void {
    this.endInFlight?.();
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream) {
      upstream.user = undefined;
      upstream.socket.destroy();
    }
  }

  private record(status: number, error?: { code: string; desc: string }): void {
    if (!this.app) return;
    const now = Date.now();
    this.ctx.log(this.app, {
      method: this.head.method,
      path: this.path,
      host: this.authority ?? this.head.host ?? '',
      requestId: this.requestId,
      fwd: this.fwd,
      dyno: this.target?.dyno ?? '',
      connectMs: this.connectedAt ? this.connectedAt - this.started : 0,
      serviceMs: now - this.started,
      status,
      bytes: this.bytesOut,
      error,
    });
  }
}

const errorOf = (code: RouterErrorCode): { code: string; desc: string } => ({ code, desc: ROUTER_ERRORS[code].desc });
