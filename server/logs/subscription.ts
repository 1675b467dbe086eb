import type { LogEvent } from './line.js';

/**
 * One consumer of an app's log stream (a tail, a drain): a bounded queue between the pipeline, which
 * never waits, and the consumer, which takes lines as fast as it can send them. A consumer that
 * falls behind loses lines instead of slowing a dyno or growing memory; the loss is reported in the
 * stream as Heroku's L10 line, with how many were dropped and since when.
 */
export class Subscription {
  private queue: LogEvent[] = [];
  private dropped = 0;
  private droppedSince = '';
  private closed = false;
  private readonly half: number;

  constructor(
    readonly app: string,
    private readonly maxQueue: number,
    /**
     * Called when the queue goes from empty to not: the consumer should come and `take` (on its next
     * turn, so a burst goes out as one batch). Called again, `urgent`, when the queue is half full:
     * a burst that large arrives within one turn of the event loop (a socket is read up to 32 times
     * a turn), and a consumer that can take it now should, before the queue overflows.
     */
    private readonly ready: (urgent: boolean) => void,
    private readonly onClose: (sub: Subscription) => void,
  ) {
    this.half = Math.max(2, Math.floor(maxQueue / 2));
  }

  /** Called by the pipeline for every event of the app; never blocks. */
  push(event: LogEvent): void {
    if (this.closed) return;
    if (this.queue.length >= this.maxQueue) {
      if (this.dropped === 0) this.droppedSince = event.time;
      this.dropped++;
      return;
    }
    this.queue.push(event);
    if (this.queue.length === 1) this.ready(false);
    else if (this.queue.length === this.half) this.ready(true);
  }

  /** Everything queued, oldest first, with an L10 line first if lines were dropped since the last take. */
  take(): LogEvent[] {
    const out = this.queue;
    this.queue = [];
    if (this.dropped > 0) {
      const notice: LogEvent = {
        app: this.app,
        time: out[0]?.time ?? this.droppedSince,
        source: 'paas[logplex]',
        line: `Error L10 (output buffer overflow): ${this.dropped} messages dropped since ${this.droppedSince}.`,
      };
      this.dropped = 0;
      out.unshift(notice);
    }
    return out;
  }

  get pending(): number {
    return this.queue.length + (this.dropped > 0 ? 1 : 0);
  }

  /** Whether it has ended: closed by its consumer, or by the pipeline when the app went away. */
  get ended(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this);
  }

  /** Ends it from the pipeline's side (the app was destroyed), telling the consumer through `ready`. */
  end(): void {
    if (this.closed) return;
    this.close();
    this.ready(false);
  }
}
