/** The longest line paas keeps of any app output (Heroku's router and logplex cut near 10 KB too). */
export const MAX_LINE = 10_000;

/**
 * Calls `onLine` for every line of an app's output stream. Unlike readline, it never holds more
 * than `max` characters of a line: a longer one is cut there and marked, and the rest of it is
 * counted, not kept, so a dyno printing one endless line cannot exhaust the server's memory.
 */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void, max = MAX_LINE): void {
  let line = '';
  let dropped = 0;
  const emit = () => {
    // A copy, not a slice: a kept slice would pin the whole chunk it came from (up to 64 KiB).
    const text = Buffer.from(line.endsWith('\r') ? line.slice(0, -1) : line, 'utf8').toString('utf8');
    onLine(dropped ? `${text} [paas: line cut at ${max} characters, ${dropped} more dropped]` : text);
    line = '';
    dropped = 0;
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const end = nl < 0 ? chunk.length : nl;
      const room = dropped ? 0 : max - line.length;
      line += chunk.slice(start, start + Math.min(room, end - start));
      dropped += Math.max(0, end - start - room);
      if (nl < 0) return;
      emit();
      start = nl + 1;
    }
  });
  stream.on('end', () => {
    if (line || dropped) emit();
  });
}
