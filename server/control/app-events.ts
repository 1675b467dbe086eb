import type { AppEvent } from '../../lib/api-types.js';
import type { AppLogs } from '../logs/pipeline.js';

/** What `GET /v1/events` sends: an app was made, changed (a platform log line says how) or destroyed; the shape its clients read. */
export type { AppEvent };

/** How often at most an app's `changed` goes out: a deploy's burst of lines becomes a few events. */
export const COALESCE_MS = 250;

interface Window {
  timer: NodeJS.Timeout;
  /** The last reason that came while the window was open, sent when it closes. */
  pending?: string;
}

/**
 * The feed of app events the dashboard listens to. `changed` comes from the log pipeline's platform
 * lines, at most one per app per COALESCE_MS: the first at once, then the window's last reason when
 * it closes (so the last state is never missed). `created` and `destroyed` go out at once; a
 * destroyed app's pending `changed` is dropped.
 */
export class AppEvents {
  private readonly listeners = new Set<(event: AppEvent) => void>();
  private readonly windows = new Map<string, Window>();
  private readonly unwatch: () => void;

  constructor(logs: Pick<AppLogs, 'watchPlatform'>) {
    this.unwatch = logs.watchPlatform((e) => this.changed(e.app, e.line));
  }

  /** Calls `listen` with every event from now on; the returned function stops it. */
  listen(listen: (event: AppEvent) => void): () => void {
    this.listeners.add(listen);
    return () => this.listeners.delete(listen);
  }

  created(app: string): void {
    this.emit(app, 'created', `Created ${app}`);
  }

  destroyed(app: string): void {
    const window = this.windows.get(app);
    if (window) clearTimeout(window.timer);
    this.windows.delete(app);
    this.emit(app, 'destroyed', `Destroyed ${app}`);
  }

  changed(app: string, reason: string): void {
    // No one listens: no timers to keep for nothing.
    if (!this.listeners.size) return;
    const window = this.windows.get(app);
    if (window) {
      window.pending = reason;
      return;
    }
    this.emit(app, 'changed', reason);
    this.open(app);
  }

  /** Stops listening to the pipeline; pending `changed` events are dropped. */
  close(): void {
    this.unwatch();
    for (const window of this.windows.values()) clearTimeout(window.timer);
    this.windows.clear();
    this.listeners.clear();
  }

  private open(app: string): void {
    const window: Window = {
      timer: setTimeout(() => {
        this.windows.delete(app);
        if (window.pending === undefined) return;
        this.emit(app, 'changed', window.pending);
        this.open(app);
      }, COALESCE_MS).unref(),
    };
    this.windows.set(app, window);
  }

  private emit(app: string, action: AppEvent['action'], reason: string): void {
    if (!this.listeners.size) return;
    const event: AppEvent = { type: 'app', app, action, reason, time: new Date().toISOString() };
    for (const listen of this.listeners) listen(event);
  }
}
