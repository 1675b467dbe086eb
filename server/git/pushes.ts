import type { AppRow } from '../store/apps.js';

/** Why a push's deploy stops short of going live when git or the pusher goes away. */
export const PUSH_CANCELLED = 'The push was cancelled: git hung up before the deploy finished, so the new release does not go live.';

/** A push in flight: the receive-pack request that holds the app's deploy lock. */
export interface Push {
  app: AppRow;
  /** Who pushed: the user name of the git credentials. */
  actor: string;
  /** The deploy the hook's push started, if any; the lock is released only after it settles. */
  deploying?: Promise<unknown>;
  /**
   * Aborted when the pusher or git goes away before the outcome reached the hook: git then rejects
   * the push and leaves the branch, so its release must not go live either.
   */
  cancel: AbortController;
}
