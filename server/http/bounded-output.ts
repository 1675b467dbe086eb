/** How much output may wait for a slow reader before lines are dropped. */
export const MAX_PENDING_BYTES = 1024 * 1024;

/**
 * A line writer for a response that streams app output (a push's build, a release's phases) to a
 * client. App code can print far faster than a client reads; past `maxPending` bytes waiting, lines
 * are dropped and counted, and once the client catches up it is told how many, so a flood never
 * grows the server's memory. Returns the writer.
 */
export function boundedLines(res: NodeJS.WritableStream & { writableLength: number }, maxPending = MAX_PENDING_BYTES): (line: string) => void {
  let dropped = 0;
  return (line) => {
    if (res.writableLength > maxPending) {
      dropped++;
      return;
    }
    if (dropped) {
      res.write(` !     paas dropped ${dropped} line(s) of output here: they came faster than this connection could take them.\n`);
      dropped = 0;
    }
    res.write(`${line}\n`);
  };
}
