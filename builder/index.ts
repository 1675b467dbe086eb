import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readHealthChecks } from './app-json.js';
import { nodeBuildpack } from './buildpacks/node.js';
import { pythonBuildpack } from './buildpacks/python.js';
import { procfileBuildpack, staticBuildpack } from './buildpacks/static.js';
import { BuildError } from './errors.js';
import { parseProcfile } from './procfile.js';
import { handOver, readTreeFile } from './safe-fs.js';
import { checkTree, screenTar } from './tree-check.js';
import { type Buildpack, type BuildRequest, type Slug } from './types.js';

export { CHECK_DEFAULTS, type HealthCheck } from './app-json.js';
export { BuildError } from './errors.js';
export { eachLine } from './lines.js';
export { handOver } from './safe-fs.js';
export type { BuildRequest, BuildSteps, Slug } from './types.js';
export { installNode, type NodeInstall, nodeHomeSeen } from './node-versions.js';

/** Detection order: the first buildpack whose files are present wins. */
const BUILDPACKS: Buildpack[] = [nodeBuildpack, pythonBuildpack, staticBuildpack, procfileBuildpack];

/** The slug's metadata, beside the app's tree rather than in it: app code never touches it. */
const SLUG_META = 'slug.json';
/** Where slugs made before the metadata moved out of the tree keep it. */
const OLD_SLUG_META = path.join('.paas', 'slug.json');

/**
 * The directory of one build: `slug.json` and the app's tree in `app/`. It is what the store
 * records as the build's slug directory and what deleting an app removes.
 */
export function slugHome(slugsDir: string, buildId: string): string {
  return path.join(slugsDir, buildId);
}

async function readProcfile(dir: string): Promise<Record<string, string> | undefined> {
  const text = await readTreeFile(dir, 'Procfile');
  if (text === undefined) return undefined;
  const parsed = parseProcfile(text.toString('utf8'));
  if ('error' in parsed) throw new BuildError(`${parsed.error}. Fix the Procfile and push again.`);
  return parsed.types;
}

/**
 * Refuses a slug with nothing to run: it would "deploy" and answer nothing. `release` does not
 * count, since it runs once per release and keeps nothing running.
 */
function requireProcess(types: Record<string, string>, pack: Buildpack): void {
  if (Object.keys(types).some((t) => t !== 'release')) return;
  const ways = ['a `web: <command>` line to a Procfile', ...(pack.webFrom ?? [])];
  const listed = ways.length > 1 ? `${ways.slice(0, -1).join(', ')}${ways.length > 2 ? ',' : ''} or ${ways.at(-1)}` : ways[0];
  const only = types.release ? ' (only a `release` command, which runs once per release and then stops)' : '';
  throw new BuildError(`This app declares no process to run${only}, so nothing would start. Declare a web process: add ${listed}. Then push again.`);
}

async function unpack(source: NodeJS.ReadableStream, dir: string): Promise<void> {
  const tar = await import('tar'); // loaded on first build, not at server start
  const screen = screenTar();
  await pipeline(source, tar.x({ cwd: dir, strict: true, filter: screen.filter }));
  await checkTree(dir, screen);
}

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
    const procfile = await readProcfile(dir);
    const processTypes = { ...compiled.processTypes, ...procfile };
    const healthchecks = await readHealthChecks(dir);
    const slug: Slug = { dir, node: compiled.node, buildpack: pack.name, processTypes, pathPrepend: compiled.pathPrepend, env: compiled.env ?? {}, healthchecks };
    req.log(`-----> Discovering process types`);
    const names = Object.keys(processTypes);
    req.log(`       Procfile declares types -> ${names.length ? names.join(', ') : '(none)'}`);
    for (const [type, note] of Object.entries(compiled.notes ?? {})) if (procfile?.[type] === undefined) req.log(`       ${note}`);
    requireProcess(processTypes, pack);
    for (const [type, command] of Object.entries(processTypes)) {
      // A NUL cannot be passed to a process at all, and other control characters hide what runs.
      if ([...command].some((c) => (c.charCodeAt(0) < 0x20 && c !== '\t') || c.charCodeAt(0) === 0x7f)) throw new BuildError(`The ${type} command holds a control character. Write it on one plain line and push again.`);
    }
    await fs.writeFile(path.join(home, SLUG_META), JSON.stringify(slug, null, 2), { flag: 'wx' });
    return slug;
  } catch (err) {
    await fs.rm(home, { recursive: true, force: true });
    if (err instanceof BuildError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code && /^TAR_/.test(e.code)) throw new BuildError(`The pushed tree could not be unpacked (${e.message}).`);
    throw err;
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
