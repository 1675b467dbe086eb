/**
 * One deploy at a time per app. A push, and later a config change, holds its app's lock from start
 * to finish; a second one is refused at once rather than queued or interleaved.
 */
export class AppLocks {
  private readonly held = new Set<string>();

  /** Returns the release function, or undefined when someone else holds the lock. */
  tryAcquire(app: string): (() => void) | undefined {
    if (this.held.has(app)) return undefined;
    this.held.add(app);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(app);
    };
  }

  isHeld(app: string): boolean {
    return this.held.has(app);
  }

  /** Resolves once no lock is held (or the timeout passes); used to drain on shutdown. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.held.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
}
