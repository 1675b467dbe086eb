import type { AppLogs } from '../logs/pipeline.js';
import type { Db } from '../store/db.js';
import { listAllDrains } from '../store/drains.js';
import { DrainSender, type SenderOptions } from './sender.js';
import { HttpTransport, SyslogTransport, type Transport } from './transports.js';

/** Lines a drain may fall behind by before it loses them (and says so with L10). */
const QUEUE = 10_000;

export interface DrainTarget {
  id: string;
  app: string;
  url: string;
  token: string;
}

export interface DrainsOptions {
  db: Db;
  logs: AppLogs;
  log: (line: string) => void;
  /** Overrides for tests; the defaults are Heroku-like (500 lines or 1 s a POST, backoff capped at 30 s). */
  sender?: Partial<SenderOptions>;
}

function transportFor(target: DrainTarget): { transport: Transport; http: boolean } {
  const u = new URL(target.url);
  if (u.protocol === 'syslog+tcp:') return { transport: new SyslogTransport(u.hostname, Number(u.port)), http: false };
  return { transport: new HttpTransport(target.url, target.token), http: true };
}

/**
 * The running senders, one per drain, each on its own subscription of its app's log stream. The
 * store says which drains exist; this only delivers (`drains.ts` changes both together).
 */
export class Drains {
  private readonly senders = new Map<string, { app: string; sender: DrainSender }>();
  private closed = false;

  constructor(private readonly opts: DrainsOptions) {}

  /** Starts a sender for every drain in the store (server start-up). */
  startAll(): void {
    for (const row of listAllDrains(this.opts.db)) this.start(row);
  }

  start(target: DrainTarget): void {
    if (this.closed || this.senders.has(target.id)) return;
    const { transport, http } = transportFor(target);
    const opts: SenderOptions = {
      // Under a flood a drain is bound by its round trips (one batch in flight keeps the lines in
      // order): 2,000-line batches delivered twice the lines per second of 500-line ones
      // (bench:logs); the byte bound keeps a body of long lines to about a mebibyte.
      maxBatch: 2000,
      maxBatchBytes: 1024 * 1024,
      // A syslog stream has no per-request cost worth waiting for; a POST has.
      lingerMs: http ? 1000 : 0,
      minBackoffMs: 500,
      maxBackoffMs: 30_000,
      log: this.opts.log,
      ...this.opts.sender,
    };
    const sender = new DrainSender(`${target.token} of ${target.app}`, (ready) => this.opts.logs.subscribe(target.app, ready, QUEUE), transport, opts);
    this.senders.set(target.id, { app: target.app, sender });
  }

  /** Stops a removed drain's sender; what it had queued is dropped with it. */
  async stop(id: string): Promise<void> {
    const entry = this.senders.get(id);
    this.senders.delete(id);
    await entry?.sender.stop(0);
  }

  /** Stops the senders of an app being destroyed. */
  async stopApp(app: string): Promise<void> {
    const ids = [...this.senders].filter(([, e]) => e.app === app).map(([id]) => id);
    await Promise.all(ids.map((id) => this.stop(id)));
  }

  /** Shutdown: no new senders; each sends what it has queued for at most `flushMs`. */
  async close(flushMs: number): Promise<void> {
    this.closed = true;
    const all = [...this.senders.values()];
    this.senders.clear();
    await Promise.all(all.map((e) => e.sender.stop(flushMs)));
  }
}
