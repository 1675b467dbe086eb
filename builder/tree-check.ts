// The unpack-time check of a pushed tree: only files, directories and symbolic links that stay
// inside the tree, however they chain, and no `.paas` at the root (a name the platform reserves).
import fs from 'node:fs/promises';
import path from 'node:path';
import { BuildError } from './errors.js';
import { excerpt } from './safe-fs.js';

/** The root entry paas keeps for itself in every slug (the static server lives there). */
export const RESERVED = '.paas';

/** Linux gives up after 40 links in one lookup; a chain longer than that leads nowhere anyway. */
const MAX_HOPS = 40;
const MAX_LISTED = 5;
const OUTSIDE = 'leads outside the repository';

const TAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory']);

/** What the tar filter saw: links to place after extraction, and entries refused outright. */
export interface TarScreen {
  filter: (entryPath: string, entry: object) => boolean;
  links: { path: string; target: string }[];
  refused: string[];
}

/**
 * A tar `filter` that lets only files and directories reach the disk. Symbolic links are recorded
 * for placeLinks, which makes them once every file is out, so tar never extracts through one
 * (its own checks depend on the order of entries). Hard links, devices and fifos are refused;
 * `git archive` makes none of them.
 */
export function screenTar(): TarScreen {
  const screen: TarScreen = {
    links: [],
    refused: [],
    filter(entryPath, entry) {
      // On extraction the entry is always a tar ReadEntry: `type` and `linkpath` come from its header.
      const type = 'type' in entry && typeof entry.type === 'string' ? entry.type : 'unknown';
      if (TAR_TYPES.has(type)) return true;
      const target = 'linkpath' in entry && typeof entry.linkpath === 'string' ? entry.linkpath : '';
      if (type === 'SymbolicLink') screen.links.push({ path: entryPath, target });
      else screen.refused.push(`\`${excerpt(entryPath, 80)}\` (a ${type} entry)`);
      return false;
    },
  };
  return screen;
}

/**
 * Makes the links tar skipped, each under real directories only (made if missing); a link whose
 * path is unsafe, lies under another link or repeats an entry is refused instead.
 */
async function placeLinks(root: string, links: TarScreen['links'], problems: string[]): Promise<void> {
  for (const link of [...links].sort((a, b) => a.path.localeCompare(b.path))) {
    const parts = link.path.split('/').filter((p) => p !== '' && p !== '.');
    const name = `\`${excerpt(link.path, 80)}\``;
    if (path.isAbsolute(link.path) || parts.length === 0 || parts.includes('..')) {
      problems.push(`${name} (a link with an unsafe path)`);
      continue;
    }
    try {
      for (let i = 1; i < parts.length; i++) {
        const dir = path.join(root, ...parts.slice(0, i));
        const kind = await fs.lstat(dir).then((st) => (st.isDirectory() ? 'dir' : 'other'), () => undefined);
        if (kind === undefined) await fs.mkdir(dir);
        else if (kind !== 'dir') throw new Error('under a link or file');
      }
      await fs.symlink(link.target, path.join(root, ...parts));
    } catch {
      problems.push(`${name} (a link that could not be placed: it repeats an entry or lies under another link)`);
    }
  }
}

/**
 * Why the link at `link` (relative to `root`), followed component by component as the kernel
 * would, including through other links, is refused: it leaves the tree or loops. Undefined when
 * it stays inside. Missing components resolve lexically, which only ever errs towards refusing.
 */
async function linkProblem(root: string, link: string): Promise<string | undefined> {
  const stack = path.dirname(link).split('/').filter((p) => p && p !== '.');
  let rest = [link.split('/').pop()!];
  for (let hops = 0; rest.length > 0; ) {
    const part = rest.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return OUTSIDE;
      stack.pop();
      continue;
    }
    const here = path.join(root, ...stack, part);
    const st = await fs.lstat(here).catch(() => undefined);
    if (!st?.isSymbolicLink()) {
      stack.push(part);
      continue;
    }
    if (++hops > MAX_HOPS) return 'loops, or chains through more than 40 links';
    const target = await fs.readlink(here);
    if (path.isAbsolute(target)) return OUTSIDE;
    rest = [...target.split('/'), ...rest];
  }
  return undefined;
}

/** Every path (relative to `root`) of the tree, without following links, with its lstat. */
async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; st: import('node:fs').Stats }> {
  for (const name of (await fs.readdir(path.join(root, rel))).sort()) {
    const child = rel ? `${rel}/${name}` : name;
    const st = await fs.lstat(path.join(root, child));
    yield { rel: child, st };
    if (st.isDirectory()) yield* walk(root, child);
  }
}

/**
 * Places the links tar skipped, then refuses (BuildError naming the entries) a tree with a root
 * `.paas`, entries the filter refused, anything on disk other than files, directories and links,
 * or a link leading outside.
 */
export async function checkTree(root: string, screen: TarScreen): Promise<void> {
  const problems = [...screen.refused];
  await placeLinks(root, screen.links, problems);
  for await (const { rel, st } of walk(root)) {
    if (rel === RESERVED) {
      problems.push(`\`${RESERVED}\` (a name paas reserves for itself at the root of every app; rename it)`);
    } else if (st.isSymbolicLink()) {
      const why = await linkProblem(root, rel);
      if (why) problems.push(`\`${excerpt(rel, 80)}\` -> \`${excerpt(await fs.readlink(path.join(root, rel)), 80)}\` (${why})`);
    } else if (!st.isFile() && !st.isDirectory()) {
      problems.push(`\`${excerpt(rel, 80)}\` (not a file, directory or symbolic link)`);
    }
  }
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED).map((p) => `\n  - ${p}`).join('');
  const more = problems.length > MAX_LISTED ? `\n  - and ${problems.length - MAX_LISTED} more` : '';
  throw new BuildError(
    `The pushed tree has entries paas refuses:${listed}${more}\n` +
      'Symbolic links must point inside the repository (relative, and not through `..` out of it, even via other links). ' +
      'Fix or remove them and push again.',
  );
}
