import fs from 'node:fs';
import path from 'node:path';
import type { LogLine } from './pipeline.js';

/**
 * The last `limit` lines of each app, in memory and on disk (`<data>/logs/<app>.jsonl`, one JSON
 * object per line), so `paas logs` after a restart or a deploy still shows what came before.
 * Bounded on disk too: the file is appended to in batches, and rewritten with only the last `limit`
 * lines once it holds twice that many.
 */
export class LogHistory {
  private readonly rings = new Map<string, LogLine[]>();
  /** Lines in each app's file, to know when to compact it. */
  private readonly fileLines = new Map<string, number>();
  private readonly pending = new Map<string, string>();
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string | undefined,
    readonly limit: number,
  ) {
    if (dir) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** The app's ring, loaded from its file the first time it is needed. */
  ring(app: string): LogLine[] {
    let ring = this.rings.get(app);
    if (!ring) {
      ring = this.load(app);
      this.rings.set(app, ring);
    }
    return ring;
  }

  add(app: string, line: LogLine): void {
    const ring = this.ring(app);
    ring.push(line);
    if (ring.length > this.limit) ring.splice(0, ring.length - this.limit);
    if (!this.dir) return;
    this.pending.set(app, (this.pending.get(app) ?? '') + `${JSON.stringify(line)}\n`);
    this.timer ??= setTimeout(() => void this.flush(), 100);
  }

  /** Writes what is pending; resolves once it is on disk (shutdown waits on it). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = [...this.pending];
    this.pending.clear();
    this.flushing = this.flushing.then(async () => {
      for (const [app, text] of batch) {
        if (!this.rings.has(app)) continue; // forgotten meanwhile
        const file = this.file(app);
        await fs.promises.appendFile(file, text, { mode: 0o600 });
        const lines = (this.fileLines.get(app) ?? 0) + countLines(text);
        this.fileLines.set(app, lines);
        if (lines >= 2 * this.limit) await this.compact(app);
      }
    });
    return this.flushing.catch((err: Error) => console.error(`paas: could not write the log history: ${err.message}`));
  }

  forget(app: string): void {
    this.rings.delete(app);
    this.pending.delete(app);
    this.fileLines.delete(app);
    if (this.dir) fs.rmSync(this.file(app), { force: true });
  }

  private async compact(app: string): Promise<void> {
    const ring = this.rings.get(app) ?? [];
    const file = this.file(app);
    const tmp = `${file}.tmp`;
    await fs.promises.writeFile(tmp, ring.map((l) => `${JSON.stringify(l)}\n`).join(''), { mode: 0o600 });
    await fs.promises.rename(tmp, file);
    this.fileLines.set(app, ring.length);
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

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
