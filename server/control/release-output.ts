type Listener = (line: string | null) => void;

interface Stream {
  lines: string[];
  /** What `lines` holds, and how many lines past the cap were not kept. */
  bytes: number;
  dropped: number;
  done: boolean;
  listeners: Set<Listener>;
}

const KEEP_FINISHED = 200;
/** Kept per release for late readers: a release command that floods its output keeps its first 256 KiB. */
const KEEP_BYTES = 256 * 1024;

/**
 * The output of each release's phases (release command, dyno boot), kept in memory so the CLI that
 * caused a release can stream it from `output_stream_url`, from the start, even if it connects late.
 */
export class ReleaseOutputs {
  private readonly streams = new Map<number, Stream>();

  /** Starts recording a release's output; returns the function that appends a line. */
  open(releaseId: number): (line: string) => void {
    const stream: Stream = { lines: [], bytes: 0, dropped: 0, done: false, listeners: new Set() };
    this.streams.set(releaseId, stream);
    return (line) => {
      if (stream.bytes + line.length <= KEEP_BYTES) {
        stream.lines.push(line);
        stream.bytes += line.length;
      } else stream.dropped++;
      for (const l of stream.listeners) l(line);
    };
  }

  close(releaseId: number): void {
    const stream = this.streams.get(releaseId);
    if (!stream) return;
    stream.done = true;
    if (stream.dropped) stream.lines.push(` !     paas kept the first ${KEEP_BYTES / 1024} KiB of this output; ${stream.dropped} later line(s) were not kept.`);
    for (const l of stream.listeners) l(null);
    stream.listeners.clear();
    const finished = [...this.streams].filter(([, s]) => s.done);
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.streams.delete(id);
  }

  /** Whether this release's output is still in memory (it was made through the API, recently). */
  has(releaseId: number): boolean {
    return this.streams.has(releaseId);
  }

  /**
   * Replays what was written so far, then follows until the release finishes (`null`). Returns an
   * unsubscribe function, or undefined when nothing is kept for this release (it ended long ago).
   */
  follow(releaseId: number, listener: Listener): (() => void) | undefined {
    const stream = this.streams.get(releaseId);
    if (!stream) return undefined;
    for (const line of stream.lines) listener(line);
    if (stream.done) {
      listener(null);
      return () => undefined;
    }
    stream.listeners.add(listener);
    return () => stream.listeners.delete(listener);
  }
}
