type Listener = (line: string | null) => void;

interface Stream {
  lines: string[];
  done: boolean;
  listeners: Set<Listener>;
}

const KEEP_FINISHED = 200;

/**
 * The output of each release's phases (release command, dyno boot), kept in memory so the CLI that
 * caused a release can stream it from `output_stream_url`, from the start, even if it connects late.
 */
export class ReleaseOutputs {
  private readonly streams = new Map<number, Stream>();

  /** Starts recording a release's output; returns the function that appends a line. */
  open(releaseId: number): (line: string) => void {
    const stream: Stream = { lines: [], done: false, listeners: new Set() };
    this.streams.set(releaseId, stream);
    return (line) => {
      stream.lines.push(line);
      for (const l of stream.listeners) l(line);
    };
  }

  close(releaseId: number): void {
    const stream = this.streams.get(releaseId);
    if (!stream) return;
    stream.done = true;
    for (const l of stream.listeners) l(null);
    stream.listeners.clear();
    const finished = [...this.streams].filter(([, s]) => s.done);
    for (const [id] of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.streams.delete(id);
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
