import type { RequestHandler } from 'express';

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

/**
 * Once draining, answers requests that would start work with 503 and SHUTTING_DOWN. Reads still
 * work, so a CLI waiting on a release it started hears how it ended. `Connection: close` lets
 * kept-alive clients go.
 */
export function refuseWhileDraining(lifecycle: Lifecycle): RequestHandler {
  return (req, res, next) => {
    if (!lifecycle.draining || req.method === 'GET' || req.method === 'HEAD') return next();
    res.set('connection', 'close').status(503).json({ id: 'unavailable', message: SHUTTING_DOWN });
  };
}
