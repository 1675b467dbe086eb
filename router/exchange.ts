import type net from 'node:net';
import { Body } from './http1/body.js';
import { type Framing, headEnd, parseResponseHead, type RequestHead, type ResponseHead } from './http1/head.js';
import { copyOut, downstreamHead } from './forwarding.js';
import type { ConnectionContext } from './context.js';
import { routerError, type RouterErrorCode } from './pages.js';
import type { Upstream, UpstreamUser } from './pool.js';
import type { RouteTarget } from './protocol.js';

/** The most a dyno's response head may be before the router gives up on it. */
const MAX_RESPONSE_HEAD = 64 * 1024;

/** Heroku's codes for an exchange the client ended: gone mid-request, or stalled in its upload. */
export const CLIENT_INTERRUPTED = { code: 'H27', desc: 'Client Request Interrupted' } as const;
export const CLIENT_IDLE = { code: 'H28', desc: 'Client Connection Idle' } as const;

export type Stage = 'idle' | 'head' | 'waiting' | 'streaming' | 'tunnel' | 'closed';

/**
 * The exchange in progress on a client connection, seen from the dyno's side: its state, the
 * response relayed back (head, interim 1xx, body, or a websocket tunnel), and how it ends: finished,
 * answered with the router's error page, or cut. ClientConnection (connection.ts) is the one class
 * built on it, and adds the client's side: reading requests, routing them and sending them on.
 */
export abstract class Exchange implements UpstreamUser {
  protected stage: Stage = 'idle';
  /** When the current stage times out (checked by the router's sweep). */
  deadline: number;
  /** Client bytes read but not yet used: pipelined requests, or body bytes that came before a dyno was picked. */
  protected pending: Buffer | undefined;
  protected closeAfter = false;
  protected head!: RequestHead;
  protected app = '';
  protected path = '/';
  /** The absolute-form target's authority, which the dyno gets as Host. */
  protected authority: string | undefined;
  protected target: RouteTarget | undefined;
  protected requestId = '';
  protected fwd = '';
  protected upstream: Upstream | undefined;
  protected reqBody!: Body;
  protected keepClient = true;
  protected gotByte = false;
  protected bytesOut = 0;
  protected started = 0;
  protected connectedAt = 0;
  protected endInFlight: (() => void) | undefined;
  /** Fields the router adds to this response's head (Strict-Transport-Security), or undefined. */
  protected extraHead: string | undefined;
  private res: ResponseHead | undefined;
  private resBody: Body | undefined;
  private resBuf: Buffer | undefined;
  private closeDelimited = false;
  private upgraded = false;

  constructor(
    readonly socket: net.Socket,
    protected readonly ctx: ConnectionContext,
  ) {
    this.deadline = Date.now() + ctx.idleMs;
  }

  /** Starts the next requests the client has sent, if any (after a response that kept the connection). */
  protected abstract next(): void;

  /** The dyno's connection closed before any response: a retry where that is safe, else an error page. */
  protected abstract closedBeforeResponse(code: string | undefined): void;

  /** Clears what the previous exchange left of a response, for a new request. */
  protected resetExchange(): void {
    this.res = this.resBody = this.resBuf = this.upstream = undefined;
    this.gotByte = this.upgraded = this.closeDelimited = false;
    this.bytesOut = 0;
  }

  onUpstreamConnect(): void {
    this.connectedAt = Date.now();
  }

  onUpstreamDrain(): void {
    if (this.stage !== 'closed') this.socket.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    this.gotByte = true;
    this.deadline = Date.now() + this.ctx.idleMs;
    // A chunk is the pool's read buffer, reused by the next read: what goes on is a copy.
    if (this.stage === 'tunnel') return void this.write(Buffer.from(chunk));
    if (this.stage === 'closed') return;
    if (!this.resBody) return this.readResponseHead(chunk);
    this.forwardBody(chunk, 0);
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
    this.closedBeforeResponse(code);
  }

  private readResponseHead(chunk: Buffer): void {
    // `buf` is ours (a copy) once joined to an earlier piece; else a view of the pool's buffer.
    let buf = this.resBuf ? Buffer.concat([this.resBuf, chunk]) : chunk;
    // Only the new bytes are searched, and the head made a string once it is complete, so a dyno
    // trickling a large head costs the router no more than one sent at once (hostile dynos share it).
    let from = this.resBuf ? this.resBuf.length : 0;
    for (;;) {
      const end = headEnd(buf, from);
      if (end < 0 || end > MAX_RESPONSE_HEAD) {
        if (buf.length >= MAX_RESPONSE_HEAD) return this.cut('H13', 'Response head too large');
        this.resBuf = buf.buffer === chunk.buffer ? Buffer.from(buf) : buf;
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
        this.write(Buffer.from(buf.subarray(0, end)));
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
    const head = downstreamHead(res, this.requestId, this.keepClient, this.upgraded, this.extraHead);
    if (!this.upgraded) return this.forwardBody(rest, 0, head);
    this.socket.cork();
    this.write(head);
    this.tunnel(rest);
    this.socket.uncork();
  }

  /** Sends on the body bytes of `buf` from `start` (after `head`, the response's, in the same write). */
  private forwardBody(buf: Buffer, start: number, head?: string): void {
    const body = this.resBody!;
    let n: number;
    try {
      n = body.take(buf, start, this.closeDelimited);
    } catch {
      if (head) this.write(head);
      return this.cut('H18', 'Server Request Interrupted');
    }
    if (n > 0 || head) this.write(copyOut(head, buf, start, n));
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
    if (rest.length) this.write(Buffer.from(rest));
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

  /** Ends the exchange on the client's account: it went away (H27), or its upload stalled (H28). */
  protected abort(why: { code: string; desc: string } = CLIENT_INTERRUPTED): void {
    if (this.res === undefined) this.record(499, why);
    this.dropUpstream();
    this.stage = 'closed';
    this.socket.destroy();
  }

  /** Sends the router's last answer on this connection and closes it. */
  protected refuse(response: string): void {
    this.stage = 'closed';
    this.socket.end(response, 'latin1');
  }

  /** Answers with the router's error page (nothing of the response was sent yet). */
  protected fail(code: RouterErrorCode): void {
    this.dropUpstream();
    const page = this.ctx.errorPage(code, this.app, this.requestId, this.head.method === 'HEAD', true);
    this.bytesOut = page.length;
    this.record(503, routerError(code));
    this.refuse(page);
  }

  /** Cuts the client off mid-response (or before one, on a broken dyno), logging why. */
  protected cut(code: string, desc: string): void {
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

  /** Writes the exchange's router log line (none for a request that reached no app). */
  protected record(status: number, error?: { code: string; desc: string }): void {
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
    }, now);
  }
}
