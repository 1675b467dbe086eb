import net from 'node:net';

/** A dyno address. */
export interface Address {
  host: string;
  port: number;
}

/** What an upstream connection reports to whoever is using it. */
export interface UpstreamUser {
  onUpstreamConnect(): void;
  /**
   * Bytes from the dyno. `chunk` is a view of the pool's read buffer, valid only during this call:
   * whatever is kept or written on must be copied (see UpstreamPool's readBuffer).
   */
  onUpstreamData(chunk: Buffer): void;
  /** The connection ended or failed; `code` is the socket error's, if there was one. */
  onUpstreamClose(code: string | undefined): void;
  onUpstreamDrain(): void;
}

/** Each address's key (`host:port`), made once per target object (the route table keeps them), not per request. */
const keys = new WeakMap<Address, string>();
export function keyOf(a: Address): string {
  let key = keys.get(a);
  if (key === undefined) keys.set(a, (key = `${a.host}:${a.port}`));
  return key;
}

/**
 * One connection to a dyno. Its listeners are set once and pass events to the current user, so a
 * pooled connection changes hands without adding or removing listeners on every request.
 */
export class Upstream {
  user: UpstreamUser | undefined;
  connected = false;
  /** When it went idle in the pool. */
  idleSince = 0;
  private code: string | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly key: string,
  ) {
    socket.on('connect', () => {
      this.connected = true;
      this.user?.onUpstreamConnect();
    });
    socket.on('drain', () => this.user?.onUpstreamDrain());
    socket.on('error', (err: NodeJS.ErrnoException) => (this.code ??= err.code ?? 'ERROR'));
    socket.on('close', () => {
      const user = this.user;
      this.user = undefined;
      user?.onUpstreamClose(this.code);
    });
  }

  /** A read from the dyno (the socket's onread callback). */
  received(chunk: Buffer): void {
    if (this.user) this.user.onUpstreamData(chunk);
    else this.socket.destroy(); // a dyno talking on an idle connection is out of step with us
  }

  get alive(): boolean {
    return !this.socket.destroyed && this.socket.readyState === 'open';
  }
}

/**
 * Keep-alive connections to dynos, and what is in flight to each: what draining a dyno waits for,
 * and what it then closes.
 *
 * Why drain: a dyno that leaves the routes may still have requests the router sent it just before,
 * and an app that stops with `server.close()` waits for every open connection, so the idle ones the
 * router keeps would hold its stop for the app's keep-alive timeout. So: the dyno leaves the routes,
 * its requests in flight finish, the router closes its connections to it, and only then does it get
 * SIGTERM, with nothing left to wait for.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, Upstream[]>();
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Targets being drained: their connections close as they come back instead of being pooled. */
  private readonly draining = new Set<string>();
  /**
   * Where every dyno connection of this pool reads into (the socket's `onread`): one buffer,
   * reused, where each read would otherwise get a new 64 KiB one from Node and go through the
   * stream's push and 'data' event; the router copies the bytes it sends on anyway (exchange.ts),
   * as it cannot know when a client's socket is done with them (a TLS write completes later).
   */
  private readonly readBuffer = Buffer.allocUnsafe(64 * 1024);

  /** `idleMs`: an unused connection is closed after this long, before a dyno's own keep-alive timeout (Node's is 5 s) can race a request. */
  constructor(private readonly idleMs: number) {}

  /** A pooled connection to `target` (reused: true), or a new one when none is idle or `fresh` is asked. */
  acquire(target: Address, user: UpstreamUser, fresh = false): { upstream: Upstream; reused: boolean } {
    const key = keyOf(target);
    const list = fresh ? undefined : this.idle.get(key);
    while (list?.length) {
      const upstream = list.pop()!;
      if (!upstream.alive) continue;
      upstream.user = user;
      return { upstream, reused: true };
    }
    const onread = {
      buffer: this.readBuffer,
      callback: (n: number, buf: Uint8Array) => {
        upstream.received((buf as Buffer).subarray(0, n));
        return true; // false would stop reading: pausing is the exchange's (socket.pause)
      },
    };
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true, onread });
    const upstream = new Upstream(socket, key);
    upstream.user = user;
    return { upstream, reused: false };
  }

  /** Takes back a connection whose exchange ended cleanly; closes it when its dyno is draining. */
  release(upstream: Upstream): void {
    upstream.user = undefined;
    if (!upstream.alive || this.draining.has(upstream.key)) return void upstream.socket.destroy();
    upstream.idleSince = Date.now();
    // Paused by its last exchange (a slow client), it would neither notice the dyno's close nor
    // ever read the next user's response: an idle connection always reads.
    if (upstream.socket.isPaused()) upstream.socket.resume();
    const list = this.idle.get(upstream.key);
    if (list) list.push(upstream);
    else this.idle.set(upstream.key, [upstream]);
  }

  /** Counts one attempt at a request to `target`; the function it returns ends it (once). */
  begin(target: Address): () => void {
    const key = keyOf(target);
    // Sent to again: the dyno is routed again, or its port is a new dyno's.
    this.draining.delete(key);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) return void this.counts.set(key, left);
      this.counts.delete(key);
      const waiting = this.waiters.get(key);
      this.waiters.delete(key);
      for (const done of waiting ?? []) done();
    };
  }

  /**
   * Waits until nothing is in flight to `target` (a dyno already out of the routes), for at most
   * `timeoutMs`, and closes the idle connections to it; busy ones close as they come back.
   * Resolves with the number of requests still in flight (0 unless it timed out).
   */
  async drain(target: Address, timeoutMs: number): Promise<number> {
    const key = keyOf(target);
    this.draining.add(key);
    if (this.counts.get(key)) {
      await new Promise<void>((resolve) => {
        const waiting = this.waiters.get(key) ?? new Set();
        this.waiters.set(key, waiting);
        const done = () => {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiting.add(done);
      });
    }
    for (const upstream of this.idle.get(key) ?? []) upstream.socket.destroy();
    this.idle.delete(key);
    return this.counts.get(key) ?? 0;
  }

  /** Closes connections idle for longer than idleMs. */
  sweep(now: number): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((u) => u.alive && now - u.idleSince < this.idleMs);
      for (const u of list) if (!keep.includes(u)) u.socket.destroy();
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }

  close(): void {
    for (const list of this.idle.values()) for (const u of list) u.socket.destroy();
    this.idle.clear();
  }
}
