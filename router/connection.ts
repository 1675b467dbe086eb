import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Body } from './http1/body.js';
import { ChunkedError } from './http1/chunked.js';
import { AUTHORITY, checkPartialRequest, HeadError, headEnd, parseRequestHead, type RequestHead } from './http1/head.js';
import type { ConnectionContext } from './context.js';
import { CLIENT_IDLE, Exchange } from './exchange.js';
import { forwardedFor, type Peer, requestIdOf, upstreamHead } from './forwarding.js';
import { routerError } from './pages.js';
import type { RouteTarget } from './protocol.js';
import type { Address } from './pool.js';

/** Pipelined requests the router buffers while one is in flight, before it stops reading. */
const MAX_PENDING = 64 * 1024;
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
/** How long a request waits before it goes again to a dyno port whose connection just closed unanswered. */
export const RECHECK_MS = 250;
/**
 * Times a request whose dyno refused the connection (so never saw it: safe to send again) waits
 * RECHECK_MS for the route table to change before it gets H10: a dyno that died is withdrawn, and a
 * release put back gets its old dynos routed, by the control plane a moment later, longer under load.
 */
const MAX_REFUSED = 4;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * One client connection: reads requests one at a time (pipelined ones wait), sends each to a dyno
 * over a pooled connection, and streams the response back (exchange.ts), rewriting only the heads.
 * Bodies pass through as bytes; their framing is tracked only to know where each message ends.
 */
/** What the router tells a connection about dyno ports that may have changed hands (see recheck). */
export interface RecheckContext {
  /** Whether the app's route still lists `target`, the same dyno that has not been withdrawn since. */
  listed(app: string, target: RouteTarget): boolean;
  /** Marks a dyno port whose connection closed unanswered: no request goes there for RECHECK_MS. */
  suspect(target: Address): void;
  /** How long requests must still keep away from `target` (0: not suspect). */
  suspectFor(target: Address): number;
}

export class ClientConnection extends Exchange {
  /** How much of `pending` was searched for a head's end already (a head arriving in pieces). */
  private scanned = 0;
  private readonly peer: Peer;
  private reused = false;
  private attempt = 0;

  constructor(
    socket: net.Socket,
    ctx: ConnectionContext,
    private readonly ports: RecheckContext,
  ) {
    super(socket, ctx);
    const proto = (socket as Partial<TLSSocket>).encrypted ? 'https' : 'http';
    this.peer = { address: socket.remoteAddress ?? '', port: socket.localPort ?? 0, trusted: ctx.trusted(socket.remoteAddress), proto };
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
    if (this.stage === 'waiting' && !this.reqBody.done) return this.abort(CLIENT_IDLE);
    if (this.stage === 'waiting' && !this.gotByte) return this.fail('H12');
    if (this.stage === 'streaming' || this.stage === 'waiting') return this.cut('H15', 'Idle connection');
    // An idle keep-alive connection, a head too slow, or a websocket with no data either way (as
    // Heroku closes one after 55 s); a tunnel's close takes the dyno's connection with it.
    this.socket.destroy();
  }

  private onClientData(chunk: Buffer): void {
    // The connection is over (its last response sent, or a request refused): what still comes is
    // read and dropped, never parsed, or a body the dyno did not wait for would become a request.
    if (this.stage === 'closed') return;
    if (this.stage === 'tunnel') {
      this.deadline = Date.now() + this.ctx.idleMs;
      if (this.upstream && !this.upstream.socket.write(chunk)) this.socket.pause();
      return;
    }
    if (this.busy && !this.reqBody.done) return this.sendBody(chunk, 0);
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

  private onClientClose(): void {
    if (this.busy) this.abort();
    this.stage = 'closed';
  }

  /**
   * Starts the requests in `pending` whose heads are all there, one at a time: a loop, not recursion,
   * as the router may answer many pipelined requests itself (404, H80). While the client is not
   * reading those answers, the router stops reading its requests, so they cannot pile up in memory.
   */
  protected next(): void {
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
    this.resetExchange();
    this.attempt = 0;
    this.started = Date.now();
    this.keepClient = head.keepAlive && !this.closeAfter;
    this.reqBody = new Body(head.framing);
    this.path = path;
    this.target = undefined;
    const found = this.ctx.route(head, host, path, this.peer.proto === 'https');
    if ('answer' in found) {
      // With a body still coming that the router will not read, the connection cannot go on.
      const close = !this.reqBody.done || !this.keepClient || Boolean(found.close);
      this.app = found.app ?? '';
      const answer = found.code ? this.ctx.errorPage(found.code, this.app, this.requestId, head.method === 'HEAD', close) : found.answer;
      this.bytesOut = answer.length;
      if (found.code) this.record(503, routerError(found.code));
      if (close) return this.refuse(answer);
      this.stage = 'idle';
      this.socket.write(answer, 'latin1');
      this.deadline = Date.now() + this.ctx.idleMs;
      return;
    }
    this.app = found.app;
    this.extraHead = found.extraHead;
    const wait = this.ports.suspectFor(found.target);
    if (wait > 0) return this.recheck(found.target, wait);
    this.dispatch(found.target, false);
  }

  /** Sends the request to `target` (again, on a fresh connection, for a retry). */
  private dispatch(target: RouteTarget, fresh: boolean): void {
    this.target = target;
    this.stage = 'waiting';
    // The dyno's first-byte timeout (H12) starts once the request is all sent; until then the
    // client's idle limit applies to its upload (sendBody moves the deadline as the body comes).
    this.deadline = Date.now() + (this.reqBody.done ? this.ctx.timeoutMs : this.ctx.idleMs);
    this.endInFlight = this.ctx.pool.begin(target);
    const { upstream, reused } = this.ctx.pool.acquire(target, this, fresh);
    this.upstream = upstream;
    this.reused = reused;
    this.connectedAt = reused ? this.started : 0;
    const socket = upstream.socket;
    const head = upstreamHead(this.head, this.path, this.requestId, this.fwd, this.peer, this.started, this.authority);
    if (!this.pending || this.reqBody.done) return void socket.write(head, 'latin1');
    // The body bytes that came with the head go in the same write.
    const rest = this.pending;
    this.pending = undefined;
    socket.cork();
    socket.write(head, 'latin1');
    this.sendBody(rest, 0);
    socket.uncork();
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
    if (!this.reqBody.done) this.deadline = Date.now() + this.ctx.idleMs;
    else if (!this.gotByte) this.deadline = Date.now() + this.ctx.timeoutMs;
    const upstream = this.upstream!.socket;
    if (n > 0 && !upstream.write(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n))) this.socket.pause();
    if (start + n < buf.length) {
      const rest = buf.subarray(start + n);
      this.pending = this.pending ? Buffer.concat([this.pending, rest]) : rest;
    }
  }

  protected closedBeforeResponse(code: string | undefined): void {
    const never = NEVER_CONNECTED.has(code ?? '');
    const mayRetry = this.reqBody.done && this.head.framing.kind === 'none' && (never ? this.attempt < MAX_REFUSED : this.attempt === 0 && !this.gotByte && IDEMPOTENT.has(this.head.method));
    if (mayRetry) {
      const failed = this.target!;
      const next = this.ctx.retryTarget(this.app, failed) ?? (this.reused || never ? failed : undefined);
      this.ports.suspect(failed);
      if (next === failed) {
        this.attempt++;
        return this.recheck(failed, RECHECK_MS);
      }
      if (next) {
        this.attempt++;
        return this.dispatch(next, true);
      }
    }
    this.fail(never ? 'H10' : 'H13');
  }

  /**
   * A dyno's connection closed before any answer (its keep-alive timeout, or the dyno died): if it
   * died, another program may bind its port at once, so no request goes to that port again for
   * RECHECK_MS (`ctx.suspect`), and then only if the route table still lists it (the control plane
   * withdraws a dyno as soon as it exits). A request with a body still coming cannot wait here.
   */
  private recheck(target: RouteTarget, ms: number): void {
    if (!this.reqBody.done) return this.fail('H10');
    this.stage = 'waiting';
    this.deadline = Date.now() + ms + this.ctx.timeoutMs;
    setTimeout(() => {
      if (this.stage !== 'waiting' || this.upstream) return;
      const next = this.ports.listed(this.app, target) ? target : this.ctx.retryTarget(this.app, target);
      if (next) this.dispatch(next, true);
      else this.fail('H10');
    }, ms).unref();
  }
}
