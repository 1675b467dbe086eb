// The stack's last step, a Dockerfile build on the Debian layer: Node.js and npm in one COPY layer,
// the environment, and a check that every tool starts. Where an image registry answers, the Debian
// layer is the official debian:bookworm-slim with the packages added by apt in the same build.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { type DockerEvent, followDocker } from './stack-rootfs.js';

/** The official image the stack starts from when a registry answers. */
export const REGISTRY_BASE = 'debian:bookworm-slim';

const PATH = '/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin';
const PULL_ANSWER_MS = 10_000;
const PULL_TOTAL_MS = 5 * 60_000;

/** Where the Debian layer comes from: an image made by debootstrap, or the registry's (plus apt). */
export type StackBase = { kind: 'imported'; ref: string } | { kind: 'registry'; ref: string; packages: string[]; mirror: string | undefined };

/**
 * Pulls debian:bookworm-slim. Returns false, quickly, when no registry answers: the engine's
 * reply must start within 10 s (where there is no registry it fails in well under a second).
 */
export async function pullRegistryBase(docker: Docker, log: (line: string) => void): Promise<boolean> {
  log(`       Pulling ${REGISTRY_BASE}`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = (ms: number) => new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)));
  try {
    const stream = await Promise.race([docker.pull(REGISTRY_BASE), deadline(PULL_ANSWER_MS)]);
    clearTimeout(timer);
    await Promise.race([followDocker(docker, stream), deadline(PULL_TOTAL_MS)]);
    return true;
  } catch (err) {
    const why = (err as Error).message.split('\n')[0].replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
    log(`       No image registry answers (${why}); building the Debian layer with debootstrap instead`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function dockerfile(base: StackBase): string {
  const apt =
    base.kind === 'registry'
      ? // MIRROR is checked to be a plain URL (see checkMirror) and reaches the shell only as a variable.
        `ARG MIRROR
RUN set -eu; \\
    if [ -n "$MIRROR" ]; then sed -i "s|^URIs: http://deb.debian.org/debian\\$|URIs: $MIRROR|" /etc/apt/sources.list.d/debian.sources; fi; \\
    apt-get update; \\
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${base.packages.join(' ')}; \\
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
`
      : '';
  return `FROM ${base.ref}
${apt}COPY rootfs/ /
ENV PATH=${PATH} LANG=C.UTF-8
# npm leaves its compile cache in /tmp: a dyno's /tmp starts empty.
RUN node --version && npm --version && python3 --version && git --version && rm -rf /root/.npm /tmp/node-compile-cache
CMD ["bash"]
`;
}

/** A Debian mirror as PAAS_DEBIAN_MIRROR may name it: a plain http(s) URL. */
export function checkMirror(mirror: string): string {
  if (!/^https?:\/\/[A-Za-z0-9._~:/%+-]+$/.test(mirror)) throw new BuildError(`PAAS_DEBIAN_MIRROR=${JSON.stringify(mirror)} is not a mirror URL. Use one such as http://deb.debian.org/debian.`);
  return mirror.replace(/\/+$/, '');
}

/**
 * Builds `image` from `base` and the build context `context` (which holds rootfs/, laid out by
 * layOutNode), with `labels`. Streams the build's lines to `log`; returns the image id.
 */
export async function buildFromBase(docker: Docker, base: StackBase, context: string, image: string, labels: Record<string, string>, log: (line: string) => void): Promise<string> {
  const { create } = await import('tar');
  fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile(base));
  const tarball = create({ cwd: context, portable: true }, ['Dockerfile', 'rootfs']);
  const buildargs = base.kind === 'registry' && base.mirror ? { MIRROR: base.mirror } : {};
  const stream = await docker.buildImage(tarball as unknown as NodeJS.ReadableStream, { t: image, labels, buildargs, rm: true, forcerm: true, pull: false } as Docker.ImageBuildOptions);
  const onEvent = (e: DockerEvent) => {
    for (const line of (e.stream ?? '').split('\n')) {
      if (line.trim() && !/^ ---> |^Removing intermediate container /.test(line)) log(`       ${line.trimEnd()}`);
    }
  };
  try {
    const events = await followDocker(docker, stream, onEvent);
    const id = events.map((e) => e.aux?.ID).find(Boolean);
    return id ?? (await docker.getImage(image).inspect()).Id;
  } catch (err) {
    const hint = base.kind === 'registry' ? ' Check that the Debian mirror is reachable from containers, or set PAAS_DEBIAN_MIRROR.' : '';
    throw new BuildError(`Cannot build the stack image: the Docker build failed: ${(err as Error).message}.${hint}`);
  }
}
