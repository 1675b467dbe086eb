// Image slugs (the Docker runtime): the pushed tree, checked and detected as for a directory
// slug, becomes the image `paas/<app>:<build id>`, built by the engine from a generated Dockerfile
// (or the app's own) with the tree as its context.
import type Docker from 'dockerode';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { addPaasFiles } from '../buildpacks/static.js';
import { BuildError } from '../errors.js';
import { matchHint } from '../exec.js';
import { entryKind, excerpt, readTreeFile } from '../safe-fs.js';
import { buildFailed, type Compiled, detect, finishSlug, slugHome, unpack } from '../slug.js';
import type { BuildRequest, Slug } from '../types.js';
import type { RegistrySettings } from '../registry.js';
import type { BuildLimits } from '../../lib/dyno-limits.js';
import { CONTEXT_APP, CONTEXT_INSTALLER, CONTEXT_PAAS, CONTEXT_REGISTRY, generateDockerfile, IMAGE_CACHE, registryContext } from './dockerfile.js';
import { LABELS, imageTag } from '../../lib/docker/labels.js';
import { stackNodeVersion } from './node.js';
import { imageCommand, requireLocalImages } from './own.js';
import { runBuild } from './run.js';

export { imageTag, LABELS } from '../../lib/docker/labels.js';

/** What an image build needs: a directory build's request without its host steps, plus the engine's side. */
export interface ImageBuildRequest extends Omit<BuildRequest, 'steps'> {
  docker: Docker;
  /** The base of generated Dockerfiles (PAAS_STACK_IMAGE); it must be on the host. */
  stackImage: string;
  /** The stack's Node.js version when its labels say (a stack paas built); else it is asked of the image. */
  stackNode?: string;
  /** The stack's npm version, when its labels say. */
  stackNpm?: string;
  /** The pushed commit, recorded as the image's paas.commit label. */
  commit: string;
  /** The operator's registry settings (npmrc, CA, proxy) the build steps get; they stay out of the image. */
  registry?: RegistrySettings;
  /** The app's own uid and gid: build steps and the image's processes run as them. */
  user: { uid: number; gid: number };
  /** Resolves an engines.node range to an exact version; without it engines.node is only warned about. */
  nodeVersion?: (range: string) => Promise<string>;
  /** More labels for the slug image (the server's paas.instance). */
  labels?: Record<string, string>;
  /** Stops the build where it is (the pusher hung up, shutdown). */
  signal?: AbortSignal;
  /** What each build step may use (PAAS_BUILD_MEMORY). */
  limits?: BuildLimits;
  /** The cgroup the build's step containers go under (PAAS_BUILD_PIDS), when the server made one. */
  cgroupParent?: string;
}

/** Where the app lives in a generated image, and the node that runs it. */
const APP_PATH = '/app';
const NODE_PATH = '/usr/local/bin/node';

/**
 * Builds the slug image `paas/<app>:<build id>` from a pushed tree (tar stream): the same tree
 * checks, detection, Procfile, app.json and process types as build(), with a Dockerfile at the
 * root winning over buildpacks. Writes `<slugsDir>/<build id>/slug.json` (with `image`) and keeps
 * no tree beside it: the tree lives in the image. On failure nothing is left, image included.
 */
export async function buildImage(req: ImageBuildRequest): Promise<Slug> {
  const home = slugHome(req.slugsDir, req.buildId);
  const dir = path.join(home, CONTEXT_APP);
  const tag = imageTag(req.appName, req.buildId);
  let built = false;
  await fs.mkdir(dir, { recursive: true });
  try {
    await unpack(req.source, dir);
    const labels = { ...req.labels, [LABELS.managed]: 'true', [LABELS.app]: req.appName, [LABELS.build]: req.buildId, [LABELS.commit]: req.commit };
    const files = new Set(await fs.readdir(dir));
    const own = files.has('Dockerfile');
    const compiled = own ? await ownImage(req, dir, tag, labels) : await generatedImage(req, home, dir, tag, labels);
    built = true;
    const slug = await finishSlug(home, dir, compiled, req.log);
    // The tree is in the image; only slug.json stays, where readSlug looks.
    await fs.rm(dir, { recursive: true, force: true });
    return slug;
  } catch (err) {
    if (built) await req.docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    return await buildFailed(home, err);
  } finally {
    await fs.rm(path.join(home, CONTEXT_PAAS), { recursive: true, force: true });
  }
}

/**
 * Gives the context the modes git gave the tree (0755 directories and executables, 0644 the rest):
 * unpacked under the server's umask they are 0700/0600, and COPY keeps modes, so a Dockerfile's
 * root-owned files would be unreadable to the app's uid. Links are left alone, never followed.
 */
async function gitModes(p: string): Promise<void> {
  const stat = await fs.lstat(p);
  if (stat.isFile()) return fs.chmod(p, stat.mode & 0o100 ? 0o755 : 0o644);
  if (!stat.isDirectory()) return;
  await fs.chmod(p, 0o755);
  for (const name of await fs.readdir(p)) await gitModes(path.join(p, name));
}

async function tarOf(cwd: string, entries: string[]): Promise<NodeJS.ReadableStream> {
  const tar = await import('tar');
  for (const e of entries) await gitModes(path.join(cwd, e));
  // portable: no host uids, names or times in the context (cache keys ignore times anyway).
  // Links are stored as links, never followed; the tree check kept them inside the tree.
  return tar.c({ cwd, portable: true, follow: false }, entries) as unknown as NodeJS.ReadableStream;
}

/** Builds the app's own Dockerfile as is, with the pushed tree as the context. */
async function ownImage(req: ImageBuildRequest, dir: string, tag: string, labels: Record<string, string>): Promise<Compiled> {
  req.log('-----> Dockerfile app detected: building it as is');
  req.onDetected?.('Dockerfile');
  if ((await entryKind(path.join(dir, 'Dockerfile'))) !== 'file') throw new BuildError('Dockerfile must be a regular file, not a link or a directory. Fix it and push again.');
  const text = (await readTreeFile(dir, 'Dockerfile'))!.toString('utf8');
  await requireLocalImages(req.docker, text, req.stackImage);
  await runBuild(req.docker, await tarOf(dir, await fs.readdir(dir)), { dockerfile: 'Dockerfile', tag, labels, log: req.log, signal: req.signal, limits: req.limits, cgroupParent: req.cgroupParent });
  const image = await imageCommand(req.docker, tag);
  if (await readTreeFile(dir, 'Procfile')) req.log('       Procfile commands run in the image as `bash -c <command>` (the image needs bash), in its WORKDIR, as its USER.');
  if (/^(root|0)(:|$)/.test(image.user)) req.log('       The Dockerfile sets USER root: dynos run as the app\'s own user instead.');
  return {
    dir,
    image: tag,
    buildpack: 'Dockerfile',
    processTypes: image.web ? { web: image.web } : {},
    ...(image.web ? { imageCommand: ['web'] } : {}),
    pathPrepend: [],
    env: {},
    webFrom: ['a `CMD` to the Dockerfile'],
  };
}

/** Detects the buildpack, turns its plan into a Dockerfile and builds it. */
async function generatedImage(req: ImageBuildRequest, home: string, dir: string, tag: string, labels: Record<string, string>): Promise<Compiled> {
  const pack = detect(new Set(await fs.readdir(dir)));
  req.log(`-----> ${pack.name} app detected`);
  req.onDetected?.(pack.name);
  const stack = pack.name === 'Node.js' ? req.stackNode || (await stackNodeVersion(req.docker, req.stackImage)) : '';
  const plan = await pack.plan(dir, {
    appPath: APP_PATH,
    nodePath: NODE_PATH,
    config: req.config,
    log: req.log,
    cachePath: IMAGE_CACHE,
    npmEnv: req.hostNpmEnv,
    node: { platform: stack, platformNpm: req.stackNpm, resolve: (range) => nodeFor(req, range, stack), pathOf: () => NODE_PATH },
  });
  await addPaasFiles(dir, plan.paasFiles);
  const paas = path.join(home, CONTEXT_PAAS);
  await fs.mkdir(paas);
  const registry = req.registry && registryContext(req.registry);
  if (registry) {
    await fs.mkdir(path.join(paas, CONTEXT_REGISTRY));
    for (const [name, text] of Object.entries(registry)) await fs.writeFile(path.join(paas, CONTEXT_REGISTRY, name), text);
  }
  if (plan.tools?.length) await fs.copyFile(fileURLToPath(new URL('../tool-install.js', import.meta.url)), path.join(paas, CONTEXT_INSTALLER));
  if ((plan as { cacheDirectories?: string[] }).cacheDirectories?.length) {
    req.log('       cacheDirectories (package.json): on the Docker runtime only the dependency install is cached (its image layer); these directories start empty each build.');
  }
  // The static server listens on loopback on the host; in a container it must take the published port.
  const env = Object.keys(plan.paasFiles).includes('static-server.mjs') ? { PAAS_STATIC_HOST: '0.0.0.0' } : undefined;
  const dockerfile = generateDockerfile({ appName: req.appName, stackImage: req.stackImage, plan, user: req.user, registry: registry && Object.keys(registry), node: plan.node, env, labels, stageLabels: req.labels });
  await fs.writeFile(path.join(paas, 'Dockerfile'), dockerfile.text);
  req.log(`-----> Building image ${tag}`);
  await runBuild(req.docker, await tarOf(home, [CONTEXT_APP, CONTEXT_PAAS]), {
    dockerfile: `${CONTEXT_PAAS}/Dockerfile`,
    tag,
    log: req.log,
    signal: req.signal,
    limits: req.limits,
    cgroupParent: req.cgroupParent,
    heading: (n) => dockerfile.steps.get(n)?.heading || undefined,
    explain: (n) => dockerfile.steps.get(n)?.failure,
    hint: (n, output) => matchHint(dockerfile.steps.get(n)?.hints, output),
  });
  const tools = plan.tools?.map(({ why: _, ...tool }) => tool);
  return {
    dir,
    image: tag,
    buildpack: pack.name,
    ...(plan.node ? { node: plan.node } : {}),
    ...(tools?.length ? { tools } : {}),
    processTypes: plan.processTypes,
    pathPrepend: plan.pathPrepend,
    env: plan.env ?? {},
    notes: plan.notes,
    webFrom: pack.webFrom ?? [],
  };
}

/** The exact Node.js version for engines.node: the stack's own when it fits (or when no resolver is given, with a warning). */
async function nodeFor(req: ImageBuildRequest, range: unknown, stack: string): Promise<string> {
  // With a resolver, engines.node is honoured as on the process runtime: a bad range fails the build there.
  if (req.nodeVersion) {
    const version = await req.nodeVersion(typeof range === 'string' ? range : JSON.stringify(range) ?? String(range));
    req.log(`-----> Using Node.js ${version} (engines.node "${excerpt(String(range), 60)}")`);
    return version;
  }
  if (typeof range !== 'string' || semver.validRange(range) === null) {
    req.log(` !     Warning: package.json engines.node (${excerpt(JSON.stringify(range) ?? String(range), 60)}) is not a version range. This app will run on the stack's Node ${stack}; set engines.node to a range such as ">=22".`);
    return stack;
  }
  if (!semver.satisfies(stack, range)) req.log(` !     Warning: package.json engines.node asks for "${excerpt(range, 60)}", but this app will run on the stack's Node ${stack}, so it may not work.`);
  return stack;
}
