import { randomBytes } from 'node:crypto';
import type { AppRow } from '../store/apps.js';

/** A push in flight: the receive-pack request that holds the app's deploy lock. */
export interface Push {
  id: string;
  /** One-time secret the pre-receive hook presents when it calls back; never the API token. */
  secret: string;
  app: AppRow;
  /** Who pushed: the user name of the git credentials. */
  actor: string;
  /** The deploy the hook started, if any; the lock is released only after it settles. */
  deploying?: Promise<unknown>;
}

/** Pushes in flight, by id, so the hook's callback can be tied to the request that spawned it. */
export class Pushes {
  private readonly byId = new Map<string, Push>();

  open(app: AppRow, actor: string): Push {
    const push: Push = { id: randomBytes(12).toString('hex'), secret: randomBytes(24).toString('hex'), app, actor };
    this.byId.set(push.id, push);
    return push;
  }

  get(id: string): Push | undefined {
    return this.byId.get(id);
  }

  close(push: Push): void {
    this.byId.delete(push.id);
  }
}
