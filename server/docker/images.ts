import type Docker from 'dockerode';
import { LABELS, ourFilter } from './engine.js';
import { idempotent } from './streams.js';

/**
 * Removes the app's slug images whose build is not in `keep`, then its dangling build images but
 * the newest install stage (the dependency cache) and the newest build stage (whose steps up to
 * the tree's COPY a code-only push reuses). Layers still shared with a kept image stay.
 * Returns the bytes the removed images took (their size as Docker reports it: layers shared with
 * a kept image are counted though they stay). With `dryRun`, only counts.
 */
export async function pruneAppImages(docker: Docker, scope: { instance: string; app: string }, keep: Set<string>, opts: { keepCaches?: boolean; dryRun?: boolean } = {}): Promise<number> {
  const images = await docker.listImages({ filters: ourFilter(scope, [LABELS.build]) });
  const old = images.filter((img) => !keep.has(img.Labels?.[LABELS.build] ?? ''));
  let bytes = old.reduce((sum, img) => sum + img.Size, 0);
  if (!opts.dryRun) for (const img of old) await idempotent(() => docker.getImage(img.Id).remove({ force: true }));
  // Untagged images of the app: the install and build stages of each build (the newest of each is
  // the cache the next push reuses), and what failed builds left.
  const dangling = await docker.listImages({ filters: { dangling: ['true'], ...ourFilter(scope) } });
  const newest = (stage: string) => dangling.filter((img) => img.Labels?.[LABELS.stage] === stage).sort((a, b) => b.Created - a.Created)[0];
  const caches = opts.keepCaches === false ? [] : [newest('deps'), newest('build')];
  for (const img of dangling) {
    if (caches.includes(img)) continue;
    bytes += img.Size;
    if (!opts.dryRun) await idempotent(() => docker.getImage(img.Id).remove());
  }
  return bytes;
}

/** The bytes this server's images take, as Docker reports them (paas status). */
export async function imagesBytes(docker: Docker, instance: string): Promise<number> {
  const images = await docker.listImages({ filters: ourFilter({ instance }) });
  return images.reduce((sum, img) => sum + img.Size, 0);
}

/** Removes every container and image of the app (apps:destroy): only objects labelled as this server's and the app's. */
export async function removeAppObjects(docker: Docker, scope: { instance: string; app: string }): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: ourFilter(scope) });
  for (const c of containers) await idempotent(() => docker.getContainer(c.Id).remove({ force: true }));
  await pruneAppImages(docker, scope, new Set(), { keepCaches: false });
}
