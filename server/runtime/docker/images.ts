import type Docker from 'dockerode';
import { LABELS, ourFilter } from './engine.js';
import { idempotent } from './streams.js';

/** How many of an app's latest releases keep their slug images, so a rollback among them never rebuilds. */
export const KEPT_RELEASES = 10;

/**
 * Removes the app's slug images whose build is not in `keep`, then dangling images of ours (left by
 * failed builds). Layers still shared with a kept image, or cached for the next build, stay.
 * Returns how many slug images went.
 */
export async function pruneAppImages(docker: Docker, scope: { instance: string; app: string }, keep: Set<string>): Promise<number> {
  const images = await docker.listImages({ filters: ourFilter(scope, [LABELS.build]) });
  const old = images.filter((img) => !keep.has(img.Labels?.[LABELS.build] ?? ''));
  for (const img of old) await idempotent(() => docker.getImage(img.Id).remove({ force: true }));
  await docker.pruneImages({ filters: { dangling: ['true'], label: [`${LABELS.managed}=true`] } }).catch(() => undefined);
  return old.length;
}

/** Removes every container and image of the app (apps:destroy): only objects labelled as this server's and the app's. */
export async function removeAppObjects(docker: Docker, scope: { instance: string; app: string }): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: ourFilter(scope) });
  for (const c of containers) await idempotent(() => docker.getContainer(c.Id).remove({ force: true }));
  await pruneAppImages(docker, scope, new Set());
}
