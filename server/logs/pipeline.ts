import { escapeControls } from '../../lib/control-chars.js';
import { LogHistory } from './history.js';
import { Subscription } from './subscription.js';
import type { LogEvent, LogLine } from './line.js';
import { nowMicros, rfc3339Micros } from './time.js';

export type { LogEvent, LogLine } from './line.js';

export interface AppLogsOptions {
  /** Where each app's history is kept on disk; none keeps it in memory only (tests). */
  dir?: string;
  /** Lines kept per app (PAAS_LOG_HISTORY). */
  limit?: number;
  out?: (text: string) => void;
  /** Bytes written to `out` and not yet taken by its reader (process.stdout's writableLength). */
  outBacklog?: () => number;
}

/**
 * Our stdout is a pipe, written asynchronously: a reader slower than a flooding dyno (a terminal,
 * `| tee`, a throttled journal) would make its backlog grow in our memory without bound. Past this
 * many bytes waiting, lines are not written to stdout (they still reach the history, tails and
 * drains) until it drains, and then a line says how many were left out.
 */
const MAX_OUT_BACKLOG = 8 * 1024 * 1024;

/**
 * The one log pipeline (design: "one path per kind of event"). Every line of an app, from its
 * dynos, the platform and the router, gets a time and a source here and goes to every consumer:
 * our stdout (twelve-factor XI), the app's history, and each subscription (live tails, drains).
 * Appending never waits on a consumer.
 */
export class AppLogs {
  private readonly history: LogHistory;
  private readonly subs = new Map<string, Set<Subscription>>();
  private readonly platformWatchers = new Set<(event: LogEvent) => void>();
  private readonly out: (text: string) => void;
  private readonly outBacklog: () => number;
  private pendingOut = '';
  private skippedOut = 0;
  private outScheduled = false;

  constructor(opts: AppLogsOptions = {}) {
    this.history = new LogHistory(opts.dir, opts.limit ?? 1500);
    this.out = opts.out ?? ((t) => process.stdout.write(t));
    this.outBacklog = opts.outBacklog ?? (opts.out ? () => 0 : () => process.stdout.writableLength);
  }

  get limit(): number {
    return this.history.limit;
  }

  append(app: string, source: string, line: string): void {
    this.write(this.keep({ app, time: rfc3339Micros(nowMicros()), source, line }));
  }

  /**
   * Appends many lines of one source at once (a router's batch), each at its own time (ms since
   * the epoch) or now, with one write to stdout: thousands of router lines a second would otherwise
   * cost a write each. `terminalSafe`: the caller found no control character in any line (one scan
   * of a whole router batch), so stdout takes them as they are.
   */
  appendAll(source: string, entries: readonly { app: string; line: string; time?: number }[], terminalSafe = false): void {
    if (!entries.length) return;
    const now = nowMicros();
    let text = '';
    for (const e of entries) text += this.keep({ app: e.app, time: rfc3339Micros(e.time === undefined ? now : e.time * 1000), source, line: e.line }, terminalSafe);
    this.write(text);
  }

  /** The app's last `n` lines, from the history (which survives restarts). */
  recent(app: string, n: number): LogLine[] {
    return this.history.last(app, n).map((l) => ({ time: l.time, source: l.source, line: l.line }));
  }

  /**
   * A live consumer of the app's lines from now on: `ready` is called when lines wait to be taken
   * (`urgent` when its queue is half full).
   * At most `maxQueue` wait; beyond that they are dropped and counted (see Subscription).
   */
  subscribe(app: string, ready: (urgent: boolean) => void, maxQueue = 10_000): Subscription {
    const sub = new Subscription(app, maxQueue, ready, (s) => this.subs.get(app)?.delete(s));
    let set = this.subs.get(app);
    if (!set) this.subs.set(app, (set = new Set()));
    set.add(sub);
    return sub;
  }

  /**
   * Calls `watch` with every platform line (source `paas` or `paas[…]`: builds, releases, dyno
   * states, scaling, config, add-ons) of any app, as it is appended; the returned function stops it.
   * Watchers must be quick: they run inside the append.
   */
  watchPlatform(watch: (event: LogEvent) => void): () => void {
    this.platformWatchers.add(watch);
    return () => this.platformWatchers.delete(watch);
  }

  /** Drops the app's history (destroyed) and ends its subscriptions. */
  forget(app: string): void {
    for (const sub of [...(this.subs.get(app) ?? [])]) sub.end();
    this.subs.delete(app);
    this.history.forget(app);
  }

  /** Writes what is pending: our stdout at once, the history to disk. */
  flush(): Promise<void> {
    this.flushOut();
    return this.history.flush();
  }

  // A dyno printing 50,000 lines a second would cost as many write syscalls to our stdout (a pipe,
  // written synchronously): the lines of one turn of the event loop go out in one write instead.
  private write(text: string): void {
    this.pendingOut += text;
    if (!this.outScheduled) {
      this.outScheduled = true;
      setImmediate(() => this.flushOut());
    }
  }

  private flushOut(): void {
    this.outScheduled = false;
    if (!this.pendingOut) return;
    const text = this.pendingOut;
    this.pendingOut = '';
    if (this.outBacklog() > MAX_OUT_BACKLOG) {
      this.skippedOut += countLines(text);
      return;
    }
    if (this.skippedOut) {
      this.out(`${rfc3339Micros(nowMicros())} paas: ${this.skippedOut} log lines were left out of this output: it was read more slowly than they came (they are in \`paas logs\`, tails and drains)\n`);
      this.skippedOut = 0;
    }
    this.out(text);
  }

  // One object per line, shared by the history and every subscription: under a flood, a copy per
  // consumer was garbage the collector paid for. The line is kept as the app wrote it (drains and
  // `paas logs --json` get its bytes); only our stdout, often a terminal, gets its controls escaped.
  private keep(event: LogEvent, terminalSafe = false): string {
    this.history.add(event.app, event);
    const subs = this.subs.get(event.app);
    if (subs?.size) for (const sub of subs) sub.push(event);
    if (this.platformWatchers.size && event.source.startsWith('paas')) for (const watch of this.platformWatchers) watch(event);
    return `${event.time} ${event.app} ${event.source}: ${terminalSafe ? event.line : escapeControls(event.line)}\n`;
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
