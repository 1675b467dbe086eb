// One image per add-on service, built from Debian's packages on top of the stack (no image
// registry is needed), once per recipe, then reused: the stack's way, with its mirror and CA.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { BuildError } from '../../../builder/errors.js';
import { LABELS } from '../../../lib/docker/labels.js';
import { checkMirror } from '../../../builder/docker/stack-image.js';
import { type DockerEvent, followDocker } from '../../../builder/docker/stack-rootfs.js';
import { ADDON_SERVICES, type AddonService } from '../types.js';
import { SCRIPTS, scriptsFor } from './scripts.js';

/** The label that names an add-on image's service (and its recipe hash, LABELS.recipe). */
export const SERVICE_LABEL = 'paas.addon.service';

// Bump when the steps below change what ends up in an image, so existing ones are rebuilt.
const RECIPE_REVISION = 1;

const PACKAGES: Record<AddonService, string[]> = {
  postgresql: ['postgresql-15', 'libnss-wrapper'],
  redis: ['redis-server'],
};

/** The tag of a service's image. */
export const ADDON_IMAGES: Record<AddonService, string> = { postgresql: 'paas/addon-postgresql:15', redis: 'paas/addon-redis:7' };

export interface AddonImageOptions {
  /** The stack image it starts from (config.docker.stackImage). */
  stackImage: string;
  /** A CA the Debian mirror's TLS needs (a TLS-intercepting proxy; config.docker.buildCaFile). */
  caFile?: string;
  /** The Debian mirror; PAAS_DEBIAN_MIRROR, else the stack's own sources. */
  mirror?: string;
  log: (line: string) => void;
  force?: boolean;
}

// The CA is trusted by the apt step only and removed with it (a CA certificate is public, so the
// layer below that still holds it gives nothing away; nothing in the image trusts it).
const CA = '/tmp/paas/ca.pem';

function dockerfile(service: AddonService, stackImage: string, ca: boolean): string {
  const caOpt = ca ? ` -o Acquire::https::CAInfo=${CA}` : '';
  // The stack's minbase has no init system: policy-rc.d keeps the packages' scripts from starting
  // services, and Debian makes no `main` cluster (paas's template cluster is made below). The
  // stack's sources name the mirror it was built from; PAAS_DEBIAN_MIRROR replaces it (in
  // sources.list from debootstrap, or debian.sources from debian:bookworm-slim).
  return `FROM ${stackImage}
ARG MIRROR
${ca ? `COPY ca.pem ${CA}\n` : ''}RUN set -eu; \\
    if [ -n "$MIRROR" ] && [ -f /etc/apt/sources.list ]; then sed -i -E "s|^deb [^ ]+ bookworm |deb $MIRROR bookworm |" /etc/apt/sources.list; fi; \\
    if [ -n "$MIRROR" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then sed -i "s|^URIs: http://deb.debian.org/debian\\$|URIs: $MIRROR|" /etc/apt/sources.list.d/debian.sources; fi; \\
    printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; \\
    mkdir -p /etc/postgresql-common/createcluster.d; \\
    echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/paas.conf; \\
    apt-get${caOpt} update -q; \\
    DEBIAN_FRONTEND=noninteractive apt-get${caOpt} install -y -q --no-install-recommends ${PACKAGES[service].join(' ')}; \\
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/sbin/policy-rc.d /tmp/paas
COPY scripts/ ${SCRIPTS}/
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
${service === 'postgresql' ? `RUN mkdir -p /usr/lib/paas-addon && chown nobody:nogroup /usr/lib/paas-addon && setpriv --reuid=nobody --regid=nogroup --clear-groups ${SCRIPTS}/template
` : ''}CMD ["false"]
`;
}

/** The recipe hash of a service's image on a stack (by id: a rebuilt stack rebuilds its add-ons). */
function recipeHash(service: AddonService, stackId: string, mirror: string | undefined): string {
  // Whether a CA was needed to fetch the packages changes nothing in the image.
  const parts = { revision: RECIPE_REVISION, service, stackId, dockerfile: dockerfile(service, '', false), scripts: scriptsFor(service), mirror: mirror ?? '' };
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

const building = new Map<string, Promise<AddonImage>>();

export interface AddonImage {
  image: string;
  id: string;
  built: boolean;
  /** How long the build took, in ms (0 when reused). */
  ms: number;
}

/**
 * Makes sure `service`'s image exists with the current recipe: reuses it when its labels say so,
 * and builds it otherwise (the first add-on of a kind waits for it). Concurrent calls share one
 * build. An image of that tag that paas did not build is refused, never replaced.
 */
export function ensureAddonImage(docker: Docker, service: AddonService, opts: AddonImageOptions): Promise<AddonImage> {
  let pending = building.get(service);
  if (!pending) {
    pending = build(docker, service, opts).finally(() => building.delete(service));
    building.set(service, pending);
  }
  return pending;
}

/** Builds (or finds up to date) every service's image: for `paas stack:build`. */
export async function buildAddonImages(docker: Docker, opts: AddonImageOptions): Promise<AddonImage[]> {
  const images: AddonImage[] = [];
  for (const service of ADDON_SERVICES) images.push(await ensureAddonImage(docker, service, opts));
  return images;
}

async function build(docker: Docker, service: AddonService, opts: AddonImageOptions): Promise<AddonImage> {
  const started = Date.now();
  const image = ADDON_IMAGES[service];
  const mirror = opts.mirror ?? process.env.PAAS_DEBIAN_MIRROR;
  const stack = await docker
    .getImage(opts.stackImage)
    .inspect()
    .catch(() => {
      throw new BuildError(`The stack image ${opts.stackImage} is not on this host: run \`paas stack:build\` first.`);
    });
  const hash = recipeHash(service, stack.Id, mirror);
  const found = await docker
    .getImage(image)
    .inspect()
    .catch(() => undefined);
  const labels = found?.Config?.Labels ?? {};
  if (found && labels[LABELS.managed] !== 'true') throw new BuildError(`The image ${image} exists and was not built by paas, so paas does not replace it. Remove it.`);
  if (found && labels[LABELS.recipe] === hash && !opts.force) return { image, id: found.Id, built: false, ms: 0 };

  opts.log(`-----> Building the ${service} add-on image ${image} (once): apt-get install ${PACKAGES[service].join(' ')}`);
  const context = fs.mkdtempSync(path.join(os.tmpdir(), 'paas-addon-image-'));
  try {
    const ca = opts.caFile !== undefined;
    fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile(service, opts.stackImage, ca));
    if (opts.caFile) fs.copyFileSync(opts.caFile, path.join(context, 'ca.pem'));
    fs.mkdirSync(path.join(context, 'scripts'));
    for (const [name, text] of Object.entries(scriptsFor(service))) fs.writeFileSync(path.join(context, 'scripts', name), text, { mode: 0o755 });
    const { create } = await import('tar');
    const tarball = create({ cwd: context, portable: false }, fs.readdirSync(context));
    const imageLabels = { [LABELS.managed]: 'true', [LABELS.kind]: 'addon-image', [SERVICE_LABEL]: service, [LABELS.recipe]: hash };
    const buildargs: Record<string, string> = { MIRROR: mirror ? checkMirror(mirror) : '' };
    // Docker's predefined proxy arguments: used by the build, kept out of the image's history.
    for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) if (process.env[name]) buildargs[name] = process.env[name]!;
    const stream = await docker.buildImage(tarball as unknown as NodeJS.ReadableStream, { t: image, labels: imageLabels, buildargs, rm: true, forcerm: true, pull: false } as Docker.ImageBuildOptions);
    const onEvent = (e: DockerEvent) => {
      for (const line of (e.stream ?? '').split('\n')) if (/^Setting up /.test(line.trim())) opts.log(`       ${line.trim().slice(0, 160)}`);
    };
    await followDocker(docker, stream, onEvent).catch((err: Error) => {
      throw new BuildError(`Cannot build the ${service} add-on image: ${err.message}. Check that the Debian mirror is reachable from containers, or set PAAS_DEBIAN_MIRROR.`);
    });
    const built = await docker.getImage(image).inspect();
    if (found && found.Id !== built.Id) await docker.getImage(found.Id).remove().catch(() => undefined);
    const ms = Date.now() - started;
    opts.log(`-----> ${image} ready: ${Math.round(built.Size / 1e6)} MB, built in ${(ms / 1000).toFixed(1)} s`);
    return { image, id: built.Id, built: true, ms };
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}
