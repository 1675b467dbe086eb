// Watches one add-on's container (the engine's wait) and starts it again when it exits without
// being asked to, with the dynos' backoff: at once, then 1 s, 2 s, 4 s …, from zero again once it
// stayed up a minute. The same container each time, so its volume, name and URL stay.
import type Docker from 'dockerode';
import { idempotent, statusOf } from '../../docker/streams.js';
import type { AddonEvents } from '../types.js';

export interface SupervisorOptions {
  name: string;
  container: Docker.Container;
  events: AddonEvents;
  /** Starts the container (unless it runs) and resolves once the server answers. */
  start: () => Promise<void>;
  stopTimeoutS: number;
  delay: (streak: number) => number;
  stableAfterMs: number;
}

/** One add-on container's watcher: `begin`, then `stop` (clean) or `abandon` (let go). */
export class Supervisor {
  private stopping = false;
  private abandoned = false;
  private streak = 0;
  private startedAt = 0;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private readonly abort = new AbortController();
  private watching: Promise<void> = Promise.resolve();

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts (or finds running) and begins watching; rejects when the first start fails. */
  async begin(): Promise<void> {
    await this.opts.start();
    this.up();
    this.watching = this.watch();
  }

  /** A clean stop (the container's StopSignal, then SIGKILL after the timeout); resolves once it has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelWait();
    await idempotent(() => this.opts.container.stop({ t: this.opts.stopTimeoutS }));
    await this.watching;
    // A restart that was under way when the stop came may have started it again.
    await idempotent(() => this.opts.container.stop({ t: this.opts.stopTimeoutS }));
    this.abort.abort();
    this.opts.events.state(this.opts.name, 'stopped');
  }

  /** Stops watching and leaves the container as it is (destroy, detach). */
  abandon(): void {
    this.abandoned = true;
    this.cancelWait();
    this.abort.abort();
  }

  private up(): void {
    this.startedAt = Date.now();
    this.opts.events.state(this.opts.name, 'running');
  }

  private get done(): boolean {
    return this.stopping || this.abandoned;
  }

  private async watch(): Promise<void> {
    while (!this.done) {
      const code = await this.exited();
      if (this.done) return;
      if (code === 'gone') {
        this.opts.events.log(this.opts.name, 'its container was removed; no longer supervised');
        this.opts.events.state(this.opts.name, 'crashed');
        return;
      }
      this.streak = this.startedAt && Date.now() - this.startedAt >= this.opts.stableAfterMs ? 1 : this.streak + 1;
      const delay = this.opts.delay(this.streak);
      this.opts.events.state(this.opts.name, 'crashed');
      this.opts.events.log(this.opts.name, `crashed (exit code ${code}); starting it again${delay ? ` in ${delay / 1000} s` : ''}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, delay);
      });
      if (this.done) return;
      try {
        await this.opts.start();
        this.up();
      } catch (err) {
        if (this.done) return; // stopped while it was coming back: not a failure
        // It exited again while starting: the next turn counts it as another crash.
        this.startedAt = 0;
        this.opts.events.log(this.opts.name, `did not come back: ${(err as Error).message}`);
      }
    }
  }

  /** The exit code once the container stops; 'gone' when it was removed. */
  private async exited(): Promise<number | 'gone'> {
    for (;;) {
      try {
        const { StatusCode } = (await this.opts.container.wait({ abortSignal: this.abort.signal })) as { StatusCode: number };
        return StatusCode;
      } catch (err) {
        if (this.done) return -1;
        if (statusOf(err) === 404) return 'gone';
        // The engine's connection dropped (dockerd restarting): look again in a moment.
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private cancelWait(): void {
    clearTimeout(this.timer);
    this.wake?.();
  }
}
