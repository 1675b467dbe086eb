import type Docker from 'dockerode';
import { LABELS } from '../../lib/docker/labels.js';
import { runInImage } from '../../lib/docker/run-in-image.js';

/** The stack's own Node.js version per image id: asked once per image and server run. */
const known = new Map<string, Promise<string>>();

/** The Node.js version (`24.1.0`) the stack image runs, asked of a short-lived container. */
export function stackNodeVersion(docker: Docker, stackImage: string): Promise<string> {
  return docker
    .getImage(stackImage)
    .inspect()
    .then((info) => {
      let version = known.get(info.Id);
      if (!version) {
        version = ask(docker, info.Id);
        known.set(info.Id, version);
        version.catch(() => known.delete(info.Id));
      }
      return version;
    });
}

async function ask(docker: Docker, image: string): Promise<string> {
  const result = await runInImage(docker, image, ['node', '-p', 'process.versions.node'], { labels: { [LABELS.managed]: 'true' } });
  const version = result.stdout.trim();
  if (result.code !== 0 || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`could not read the Node.js version of ${image}: ${(result.stdout + result.stderr).slice(0, 200)}`);
  return version;
}
