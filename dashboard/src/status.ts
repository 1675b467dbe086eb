// An app's status dot, from what `GET /v1/apps` says of it: no request per app.
import type { App } from './types.js';

export type AppStatus = 'up' | 'crashed' | 'deploying' | 'no-release';

export const STATUS_LABEL: Record<AppStatus, string> = { up: 'Up', crashed: 'Crashed', deploying: 'Deploying', 'no-release': 'No release' };

/**
 * Crashed when any dyno is; deploying while a build or release is pending or a dyno is still
 * starting; no release before the first; else up.
 */
export function appStatus(app: App): AppStatus {
  if (app.dynos.some((d) => d.state === 'crashed')) return 'crashed';
  if (app.deploying || app.dynos.some((d) => d.state === 'starting')) return 'deploying';
  if (!app.release) return 'no-release';
  return 'up';
}

/** "1/2 up": the dynos serving out of those the formation runs (a previous release's standby ones aside). */
export function dynosUp(app: App): string {
  const counted = app.dynos.filter((d) => d.state !== 'standby');
  return `${counted.filter((d) => d.state === 'up').length}/${counted.length} up`;
}
