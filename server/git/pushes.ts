import { randomBytes } from 'node:crypto';
import { tokenMatches } from '../http/auth.js';
import type { AppRow } from '../store/apps.js';

/** Why a push's deploy stops short of going live when git or the pusher goes away. */
export const PUSH_CANCELLED = 'The push was cancelled: git hung up before the deploy finished, so the new release does not go live.';

/** A push in flight: the receive-pack request that holds the app's deploy lock. */
export interface Push {
  id: string;
  /** One-time secret the pre-receive hook presents when it calls back; never the API token. */
  secret: string;
  app: AppRow;
  /** Who pushed: the user name of the git credentials. */
  actor: string;
  /** Set by the first callback that presents the secret; no later callback is accepted. */
  claimed?: boolean;
  /** The deploy the hook started, if any; the lock is released only after it settles. */
  deploying?: Promise<unknown>;
  /**
   * Aborted when the pusher or the hook goes away before the result reached git: git then rejects
   * the push and leaves the branch, so its release must not go live either.
   */
  cancel: AbortController;
}

/** Pushes in flight, by id, so the hook's callback can be tied to the request that spawned it. */
export class Pushes {
  private readonly byId = new Map<string, Push>();

  open(app: AppRow, actor: string): Push {
    const push: Push = { id: randomBytes(12).toString('hex'), secret: randomBytes(24).toString('hex'), app, actor, cancel: new AbortController() };
    this.byId.set(push.id, push);
    return push;
  }

  /**
   * The push `id` of app `app` if `secret` is its secret and no callback has claimed it yet; it is
   * claimed now, so each secret deploys at most once and only the app it was issued for.
   */
  claim(app: string, id: string, secret: string | undefined): Push | undefined {
    const push = this.byId.get(id);
    if (!push || push.claimed || push.app.name !== app || !tokenMatches(secret, push.secret)) return undefined;
    push.claimed = true;
    return push;
  }

  close(push: Push): void {
    this.byId.delete(push.id);
  }
}
