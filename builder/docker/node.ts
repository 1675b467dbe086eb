import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { LABELS } from './labels.js';

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
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString('utf8');
      done();
    },
  });
  const [result, container] = (await docker.run(image, ['node', '-p', 'process.versions.node'], [sink, sink], {
    Labels: { [LABELS.managed]: 'true' },
    Tty: false,
    NetworkDisabled: true,
  })) as [{ StatusCode: number }, Docker.Container];
  await container.remove({ force: true }).catch(() => undefined);
  const version = out.trim();
  if (result.StatusCode !== 0 || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`could not read the Node.js version of ${image}: ${out.slice(0, 200)}`);
  return version;
}
