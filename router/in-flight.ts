import type http from 'node:http';
import type { Socket } from 'node:net';
type Target = { host: string; port: number };

const keyOf = (t: Target): string => `${t.host}:${t.port}`;

/**
 * What the router has in flight to each dyno, and the idle keep-alive connections it holds to them:
 * what draining a dyno waits for, and what it then closes.
 *
 * Why: a dyno that leaves the routes may still have requests the router sent it just before; a
 * SIGTERM now would have a well-behaved app stop accepting (fine) but an app that exits at once cut
 * them off, and a request written on a keep-alive connection the dyno is closing as idle is lost
 * (a POST with a body cannot be sent again). And an app that drains with `server.close()` waits
 * for every open connection, so the idle ones the router keeps in its pool held each stop for the
 * app's keep-alive timeout (5 s in Node, often 60 s or more behind load balancers), past the grace
 * period into SIGKILL for some. So: the dyno leaves the routes, its requests in flight finish, the
 * router closes its connections to it, and only then does it get SIGTERM, with nothing left to wait for.
 */
export class InFlight {
  private readonly counts = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Targets being drained whose requests have not all finished: their connections close as they go idle. */
  private readonly draining = new Set<string>();
  /** Which dyno each connection of the pool leads to. */
  private readonly targetOf = new WeakMap<Socket, string>();

  constructor(private readonly agent: http.Agent) {
    // The agent's own listener (registered first) has pooled the socket, or handed it to a queued request.
    agent.on('free', (socket: Socket) => {
      const key = this.targetOf.get(socket);
      if (key !== undefined && this.draining.has(key) && this.isIdle(socket)) socket.destroy();
    });
  }

  /** Counts one attempt at a request to `target`; the function it returns ends it (once, however often called). */
  begin(target: Target): () => void {
    const key = keyOf(target);
    // Sent to again: the dyno is routed again (the traffic handed back to it), or its port is a new dyno's.
    this.draining.delete(key);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.counts.get(key) ?? 1) - 1;
      if (left > 0) return void this.counts.set(key, left);
      this.counts.delete(key);
      if (this.draining.delete(key)) this.closeIdle(key);
      const waiting = this.waiters.get(key);
      this.waiters.delete(key);
      for (const done of waiting ?? []) done();
    };
  }

  /** Records the pooled connection an attempt to `target` went out on. */
  sentOn(target: Target, socket: Socket): void {
    this.targetOf.set(socket, keyOf(target));
  }

  /**
   * Waits until no request is in flight to `target` (a dyno already out of the routes), for at most
   * `timeoutMs`, and closes the router's idle connections to it; ones still busy then close as their
   * requests end. Resolves with the number of requests still in flight (0 unless it timed out).
   */
  async drain(target: Target, timeoutMs: number): Promise<number> {
    const key = keyOf(target);
    if (this.counts.get(key)) {
      this.draining.add(key);
      await new Promise<void>((resolve) => {
        const waiting = this.waiters.get(key) ?? new Set();
        this.waiters.set(key, waiting);
        const done = () => {
          clearTimeout(timer);
          waiting.delete(done);
          if (waiting.size === 0 && this.waiters.get(key) === waiting) this.waiters.delete(key);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiting.add(done);
      });
    }
    this.closeIdle(key);
    return this.counts.get(key) ?? 0;
  }

  private isIdle(socket: Socket): boolean {
    return Object.values(this.agent.freeSockets).some((list) => list?.includes(socket));
  }

  private closeIdle(key: string): void {
    for (const list of Object.values(this.agent.freeSockets)) {
      for (const socket of [...(list ?? [])]) if (this.targetOf.get(socket) === key) socket.destroy();
    }
  }
}
