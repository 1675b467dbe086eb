import fs from 'node:fs';

/** What each build's or release phase's output keeps on disk: its first and its last 256 KiB. */
export const HEAD_BYTES = 256 * 1024;
export const TAIL_BYTES = 256 * 1024;

const tailFile = (file: string) => `${file}.tail`;

const size = (bytes: number) => (bytes >= 1024 ? `${Math.round(bytes / 1024)} KiB` : `${bytes} bytes`);

function cutNote(headBytes: number, tailBytes: number, cut: number | undefined): string {
  const what = cut === undefined ? 'the lines in between were' : `${cut} line(s) in between were`;
  return ` !     paas kept the first ${size(headBytes)} and the last ${size(tailBytes)} of this output; ${what} not kept.`;
}

/**
 * Writes an output to `file` as it streams, bounded: the first `headBytes` go to the file itself,
 * the rest to `<file>.tail`, which is rewritten with only the last `tailBytes` once it holds twice
 * that. Lines are appended in batches every 100 ms, so a server killed mid-build leaves what the
 * build had printed (readOutput joins the two files); `close` merges them into one.
 */
export class OutputFile {
  private headWritten = 0;
  private readonly tail: string[] = [];
  private tailBytes = 0;
  private tailFileBytes = 0;
  private cut = 0;
  private pendingHead = '';
  private pendingTail = '';
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly bounds = { headBytes: HEAD_BYTES, tailBytes: TAIL_BYTES },
  ) {}

  /** Adds one line (without its newline); a line that comes after `close` is not kept. */
  write(line: string): void {
    // A late progress line must not start a tail beside a file already merged.
    if (this.closed) return;
    const text = `${line}\n`;
    const size = Buffer.byteLength(text);
    if (!this.tail.length && this.headWritten + size <= this.bounds.headBytes) {
      this.headWritten += size;
      this.pendingHead += text;
    } else {
      this.tail.push(text);
      this.tailBytes += size;
      // The newest line always stays, however long it is.
      while (this.tailBytes > this.bounds.tailBytes && this.tail.length > 1) {
        this.tailBytes -= Buffer.byteLength(this.tail.shift()!);
        this.cut++;
      }
      this.pendingTail += text;
    }
    this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  /** Writes what is pending and merges the tail into the file; resolves once all of it is on disk. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.queue(async () => {
      if (!this.tail.length) return;
      const note = this.cut ? `${cutNote(this.bounds.headBytes, this.bounds.tailBytes, this.cut)}\n` : '';
      await fs.promises.appendFile(this.file, note + this.tail.join(''), { mode: 0o600 });
      await fs.promises.rm(tailFile(this.file), { force: true });
    });
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const head = this.pendingHead;
    const tail = this.pendingTail;
    this.pendingHead = this.pendingTail = '';
    return this.queue(async () => {
      // The file exists from the first flush on, so an output with no line yet still reads as empty.
      await fs.promises.appendFile(this.file, head, { mode: 0o600 });
      if (!tail) return;
      this.tailFileBytes += Buffer.byteLength(tail);
      if (this.tailFileBytes < 2 * this.bounds.tailBytes) {
        await fs.promises.appendFile(tailFile(this.file), tail, { mode: 0o600 });
        return;
      }
      // Says what was cut, for a reader of a server that never gets to close this output.
      const text = `${cutNote(this.bounds.headBytes, this.bounds.tailBytes, this.cut)}\n${this.tail.join('')}`;
      const tmp = `${tailFile(this.file)}.tmp`;
      await fs.promises.writeFile(tmp, text, { mode: 0o600 });
      await fs.promises.rename(tmp, tailFile(this.file));
      this.tailFileBytes = Buffer.byteLength(text);
    });
  }

  /** Runs writes one after another; a failing disk loses the output, never the build. */
  private queue(write: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(async () => {
      if (this.failed) return;
      try {
        await write();
      } catch (err) {
        this.failed = true;
        console.error(`paas: could not keep output in ${this.file}: ${(err as Error).message}`);
      }
    });
    return this.writing;
  }
}

/**
 * The output kept in `file`, or undefined when there is none. A tail file left beside it (the
 * server stopped before the output was closed) is joined on, cut to its last `tailBytes`.
 */
export async function readOutput(file: string, bounds = { headBytes: HEAD_BYTES, tailBytes: TAIL_BYTES }): Promise<string | undefined> {
  let head: string;
  try {
    head = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let tail: Buffer;
  try {
    tail = await fs.promises.readFile(tailFile(file));
  } catch {
    return head;
  }
  if (tail.length <= bounds.tailBytes) return head + tail.toString('utf8');
  // Start at a line after the cut, so no line is shown half.
  const start = tail.indexOf(10, tail.length - bounds.tailBytes) + 1;
  return `${head}${cutNote(bounds.headBytes, bounds.tailBytes, undefined)}\n${tail.subarray(start).toString('utf8')}`;
}
