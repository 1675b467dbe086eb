/**
 * One release at a time per app. A push takes the lock with tryAcquire and is refused at once when
 * it is held ("deploy in progress"); config changes and rollbacks queue with acquire and run in
 * arrival order, so concurrent changes each build on the one before and none is lost.
 */
export class AppLocks {
  /** Each held app's lock, with what holds it ("a deploy", "paas gc"), for the refusal of a push. */
  private readonly held = new Map<string, string>();
  private readonly waiters = new Map<string, { resolve: () => void; what: string }[]>();
  private readonly idleWaiters = new Set<() => void>();

  private releaser(app: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const queue = this.waiters.get(app);
      const next = queue?.shift();
      if (queue?.length === 0) this.waiters.delete(app);
      // Hand the lock straight to the next waiter, so a tryAcquire cannot slip in between.
      if (next) {
        this.held.set(app, next.what);
        return next.resolve();
      }
      this.held.delete(app);
      if (this.held.size === 0) for (const idle of [...this.idleWaiters]) idle();
    };
  }

  /** Returns the release function, or undefined when the lock is held. `what` names the holder. */
  tryAcquire(app: string, what = 'a deploy'): (() => void) | undefined {
    if (this.held.has(app)) return undefined;
    this.held.set(app, what);
    return this.releaser(app);
  }

  /** Waits for the lock; resolves with its release function. `what` names the holder. */
  async acquire(app: string, what = 'a change'): Promise<() => void> {
    const free = this.tryAcquire(app, what);
    if (free) return free;
    await new Promise<void>((resolve) => {
      const queue = this.waiters.get(app) ?? [];
      queue.push({ resolve, what });
      this.waiters.set(app, queue);
    });
    return this.releaser(app);
  }

  /** What holds the app's lock now, if anything ("a deploy", "a config change", "paas gc"…). */
  holder(app: string): string | undefined {
    return this.held.get(app);
  }

  /** Resolves true once no lock is held, or false when `timeoutMs` passes first; used to drain on shutdown. */
  drain(timeoutMs: number): Promise<boolean> {
    if (this.held.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters.delete(onIdle);
        resolve(idle);
      };
      const onIdle = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.idleWaiters.add(onIdle);
    });
  }

  /** How many apps have a deploy, config change or rollback in flight. */
  get busy(): number {
    return this.held.size;
  }
}
