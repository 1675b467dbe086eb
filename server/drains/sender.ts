import type { LogEvent } from '../logs/pipeline.js';
import type { Subscription } from '../logs/subscription.js';
import type { Transport } from './transports.js';

export interface SenderOptions {
  /** Most lines per batch (a POST, a write). */
  maxBatch: number;
  /** Most bytes of lines per batch, roughly (at least one line goes, however long). */
  maxBatchBytes?: number;
  /** How long the first line of a batch waits for more before it goes (0: at once). */
  lingerMs: number;
  /** Backoff after a failed batch: doubles from `minBackoffMs` up to `maxBackoffMs`. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** The server's log: failures and recoveries, once each, never into the app's own stream. */
  log: (line: string) => void;
}

/**
 * Delivers one drain's subscription. It holds at most one taken batch at a time; while a batch is
 * retried, new lines wait in the subscription, which drops beyond its bound and reports the loss as
 * an L10 line in a later batch. So a dead drain costs a bounded queue and nothing else: appending
 * never waits on it, and no other consumer shares its queue or its connection.
 */
export class DrainSender {
  private buffer: LogEvent[] = [];
  private wake: (() => void) | undefined;
  private stopping = false;
  private deadline = Infinity;
  private failing = false;
  private readonly sub: Subscription;
  private readonly done: Promise<void>;

  constructor(
    readonly name: string,
    /** Subscribes to the app's lines with the `ready` given: the sender owns the subscription. */
    subscribe: (ready: () => void) => Subscription,
    private readonly transport: Transport,
    private readonly opts: SenderOptions,
  ) {
    this.sub = subscribe(() => this.poke());
    // run() handles delivery failures itself; anything else is a bug, logged rather than left to crash the server.
    this.done = this.run().catch((err: unknown) => opts.log(`Log drain ${name} stopped: ${String(err)}`));
  }

  /**
   * Stops taking lines; sends what is queued for at most `flushMs` (0: nothing more), then lets go of
   * the connection and the subscription.
   */
  async stop(flushMs: number): Promise<void> {
    this.stopping = true;
    this.deadline = Date.now() + flushMs;
    const timer = setTimeout(() => this.transport.close(), flushMs);
    this.poke();
    await this.done;
    clearTimeout(timer);
    this.transport.close();
    this.sub.close();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.poke(), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    for (;;) {
      if (!this.buffer.length) {
        if (!this.sub.pending) {
          if (this.stopping) return;
          // Until the subscription has lines (ready) or stop: no timer while a drain is idle.
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        // Lines keep coming for a moment: one request for them, not one each.
        if (!this.stopping && this.opts.lingerMs && this.sub.pending < this.opts.maxBatch) await this.lingerFor(this.opts.lingerMs);
        this.buffer = this.sub.take();
      }
      if (this.stopping && Date.now() >= this.deadline) return;
      const batch = this.buffer.slice(0, this.batchSize());
      if (!(await this.deliver(batch))) return;
      this.buffer = this.buffer.slice(batch.length);
    }
  }

  /** How many of the buffer's lines the next batch takes: up to maxBatch, and maxBatchBytes of them. */
  private batchSize(): number {
    const max = Math.min(this.buffer.length, this.opts.maxBatch);
    const maxBytes = this.opts.maxBatchBytes ?? Infinity;
    let bytes = 0;
    for (let n = 0; n < max; n++) {
      // The line and its syslog header (time, host, source: about 100 bytes).
      bytes += this.buffer[n].line.length + 100;
      if (bytes > maxBytes) return Math.max(1, n);
    }
    return max;
  }

  /** Waits `ms`, or less once a full batch waits or the sender stops. */
  private async lingerFor(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && this.sub.pending < this.opts.maxBatch && Date.now() < until) await this.sleep(Math.min(50, until - Date.now()));
  }

  /** Sends a batch until it gets there; false when the sender stopped before it could. */
  private async deliver(batch: LogEvent[]): Promise<boolean> {
    let backoff = this.opts.minBackoffMs;
    for (;;) {
      try {
        await this.transport.send(batch);
        if (this.failing) this.opts.log(`Log drain ${this.name}: delivering again`);
        this.failing = false;
        return true;
      } catch (err) {
        if (!this.failing) this.opts.log(`Log drain ${this.name}: could not deliver (${(err as Error).message}); retrying with backoff, lines beyond the queue are dropped (L10)`);
        this.failing = true;
      }
      if (this.stopping) return false;
      await this.sleep(backoff);
      if (this.stopping) return false;
      backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
    }
  }
}
