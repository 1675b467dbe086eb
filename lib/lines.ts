/** The longest line paas keeps of any app output, in bytes (Heroku's router and logplex cut near 10 KB too). */
export const MAX_LINE = 10_000;

const NL = 0x0a;
const CR = 0x0d;

/**
 * Calls `onLine` for every line of an app's output stream. Unlike readline, it never holds more
 * than `max` bytes of a line: a longer one is cut there and marked, and the rest of it is counted,
 * not kept, so a dyno printing one endless line cannot exhaust the server's memory.
 *
 * It splits bytes, not decoded text: each line is decoded once, into a string of its own (a slice of
 * a decoded chunk would pin the whole chunk while the history keeps the line), and a newline byte
 * never occurs inside a multi-byte UTF-8 character, so a character split across chunks is whole again.
 */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void, max = MAX_LINE): void {
  // The start of the current line, from earlier chunks (at most `max` bytes in all).
  let parts: Buffer[] = [];
  let held = 0;
  let dropped = 0;
  const emit = (last: Buffer): void => {
    let bytes = held ? Buffer.concat([...parts, last]) : last;
    if (bytes.length && bytes[bytes.length - 1] === CR && !dropped) bytes = bytes.subarray(0, -1);
    const text = bytes.toString('utf8');
    onLine(dropped ? `${text} [paas: line cut at ${max} bytes, ${dropped} more dropped]` : text);
    parts = [];
    held = 0;
    dropped = 0;
  };
  /** Keeps what fits of `piece` (a line's bytes without its newline) and counts the rest. */
  const keep = (piece: Buffer): Buffer => {
    const room = max - held;
    if (piece.length <= room) return piece;
    dropped += piece.length - Math.max(room, 0);
    return piece.subarray(0, Math.max(room, 0));
  };
  stream.on('data', (chunk: Buffer | string) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NL, start);
      if (nl < 0) {
        const rest = keep(buf.subarray(start));
        // Copied: a subarray would pin the whole chunk until the line ends.
        if (rest.length) {
          parts.push(Buffer.from(rest));
          held += rest.length;
        }
        return;
      }
      emit(keep(buf.subarray(start, nl)));
      start = nl + 1;
    }
  });
  stream.on('end', () => {
    if (held || dropped) emit(Buffer.alloc(0));
  });
}
