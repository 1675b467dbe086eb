import { ChunkedScanner } from './chunked.js';
import type { Framing } from './head.js';

/**
 * A body in flight: how many bytes of a Content-Length are left, or a chunk scanner. The router
 * passes bodies through as bytes and tracks their framing only to know where each message ends.
 */
export class Body {
  left: number;
  readonly chunks: ChunkedScanner | undefined;
  done: boolean;

  constructor(framing: Framing) {
    this.left = framing.kind === 'length' ? framing.length : 0;
    this.chunks = framing.kind === 'chunked' ? new ChunkedScanner() : undefined;
    this.done = framing.kind === 'none';
  }

  /**
   * How many bytes of `buf` (from `start`) belong to the body; sets `done` when it ends there. A
   * close-delimited body takes everything. Throws ChunkedError on a malformed chunked body.
   */
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
