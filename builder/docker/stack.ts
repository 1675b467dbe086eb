// The stack image every Docker build and dyno starts from: Debian 12 minbase with Python 3 (venv),
// git, bash and CA certificates, plus Node.js and npm from the npm registry. Built once per recipe,
// without an image registry (debootstrap, `docker import`, then a Dockerfile for Node), or from
// debian:bookworm-slim where one answers.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { BuildError } from '../errors.js';
import { type NodeVersions, layOutNode, npmEnv, resolveNodeVersions } from './stack-node.js';
import { REGISTRY_BASE, type StackBase, buildFromBase, checkMirror, pullRegistryBase } from './stack-image.js';
import { LABELS } from '../../lib/docker/labels.js';
import { DEFAULT_DEBIAN_MIRROR, debootstrap, findDebootstrap, importRootfs, slimRootfs } from './stack-rootfs.js';


/** Debian packages on top of minbase; their dependencies come along, recommends do not. */
export const STACK_PACKAGES = ['bash', 'ca-certificates', 'git', 'python3', 'python3-venv'];

// npm 11 is the npm the Node buildpack's start command was checked against (buildpacks/npm-start.ts).
const NPM_MAJOR = 11;
// Bump when the steps below change what ends up in the image, so existing stacks are rebuilt.
const RECIPE_REVISION = 2;

/** What a stack image is made from; its hash labels the image, so a changed recipe rebuilds it. */
export interface StackRecipe {
  revision: number;
  suite: 'bookworm';
  packages: string[];
  /** The Node.js major the platform runs on (process.version's): the newest release of it goes in. */
  nodeMajor: number;
  npmMajor: number;
  hash: string;
}

/** The recipe for this platform (no I/O: the exact versions are resolved only when building). */
export function stackRecipe(nodeMajor = Number(process.versions.node.split('.')[0])): StackRecipe {
  const parts = { revision: RECIPE_REVISION, suite: 'bookworm' as const, packages: [...STACK_PACKAGES].sort(), nodeMajor, npmMajor: NPM_MAJOR };
  const hash = crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
  return { ...parts, hash };
}

/** A stack image on the engine. */
export interface StackImage {
  image: string;
  id: string;
  /** Its Node.js and npm versions (from its labels; empty for an image paas did not build). */
  node: string;
  npm: string;
  /** Whether this call built it. */
  built: boolean;
}

export interface StackOptions {
  /** The image name, config.docker.stackImage (`paas/stack:bookworm`). */
  image: string;
  /** A CA bundle the host's npm must trust as well (config.docker.buildCaFile). */
  caFile?: string;
  /** Progress lines, Heroku style (`-----> ` headings, indented details). */
  log: (line: string) => void;
  /** Rebuild even when an image of the same recipe exists. */
  force?: boolean;
  /** The Debian mirror; PAAS_DEBIAN_MIRROR, else deb.debian.org. */
  mirror?: string;
}

const building = new Map<string, Promise<StackImage>>();

/**
 * Makes sure the stack image exists: does nothing when an image of that name is there with the
 * current recipe (or was not made by paas at all, so it is the operator's to manage), and builds
 * it otherwise, with progress through `log`. Concurrent calls share one build.
 */
export async function ensureStack(docker: Docker, opts: Omit<StackOptions, 'force'>): Promise<StackImage> {
  await checkEngine(docker);
  const found = await findStack(docker, opts.image);
  if (found && (!found.ours || found.recipe === stackRecipe().hash)) return found.stack;
  if (found) opts.log(`-----> The stack image ${opts.image} was built from another recipe (Node.js ${found.stack.node || 'unknown'}); rebuilding it`);
  return buildStack(docker, { ...opts, force: true });
}

/**
 * Builds the stack image `opts.image` (unless it is there with the current recipe and `force` is
 * not set). Fails with a BuildError saying what to do: start Docker, install debootstrap, run as
 * root, reach the Debian mirror or the npm registry.
 */
export function buildStack(docker: Docker, opts: StackOptions): Promise<StackImage> {
  let pending = building.get(opts.image);
  if (!pending) {
    pending = build(docker, opts).finally(() => building.delete(opts.image));
    building.set(opts.image, pending);
  }
  return pending;
}

async function build(docker: Docker, opts: StackOptions): Promise<StackImage> {
  const started = Date.now();
  await checkEngine(docker);
  const found = await findStack(docker, opts.image);
  const recipe = stackRecipe();
  if (found && !found.ours) throw new BuildError(`The image ${opts.image} exists and was not built by paas, so paas does not replace it. Remove it, or set PAAS_STACK_IMAGE to another name.`);
  if (found && found.recipe === recipe.hash && !opts.force) return found.stack;
  const mirror = opts.mirror ?? process.env.PAAS_DEBIAN_MIRROR;
  if (mirror) checkMirror(mirror);
  const { log } = opts;
  log(`-----> Building the stack image ${opts.image} (once; a few minutes)`);
  const env = npmEnv(opts.caFile);
  const versions = await resolveNodeVersions(recipe.nodeMajor, recipe.npmMajor, env);
  log(`       Debian 12 (bookworm), Node.js ${versions.node} and npm ${versions.npm} (from the npm registry)`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'paas-stack-'));
  let imported: string | undefined;
  let node: Promise<void> | undefined;
  try {
    const context = path.join(work, 'context');
    fs.mkdirSync(context);
    // The registry fetch runs while the Debian layer is made; both mostly wait on the network.
    node = layOutNode(versions, path.join(work, 'packs'), path.join(context, 'rootfs'), env);
    node.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    let base: StackBase;
    if (await pullRegistryBase(docker, log)) {
      base = { kind: 'registry', ref: REGISTRY_BASE, packages: STACK_PACKAGES, mirror: mirror ? checkMirror(mirror) : undefined };
    } else {
      imported = `paas/stack-base:${path.basename(work).slice('paas-stack-'.length).toLowerCase()}-${Date.now()}`;
      await debianLayer(docker, path.join(work, 'rootfs'), imported, mirror ? checkMirror(mirror) : DEFAULT_DEBIAN_MIRROR, log);
      base = { kind: 'imported', ref: imported };
    }
    await node;
    log(`       Adding Node.js ${versions.node} and npm ${versions.npm}`);
    const id = await buildFromBase(docker, base, context, opts.image, labelsFor(recipe, versions), log);
    const { Size } = await docker.getImage(id).inspect();
    if (found && found.stack.id !== id) await removeOld(docker, found.stack.id, log);
    log(`-----> Stack image ${opts.image} ready: ${id.replace('sha256:', '').slice(0, 12)}, ${Math.round(Size / 1e6)} MB, built in ${Math.round((Date.now() - started) / 1000)} s`);
    return { image: opts.image, id, node: versions.node, npm: versions.npm, built: true };
  } finally {
    // Untags the Debian layer (the stack keeps it as its parent), or removes it after a failure.
    if (imported) await docker.getImage(imported).remove().catch(() => undefined);
    await node?.catch(() => undefined);
    await removeTree(work);
  }
}

/** debootstrap into `rootfs`, slimmed, imported as `ref` (labelled, so paas may remove it). */
async function debianLayer(docker: Docker, rootfs: string, ref: string, mirror: string, log: (line: string) => void): Promise<void> {
  const bin = findDebootstrap();
  fs.mkdirSync(rootfs);
  await debootstrap(bin, rootfs, STACK_PACKAGES, mirror, log);
  slimRootfs(rootfs);
  log('       Importing the Debian layer into Docker');
  await importRootfs(docker, rootfs, ref, { [LABELS.managed]: 'true', [LABELS.kind]: 'stack-base' });
  await removeTree(rootfs);
}

function labelsFor(recipe: StackRecipe, versions: NodeVersions): Record<string, string> {
  return {
    [LABELS.managed]: 'true',
    [LABELS.kind]: 'stack',
    [LABELS.recipe]: recipe.hash,
    [LABELS.node]: versions.node,
    [LABELS.npm]: versions.npm,
  };
}

/** The previous stack, once replaced; it stays while images built on it (apps' slugs) remain. */
async function removeOld(docker: Docker, id: string, log: (line: string) => void): Promise<void> {
  try {
    await docker.getImage(id).remove();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 409) log(`       The previous stack image ${id.slice(7, 19)} stays while app images built on it remain`);
  }
}

async function findStack(docker: Docker, image: string): Promise<{ stack: StackImage; ours: boolean; recipe: string | undefined } | undefined> {
  try {
    const info = await docker.getImage(image).inspect();
    const labels = info.Config?.Labels ?? {};
    const stack = { image, id: info.Id, node: labels[LABELS.node] ?? '', npm: labels[LABELS.npm] ?? '', built: false };
    return { stack, ours: labels[LABELS.managed] === 'true', recipe: labels[LABELS.recipe] };
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

async function checkEngine(docker: Docker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000)));
    await Promise.race([docker.ping(), timeout]);
  } catch (err) {
    const where = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
    throw new BuildError(`Docker is not running (no engine answers at ${where}: ${(err as Error).message}): start dockerd (for example \`systemctl start docker\`), then try again.`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Removes a work dir. A killed debootstrap can leave /proc or /sys mounted inside its rootfs;
 * those are unmounted first, and a dir that still holds a mount is left alone (never recursed into).
 */
async function removeTree(dir: string): Promise<void> {
  const under = () => mountsUnder(dir);
  for (const mount of under().sort((a, b) => b.length - a.length)) {
    await promisify(execFile)('umount', ['-l', mount]).catch(() => undefined);
  }
  if (under().length) return;
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function mountsUnder(dir: string): string[] {
  let table: string;
  try {
    table = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return table
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((mount) => mount.startsWith(`${dir}/`));
}
