import type { ChildProcess } from 'node:child_process';
import { eachLine } from '../../../lib/lines.js';
import { restartDelay, STABLE_AFTER_MS } from '../../../lib/backoff.js';
import { groupMembers, signalGroup } from '../../sandbox/process-groups.js';
import type { AddonEvents, RunningAddon } from '../types.js';

/** How one kind of server is started, checked and stopped cleanly. */
export interface ServerControl {
  launch(): ChildProcess;
  /** Resolves once it answers (a real query), rejects once `deadline` passes or it has exited. */
  ready(exited: () => boolean, deadline: number): Promise<void>;
  /** Asks it to stop cleanly (PostgreSQL: SIGINT; Redis: SHUTDOWN SAVE); it should exit soon. */
  shutdown(child: ChildProcess): Promise<void> | void;
  /** Before each launch: clears its port of squatters (`again`: a restart after a crash). */
  beforeLaunch?(again: boolean): Promise<void>;
  /** Once it answers again after a crash: what the squatter check found still to do. */
  afterRestart?(): Promise<void>;
}

export const READY_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 20_000;

/**
 * One add-on server, run and watched: an exit that was not asked for is a crash, and the server is
 * started again after the dynos' backoff (at once, then 1 s, 2 s … up to 5 min).
 */
export class Supervised implements RunningAddon {
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private child: ChildProcess | undefined;
  private exit: Promise<void> = Promise.resolve();
  private stopping = false;
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly name: string,
    private readonly control: ServerControl,
    private readonly events: AddonEvents,
  ) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  /** Starts it and resolves once it answers; rejects (and stops it) if it never does. */
  async start(): Promise<void> {
    await this.control.beforeLaunch?.(false);
    const exited = this.run();
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      await this.control.ready(() => gone, Date.now() + READY_TIMEOUT_MS);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.events.state(this.name, 'running');
  }

  private run(): Promise<void> {
    const child = this.control.launch();
    this.child = child;
    const startedAt = Date.now();
    eachLine(child.stdout!, (l) => this.events.log(this.name, l));
    eachLine(child.stderr!, (l) => this.events.log(this.name, l));
    this.exit = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        this.events.log(this.name, `failed to start: ${err.message}`);
        resolve();
      });
      child.on('exit', () => resolve());
    });
    void this.exit.then(() => {
      // Whatever it left in its group (a backend outliving its postmaster) goes with it.
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      if (this.child === child) this.child = undefined;
      if (this.stopping) return;
      this.streak = Date.now() - startedAt > STABLE_AFTER_MS ? 1 : this.streak + 1;
      const delay = restartDelay(this.streak);
      this.events.state(this.name, 'crashed');
      this.events.log(this.name, `exited unexpectedly; restarting in ${Math.round(delay / 1000)} s`);
      this.timer = setTimeout(() => void this.restart(), delay);
    });
    return this.exit;
  }

  private async restart(): Promise<void> {
    this.timer = undefined;
    if (this.stopping) return;
    try {
      await this.control.beforeLaunch?.(true);
    } catch (err) {
      this.events.log(this.name, `could not clear its port: ${(err as Error).message}`);
    }
    if (this.stopping) return;
    const exited = this.run();
    let gone = false;
    void exited.then(() => (gone = true));
    try {
      await this.control.ready(() => gone, Date.now() + READY_TIMEOUT_MS);
      if (!this.stopping) this.events.state(this.name, 'running');
      await this.control.afterRestart?.().catch((err: Error) => this.events.log(this.name, `could not replace its password: ${err.message}`));
    } catch {
      // Still down: its exit (or the stop below) schedules the next try.
      if (!gone && this.child) signalGroup(this.child.pid!, 'SIGKILL');
    }
  }

  /** Stops it cleanly, then forcibly after STOP_TIMEOUT_MS; no restart follows. */
  async stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const killer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), timeoutMs);
      try {
        await this.control.shutdown(child);
      } catch (err) {
        this.events.log(this.name, `clean shutdown failed (${(err as Error).message}); killing it`);
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
      }
      await this.exit;
      clearTimeout(killer);
      // Members of its group that outlived the leader (killed on its exit above) are gone soon after.
      const until = Date.now() + 5000;
      if (child.pid !== undefined) while (groupMembers(child.pid).length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    }
    this.events.state(this.name, 'stopped');
    this.resolveStopped();
  }
}
