// The parts of a build both slug kinds share: unpacking and checking the pushed tree, detection,
// and turning what a buildpack (or a Dockerfile) declares into the slug's metadata.
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readHealthChecks } from './app-json.js';
import { nodeBuildpack } from './buildpacks/node.js';
import { pythonBuildpack } from './buildpacks/python.js';
import { procfileBuildpack, staticBuildpack } from './buildpacks/static.js';
import { BuildError } from './errors.js';
import { parseProcfile } from './procfile.js';
import { readTreeFile } from './safe-fs.js';
import { checkTree, screenTar } from './tree-check.js';
import type { Buildpack, Slug } from './types.js';

/** Detection order: the first buildpack whose files are present wins. */
export const BUILDPACKS: Buildpack[] = [nodeBuildpack, pythonBuildpack, staticBuildpack, procfileBuildpack];

/** The slug's metadata, beside the app's tree rather than in it: app code never touches it. */
export const SLUG_META = 'slug.json';

/**
 * The directory of one build: `slug.json` and the app's tree in `app/`. It is what the store
 * records as the build's slug directory and what deleting an app removes.
 */
export function slugHome(slugsDir: string, buildId: string): string {
  return path.join(slugsDir, buildId);
}

/** Unpacks the pushed tar into `dir` and refuses what the tree check refuses. */
export async function unpack(source: NodeJS.ReadableStream, dir: string): Promise<void> {
  const tar = await import('tar'); // loaded on first build, not at server start
  const screen = screenTar();
  await pipeline(source, tar.x({ cwd: dir, strict: true, filter: screen.filter }));
  await checkTree(dir, screen);
}

/** The buildpack for a tree with these root entries, or a BuildError saying what paas looks for. */
export function detect(files: Set<string>): Buildpack {
  const pack = BUILDPACKS.find((bp) => bp.detect(files));
  if (pack) return pack;
  throw new BuildError(
    'No buildpack matched this app. Add a package.json (Node.js), requirements.txt (Python), ' +
      'index.html (static site) or a Procfile at the root of the repository.',
  );
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
function requireProcess(types: Record<string, string>, webFrom: string[]): void {
  if (Object.keys(types).some((t) => t !== 'release')) return;
  const ways = ['a `web: <command>` line to a Procfile', ...webFrom];
  const listed = ways.length > 1 ? `${ways.slice(0, -1).join(', ')}${ways.length > 2 ? ',' : ''} or ${ways.at(-1)}` : ways[0];
  const only = types.release ? ' (only a `release` command, which runs once per release and then stops)' : '';
  throw new BuildError(`This app declares no process to run${only}, so nothing would start. Declare a web process: add ${listed}. Then push again.`);
}

/** What a build made, before the Procfile and app.json are read. */
export interface Compiled extends Omit<Slug, 'processTypes' | 'healthchecks'> {
  /** Default process types; the Procfile overrides them. */
  processTypes: Record<string, string>;
  notes?: Record<string, string>;
  /** How else than a Procfile this kind of app declares a web process (for the error when none is). */
  webFrom: string[];
}

/**
 * Completes a slug from what the build made and the tree's Procfile and app.json (read from
 * `tree`), checks it declares something to run, and writes its metadata to `<home>/slug.json`.
 */
export async function finishSlug(home: string, tree: string, compiled: Compiled, log: (line: string) => void): Promise<Slug> {
  const { notes, webFrom, ...made } = compiled;
  const procfile = await readProcfile(tree);
  const processTypes = { ...made.processTypes, ...procfile };
  const healthchecks = await readHealthChecks(tree);
  const slug: Slug = { ...made, processTypes, env: made.env ?? {}, healthchecks };
  // The image's own command stays a process type's only while the Procfile does not name one.
  const imageCommand = made.imageCommand?.filter((type) => procfile?.[type] === undefined);
  if (imageCommand?.length) slug.imageCommand = imageCommand;
  else delete slug.imageCommand;
  log(`-----> Discovering process types`);
  // As Heroku says it: which types the Procfile declares, and which the buildpack's defaults add.
  const defaults = Object.keys(made.processTypes).filter((type) => procfile?.[type] === undefined);
  if (procfile) log(`       Procfile declares types     -> ${Object.keys(procfile).join(', ') || '(none)'}`);
  if (defaults.length || !procfile) log(`       Default types for buildpack -> ${defaults.join(', ') || '(none)'}`);
  for (const [type, note] of Object.entries(notes ?? {})) if (procfile?.[type] === undefined) log(`       ${note}`);
  requireProcess(processTypes, webFrom);
  for (const [type, command] of Object.entries(processTypes)) {
    // A NUL cannot be passed to a process at all, and other control characters hide what runs.
    if ([...command].some((c) => (c.charCodeAt(0) < 0x20 && c !== '\t') || c.charCodeAt(0) === 0x7f)) throw new BuildError(`The ${type} command holds a control character. Write it on one plain line and push again.`);
  }
  await fs.writeFile(path.join(home, SLUG_META), JSON.stringify(slug, null, 2), { flag: 'wx' });
  return slug;
}

/** Removes what a failed build left and rethrows its error, an unreadable tar as a BuildError. */
export async function buildFailed(home: string, err: unknown): Promise<never> {
  await fs.rm(home, { recursive: true, force: true });
  if (err instanceof BuildError) throw err;
  const e = err as NodeJS.ErrnoException;
  if (e.code && /^TAR_/.test(e.code)) throw new BuildError(`The pushed tree could not be unpacked (${e.message}).`);
  throw err;
}
