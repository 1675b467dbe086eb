import fs from 'node:fs';
import path from 'node:path';
import type { LogLine } from './line.js';

/**
 * The last `limit` lines of each app, in memory and on disk (`<data>/logs/<app>.jsonl`, one JSON
 * object per line), so `paas logs` after a restart or a deploy still shows what came before.
 * Bounded on disk too: the file is appended to in batches, and rewritten with only the last `limit`
 * lines once it holds twice that many.
 */
export class LogHistory {
  // Each app's lines, oldest first. A ring may hold up to twice `limit` before it is cut back, so
  // adding a line costs O(1) amortised: cutting at every line cost a copy of the whole ring each,
  // which a dyno printing 50,000 lines a second turned into most of the control plane's CPU.
  private readonly rings = new Map<string, LogLine[]>();
  /** Lines in each app's file, to know when to compact it. */
  private readonly fileLines = new Map<string, number>();
  /** Lines added to each app since its last write to disk (the newest of its ring). */
  private readonly pending = new Map<string, number>();
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string | undefined,
    readonly limit: number,
  ) {
    if (dir) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** The app's last `n` lines (at most `limit`), oldest first, loaded from its file the first time. */
  last(app: string, n: number): LogLine[] {
    const ring = this.ring(app);
    return n <= 0 ? [] : ring.slice(-Math.min(n, this.limit));
  }

  add(app: string, line: LogLine): void {
    const ring = this.ring(app);
    ring.push(line);
    if (ring.length >= 2 * this.limit) ring.splice(0, ring.length - this.limit);
    if (!this.dir) return;
    this.pending.set(app, (this.pending.get(app) ?? 0) + 1);
    this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  /** Writes what is pending; resolves once it is on disk (shutdown waits on it). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // Serialised now, while the rings hold them: only the last `limit` of a burst can matter.
    const batch: [string, string, boolean][] = [];
    for (const [app, n] of this.pending) {
      const ring = this.rings.get(app);
      if (!ring) continue; // forgotten meanwhile
      const fresh = Math.min(n, this.limit);
      const lines = (this.fileLines.get(app) ?? 0) + fresh;
      // A file that would pass twice the limit is rewritten whole, with one write instead of two.
      const rewrite = lines >= 2 * this.limit;
      batch.push([app, serialise(rewrite ? this.last(app, this.limit) : ring.slice(-fresh)), rewrite]);
      this.fileLines.set(app, rewrite ? Math.min(ring.length, this.limit) : lines);
    }
    this.pending.clear();
    // The chain never rejects: one failed write (ENOSPC) must not end every write after it.
    this.flushing = this.flushing.then(async () => {
      for (const [app, text, rewrite] of batch) {
        if (!this.rings.has(app)) continue; // forgotten meanwhile
        try {
          await this.write(app, text, rewrite);
        } catch (err) {
          // Not on disk: the app's next flush rewrites its file whole from the ring, these lines included.
          this.fileLines.set(app, 2 * this.limit);
          console.error(`paas: could not write the log history of ${app} (${(err as Error).message}); its next line tries again`);
        }
      }
    });
    return this.flushing;
  }

  private async write(app: string, text: string, rewrite: boolean): Promise<void> {
    const file = this.file(app);
    if (!rewrite) return fs.promises.appendFile(file, text, { mode: 0o600 });
    const tmp = `${file}.tmp`;
    await fs.promises.writeFile(tmp, text, { mode: 0o600 });
    await fs.promises.rename(tmp, file);
  }

  forget(app: string): void {
    this.rings.delete(app);
    this.pending.delete(app);
    this.fileLines.delete(app);
    if (this.dir) fs.rmSync(this.file(app), { force: true });
  }

  private ring(app: string): LogLine[] {
    let ring = this.rings.get(app);
    if (!ring) {
      ring = this.load(app);
      this.rings.set(app, ring);
    }
    return ring;
  }

  private load(app: string): LogLine[] {
    if (!this.dir) return [];
    let text: string;
    try {
      text = fs.readFileSync(this.file(app), 'utf8');
    } catch {
      return [];
    }
    const lines: LogLine[] = [];
    for (const row of text.split('\n')) {
      if (!row) continue;
      try {
        const l = JSON.parse(row) as LogLine;
        if (typeof l.time === 'string' && typeof l.source === 'string' && typeof l.line === 'string') lines.push(l);
      } catch {
        // A line cut short by a crash mid-write: the rest of the history still counts.
      }
    }
    this.fileLines.set(app, lines.length);
    return lines.slice(-this.limit);
  }

  private file(app: string): string {
    return path.join(this.dir!, `${app}.jsonl`);
  }
}

function serialise(lines: readonly LogLine[]): string {
  let text = '';
  for (const l of lines) text += `${JSON.stringify({ time: l.time, source: l.source, line: l.line })}\n`;
  return text;
}
