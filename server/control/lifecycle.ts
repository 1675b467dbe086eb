/** What a deploy that shutdown stopped fails with: shown to the pusher and kept on the failed release. */
export const STOPPED_BY_SHUTDOWN = 'The paas server shut down before this deploy finished, so it was stopped and did not go live. Push or run the command again once paas is back.';

/** What a request that arrives during shutdown is told. */
export const SHUTTING_DOWN = 'The paas server is shutting down and takes no new pushes or changes. Try again once it is back.';

/**
 * The server's shutdown state, shared by everything that takes work in. Shutdown has two steps:
 * `drain` refuses new requests and pushes while work in flight goes on; `stopWork` then aborts
 * `signal`, which stops build steps and release phases that did not finish in time.
 */
export class Lifecycle {
  private drainingNow = false;
  private readonly abort = new AbortController();

  get draining(): boolean {
    return this.drainingNow;
  }

  /** Aborted, with STOPPED_BY_SHUTDOWN as its reason, when work in flight must stop. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  drain(): void {
    this.drainingNow = true;
  }

  stopWork(): void {
    this.abort.abort(STOPPED_BY_SHUTDOWN);
  }
}

