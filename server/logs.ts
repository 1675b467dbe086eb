/** One line of an app's log stream, Heroku style: `2026-11-22T05:45:25.123Z app[web.1]: hello`. */
export interface LogLine {
  time: string;
  source: string;
  line: string;
}

const KEEP = 1500;

/**
 * Keeps the recent log lines of each app in memory (for `paas logs`) and writes every line to our
 * stdout, where the platform's own log stream goes (twelve-factor XI).
 */
export class AppLogs {
  private readonly buffers = new Map<string, LogLine[]>();

  constructor(private readonly out: (text: string) => void = (t) => process.stdout.write(t)) {}

  append(app: string, source: string, line: string): void {
    this.out(this.keep(app, { time: new Date().toISOString(), source, line }));
  }

  /**
   * Appends many lines of one source at once (a router's batch), each at its own time (ms since
   * the epoch) or now, with one write to stdout: thousands of router lines a second would otherwise
   * cost a write each.
   */
  appendAll(source: string, entries: readonly { app: string; line: string; time?: number }[]): void {
    if (!entries.length) return;
    const now = Date.now();
    let text = '';
    for (const e of entries) text += this.keep(e.app, { time: new Date(e.time ?? now).toISOString(), source, line: e.line });
    this.out(text);
  }

  private keep(app: string, entry: LogLine): string {
    let buf = this.buffers.get(app);
    if (!buf) this.buffers.set(app, (buf = []));
    buf.push(entry);
    if (buf.length > KEEP) buf.splice(0, buf.length - KEEP);
    return `${entry.time} ${app} ${entry.source}: ${entry.line}\n`;
  }

  recent(app: string, n: number): LogLine[] {
    return (this.buffers.get(app) ?? []).slice(-n);
  }

  forget(app: string): void {
    this.buffers.delete(app);
  }
}
