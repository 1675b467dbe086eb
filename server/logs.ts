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
    const entry = { time: new Date().toISOString(), source, line };
    let buf = this.buffers.get(app);
    if (!buf) this.buffers.set(app, (buf = []));
    buf.push(entry);
    if (buf.length > KEEP) buf.splice(0, buf.length - KEEP);
    this.out(`${entry.time} ${app} ${source}: ${line}\n`);
  }

  recent(app: string, n: number): LogLine[] {
    return (this.buffers.get(app) ?? []).slice(-n);
  }

  forget(app: string): void {
    this.buffers.delete(app);
  }
}
