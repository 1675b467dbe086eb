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

const TAR_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink']);

/**
 * A tar `filter` that skips (and records) every entry that is not a file, directory or symbolic
 * link: hard links, devices and fifos never reach the disk. `git archive` makes none of them.
 */
export function tarEntryFilter(refused: string[]) {
  return (entryPath: string, entry: object): boolean => {
    // On extraction the entry is always a tar ReadEntry; `type` is its header's entry type.
    const type = 'type' in entry && typeof entry.type === 'string' ? entry.type : 'unknown';
    if (TAR_TYPES.has(type)) return true;
    refused.push(`\`${excerpt(entryPath, 80)}\` (a ${type} entry)`);
    return false;
  };
}

/**
 * Whether the link at `link` (relative to `root`), followed component by component as the kernel
 * would, including through other links, ever leaves the tree. Missing components resolve
 * lexically, which only ever errs towards refusing.
 */
async function escapes(root: string, link: string): Promise<boolean> {
  const stack = path.dirname(link).split('/').filter((p) => p && p !== '.');
  let rest = [link.split('/').pop()!];
  for (let hops = 0; rest.length > 0; ) {
    const part = rest.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return true;
      stack.pop();
      continue;
    }
    const here = path.join(root, ...stack, part);
    const st = await fs.lstat(here).catch(() => undefined);
    if (!st?.isSymbolicLink()) {
      stack.push(part);
      continue;
    }
    if (++hops > MAX_HOPS) return true;
    const target = await fs.readlink(here);
    if (path.isAbsolute(target)) return true;
    rest = [...target.split('/'), ...rest];
  }
  return false;
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
 * Refuses (BuildError naming the entries) a tree with a root `.paas`, entries the tar filter
 * skipped, anything on disk other than files, directories and links, or a link leading outside.
 */
export async function checkTree(root: string, tarRefused: string[]): Promise<void> {
  const problems = [...tarRefused];
  for await (const { rel, st } of walk(root)) {
    if (rel === RESERVED) {
      problems.push(`\`${RESERVED}\` (a name paas reserves for itself at the root of every app; rename it)`);
    } else if (st.isSymbolicLink()) {
      if (await escapes(root, rel)) {
        problems.push(`\`${excerpt(rel, 80)}\` -> \`${excerpt(await fs.readlink(path.join(root, rel)), 80)}\` (leads outside the repository)`);
      }
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
