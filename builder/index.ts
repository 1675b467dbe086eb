import fs from 'node:fs/promises';
import path from 'node:path';
import { handOver, readTreeFile } from './safe-fs.js';
import { buildFailed, detect, finishSlug, SLUG_META, slugHome, unpack } from './slug.js';
import { type BuildRequest, type Slug } from './types.js';

export { CHECK_DEFAULTS, type HealthCheck } from './app-json.js';
export { BuildError } from './errors.js';
export { handOver } from './safe-fs.js';
export { slugHome } from './slug.js';
export type { BuildRequest, BuildSteps, Slug } from './types.js';
export { installNode, type NodeInstall, nodeHomeSeen } from './node-versions.js';
export { ensureTools, type ToolRef } from './tools.js';

/** Where slugs made before the metadata moved out of the tree keep it. */
const OLD_SLUG_META = path.join('.paas', 'slug.json');

/**
 * Turns a source tree (tar stream) into an immutable slug: checks the tree, detects the
 * buildpack, installs dependencies and works out the process types. On failure nothing is left.
 */
export async function build(req: BuildRequest): Promise<Slug> {
  const home = slugHome(req.slugsDir, req.buildId);
  const dir = path.join(home, 'app');
  await fs.mkdir(dir, { recursive: true });
  try {
    await unpack(req.source, dir);
    if (req.steps.owner) {
      await handOver(dir, req.steps.owner);
      // Steps that see the host's paths run outside a sandbox: the owner must pass through the home
      // to reach its tree (enter, not list). In a sandbox root binds the tree and the home stays shut.
      if (req.steps.pathOf(dir) === dir) await fs.chmod(home, 0o711);
    }
    const pack = detect(new Set(await fs.readdir(dir)));
    req.log(`-----> ${pack.name} app detected`);
    req.onDetected?.(pack.name);
    const compiled = await pack.compile(dir, req);
    return await finishSlug(home, dir, { dir, buildpack: pack.name, ...compiled, env: compiled.env ?? {}, webFrom: pack.webFrom ?? [] }, req.log);
  } catch (err) {
    return await buildFailed(home, err);
  }
}

/**
 * Reads the metadata of a slug made by build(), given its home (slugHome). Slugs made before the
 * metadata moved out of the tree have it, and their tree, at `<home>/.paas/slug.json`.
 */
export async function readSlug(home: string): Promise<Slug> {
  const text = (await readTreeFile(home, SLUG_META)) ?? (await readOldSlugMeta(home));
  return JSON.parse(text.toString('utf8')) as Slug;
}

async function readOldSlugMeta(home: string): Promise<Buffer> {
  // Old trees were app-writable: read the metadata only through a real `.paas` directory.
  if (!(await fs.lstat(path.join(home, '.paas'))).isDirectory()) throw new Error(`${home}/.paas is not a directory`);
  const text = await readTreeFile(home, OLD_SLUG_META);
  if (text === undefined) throw new Error(`no slug metadata in ${home}`);
  return text;
}
