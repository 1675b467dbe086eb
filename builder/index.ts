import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { nodeBuildpack } from './buildpacks/node.js';
import { pythonBuildpack } from './buildpacks/python.js';
import { procfileBuildpack, staticBuildpack } from './buildpacks/static.js';
import { BuildError } from './errors.js';
import { parseProcfile } from './procfile.js';
import { SLUG_META, type Buildpack, type BuildRequest, type Slug } from './types.js';

export { BuildError } from './errors.js';
export type { BuildRequest, Slug } from './types.js';

/** Detection order: the first buildpack whose files are present wins. */
const BUILDPACKS: Buildpack[] = [nodeBuildpack, pythonBuildpack, staticBuildpack, procfileBuildpack];

async function readProcfile(dir: string): Promise<Record<string, string> | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, 'Procfile'), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseProcfile(text);
  if ('error' in parsed) throw new BuildError(`${parsed.error}. Fix the Procfile and push again.`);
  return parsed.types;
}

/**
 * Turns a source tree (tar stream) into an immutable slug directory: detects the buildpack,
 * installs dependencies and works out the process types. On failure nothing is left behind.
 */
export async function build(req: BuildRequest): Promise<Slug> {
  const dir = path.join(req.slugsDir, req.buildId);
  await fs.mkdir(dir, { recursive: true });
  try {
    const tar = await import('tar'); // loaded on first build, not at server start
    await pipeline(req.source, tar.x({ cwd: dir, strict: true }));
    const files = new Set(await fs.readdir(dir));
    const pack = BUILDPACKS.find((bp) => bp.detect(files));
    if (!pack) {
      throw new BuildError(
        'No buildpack matched this app. Add a package.json (Node.js), requirements.txt (Python), ' +
          'index.html (static site) or a Procfile at the root of the repository.',
      );
    }
    req.log(`-----> ${pack.name} app detected`);
    const compiled = await pack.compile(dir, req);
    const processTypes = { ...compiled.processTypes, ...(await readProcfile(dir)) };
    const slug: Slug = { dir, buildpack: pack.name, processTypes, pathPrepend: compiled.pathPrepend };
    req.log(`-----> Discovering process types`);
    const names = Object.keys(processTypes);
    req.log(`       Procfile declares types -> ${names.length ? names.join(', ') : '(none)'}`);
    await fs.mkdir(path.join(dir, '.paas'), { recursive: true });
    await fs.writeFile(path.join(dir, SLUG_META), JSON.stringify(slug, null, 2));
    return slug;
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    if (err instanceof BuildError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code && /^TAR_/.test(e.code)) throw new BuildError(`The pushed tree could not be unpacked (${e.message}).`);
    throw err;
  }
}

/** Reads the metadata of a slug made by build(). */
export async function readSlug(dir: string): Promise<Slug> {
  return JSON.parse(await fs.readFile(path.join(dir, SLUG_META), 'utf8')) as Slug;
}
